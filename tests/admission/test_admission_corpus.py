"""Admission of the custom resources, offline: schema and CEL rules as the API server runs them.

Valid objects (the examples and ``valid/``) are admitted; each invalid case in
``invalid_cases.yaml`` is rejected on the field it names, with a message a person understands.
The pydantic models reject the same objects, so the operator and the cluster never disagree.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from privatelink_operator import api, crdgen
from privatelink_operator.admission import AdmissionError, SchemaValidator

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
BASES = {
    "pls": ROOT / "examples" / "privatelinkservice.yaml",
    "ple": ROOT / "examples" / "privatelinkendpoint.yaml",
}
CASES: list[dict[str, Any]] = yaml.safe_load((HERE / "invalid_cases.yaml").read_text())
VALID = sorted((HERE / "valid").glob("*.yaml")) + sorted(BASES.values())


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: what `kubectl patch --type merge` sends."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@pytest.fixture(scope="module")
def validators() -> dict[str, SchemaValidator]:
    return {
        doc["spec"]["names"]["kind"]: SchemaValidator.from_crd(doc) for doc in crdgen.all_crds()
    }


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    return doc


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_object_is_admitted_and_parsed_by_the_models(
    path: Path, validators: dict[str, SchemaValidator]
) -> None:
    obj = load(path)
    admitted = validators[obj["kind"]].admit(obj)
    spec = api.kind_info(obj["kind"]).spec.model_validate(admitted["spec"])
    assert spec.model_dump(by_alias=True, exclude_none=True, mode="json") == admitted["spec"]


def test_the_corpus_has_at_least_thirty_distinct_reasons() -> None:
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names))
    assert len({(c["field"], c["message"]) for c in CASES}) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_invalid_object_is_rejected_on_its_field_with_a_clear_message(
    case: dict[str, Any], validators: dict[str, SchemaValidator]
) -> None:
    base = load(BASES[case["base"]])
    validator = validators[base["kind"]]
    old = None
    if "old" in case:
        old = validator.admit(merge_patch(base, case["old"]))
        obj = merge_patch(old, case["patch"])
    else:
        obj = merge_patch(base, case["patch"])
    with pytest.raises(AdmissionError) as caught:
        validator.admit(obj, old)
    errors = caught.value.errors
    matching = [e for e in errors if e.path == case["field"] and case["message"] in str(e)]
    assert matching, f"expected {case['field']}: …{case['message']}…, got {errors}"
    for error in errors:
        assert "should match '" not in str(error), f"message quotes a regex: {error}"
    message = caught.value.status_message(base["kind"], "orders", "privatelink.operator.dev")
    assert message.startswith(f'{base["kind"]}.privatelink.operator.dev "orders" is invalid: ')


@pytest.mark.parametrize(
    "case", [c for c in CASES if "old" not in c], ids=[c["name"] for c in CASES if "old" not in c]
)
def test_models_reject_what_admission_rejects(case: dict[str, Any]) -> None:
    base = load(BASES[case["base"]])
    obj = merge_patch(base, case["patch"])
    model = api.kind_info(base["kind"]).spec
    with pytest.raises(ValidationError):
        model.model_validate(obj.get("spec"))


def test_rejection_is_answered_as_the_api_servers_422_status(
    validators: dict[str, SchemaValidator],
) -> None:
    obj = merge_patch(load(BASES["pls"]), {"spec": {"listener": {"alpnPolicy": "Bogus"}}})
    with pytest.raises(AdmissionError) as caught:
        validators["PrivateLinkService"].admit(obj)
    status = caught.value.to_status("PrivateLinkService", "orders", "privatelink.operator.dev")
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert status["details"]["causes"] == [
        {
            "reason": "FieldValueNotSupported",
            "message": 'Unsupported value: "Bogus": supported values: "HTTP1Only", '
            '"HTTP2Only", "HTTP2Optional", "HTTP2Preferred", "None"',
            "field": "spec.listener.alpnPolicy",
        }
    ]


def test_unknown_fields_are_pruned_as_the_api_server_does(
    validators: dict[str, SchemaValidator],
) -> None:
    obj = merge_patch(load(BASES["pls"]), {"spec": {"listener": {"alpn": "h2"}, "extra": 1}})
    admitted = validators["PrivateLinkService"].admit(obj)
    assert "alpn" not in admitted["spec"]["listener"]
    assert "extra" not in admitted["spec"]
    assert admitted["metadata"] == obj["metadata"]


def test_removed_alpn_policy_comes_back_as_the_schema_default(
    validators: dict[str, SchemaValidator],
) -> None:
    obj = merge_patch(load(BASES["pls"]), {"spec": {"listener": {"alpnPolicy": None}}})
    admitted = validators["PrivateLinkService"].admit(obj)
    assert admitted["spec"]["listener"]["alpnPolicy"] == "HTTP2Preferred"


def test_alpn_policy_none_is_kept_as_the_word_none(
    validators: dict[str, SchemaValidator],
) -> None:
    obj = yaml.safe_load(BASES["pls"].read_text().replace("HTTP2Preferred", "None"))
    admitted = validators["PrivateLinkService"].admit(obj)
    assert admitted["spec"]["listener"]["alpnPolicy"] == "None"


def test_defaults_fill_nested_objects_that_were_left_out(
    validators: dict[str, SchemaValidator],
) -> None:
    admitted = validators["PrivateLinkEndpoint"].admit(load(BASES["ple"]))
    assert admitted["spec"]["probe"] == {
        "enabled": True,
        "port": 443,
        "path": "/healthz",
        "intervalSeconds": 30,
        "timeoutSeconds": 5,
        "expectedStatuses": [],
    }
    assert admitted["spec"]["privateDnsEnabled"] is True
    assert admitted["spec"]["ipAddressType"] == "ipv4"


def test_security_groups_may_stay_the_same_on_update(
    validators: dict[str, SchemaValidator],
) -> None:
    validator = validators["PrivateLinkService"]
    old = validator.admit(merge_patch(load(BASES["pls"]), {"spec": {"securityGroupIds": ["sg-1"]}}))
    new = merge_patch(old, {"spec": {"listener": {"alpnPolicy": "HTTP2Only"}}})
    assert validator.admit(new, old)["spec"]["securityGroupIds"] == ["sg-1"]
