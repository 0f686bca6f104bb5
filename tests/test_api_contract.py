"""The models hold every field API.md names, and round-trip its examples."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from privatelink_operator import api

ROOT = Path(__file__).parent.parent
CONTRACTS = [ROOT / "docs" / "api-contract.md"]
SHARED = ROOT.parent / "shared" / "design" / "API.md"
if SHARED.exists():
    CONTRACTS.append(SHARED)


def examples(path: Path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", path.read_text(), re.S)


def test_the_contract_copy_in_docs_matches_the_design() -> None:
    if SHARED.exists():
        assert (ROOT / "docs" / "api-contract.md").read_text() == SHARED.read_text()
    assert len(examples(CONTRACTS[0])) == 2


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda p: p.parent.name)
def test_spec_examples_round_trip_through_the_models(contract: Path) -> None:
    for block in examples(contract):
        doc = yaml.safe_load(block.split("\nstatus:")[0])
        model = api.kind_info(doc["kind"]).spec
        spec = model.model_validate(doc["spec"])
        assert model.model_validate(spec.model_dump(by_alias=True, exclude_none=True)) == spec
        dumped = spec.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True)
        for key in dumped:
            assert key in doc["spec"]
        for key, value in doc["spec"].items():
            assert spec.model_dump(by_alias=True)[key] == value or (
                isinstance(value, dict) and _contains(spec.model_dump(by_alias=True)[key], value)
            ), key


def _contains(full: dict[str, Any], part: dict[str, Any]) -> bool:
    return all(
        _contains(full[k], v) if isinstance(v, dict) else full.get(k) == v for k, v in part.items()
    )


def _status_keys(block: str) -> set[str]:
    status = block.split("\nstatus:", 1)[1]
    return set(re.findall(r"([A-Za-z][A-Za-z0-9]*): ", status))


def _model_keys(model: type[Any]) -> set[str]:
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        keys.add(field.alias or name)
        for arg in _types(field.annotation):
            if isinstance(arg, type) and hasattr(arg, "model_fields"):
                keys |= _model_keys(arg)
    return keys


def _types(annotation: Any) -> list[Any]:
    args = getattr(annotation, "__args__", None)
    if not args:
        return [annotation]
    return [t for a in args for t in _types(a)]


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda p: p.parent.name)
def test_every_status_field_the_contract_names_exists(contract: Path) -> None:
    for block in examples(contract):
        kind = re.search(r"kind: (\w+)", block)
        assert kind
        status_model = api.kind_info(kind.group(1)).status
        missing = _status_keys(block) - _model_keys(status_model)
        assert not missing, f"{kind.group(1)} status lacks {missing}"
        conditions = re.search(r"conditions: \[(.*)\]", block.split("\nstatus:", 1)[1])
        assert conditions


def test_status_models_parse_what_the_operator_writes() -> None:
    status = api.PrivateLinkEndpointStatus.model_validate(
        {
            "observedGeneration": 2,
            "endpointId": "vpce-0abc",
            "state": "available",
            "h2": {"ready": True, "alpn": "h2", "httpVersion": "HTTP/2", "statusCode": 403},
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "H2Negotiated",
                    "message": "",
                    "lastTransitionTime": "2026-11-28T00:00:00Z",
                    "observedGeneration": 2,
                }
            ],
            "somethingNewer": 1,
        }
    )
    assert status.h2 is not None and status.h2.status_code == 403
    assert status.conditions[0].observed_generation == 2
