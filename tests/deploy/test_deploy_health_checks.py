"""Argo CD's Lua health check and kstatus judge the operator's statuses the same way.

The fixtures in ``fixtures/statuses`` are statuses captured from a real run of both operators
against the emulators (``PLO_CAPTURE_STATUSES=tests/deploy/fixtures/statuses pytest -k
lifecycle`` refreshes them); the Lua runs in Lua 5.1 (lupa), as gopher-lua runs it in Argo CD.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from privatelink_operator.testing import kstatus

ROOT = Path(__file__).resolve().parents[2]
ARGOCD = ROOT / "charts" / "privatelink-operator" / "argocd"
FIXTURES = sorted((Path(__file__).parent / "fixtures" / "statuses").glob("*.yaml"))
KINDS = ("PrivateLinkService", "PrivateLinkEndpoint")
KSTATUS_TO_ARGO = {"Current": "Healthy", "InProgress": "Progressing", "Failed": "Degraded"}


def _lua_table(lua: Any, value: Any) -> Any:
    if isinstance(value, Mapping):
        table = lua.table()
        for key, item in value.items():
            table[key] = _lua_table(lua, item)
        return table
    if isinstance(value, list):
        return lua.table(*[_lua_table(lua, item) for item in value])
    return value


def argo_health(obj: Mapping[str, Any], kind: str = "PrivateLinkService") -> tuple[str, str]:
    """Run the health check as Argo CD does: ``obj`` is a global, the script returns a table."""
    from lupa import lua51

    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    script = values_snippet()[f"resource.customizations.health.privatelink.operator.dev_{kind}"]
    lua.globals().obj = _lua_table(lua, obj)
    result = lua.execute(script)
    return str(result["status"]), str(result["message"])


def values_snippet() -> dict[str, str]:
    data = yaml.safe_load((ARGOCD / "argo-cd-values.yaml").read_text())
    cm: dict[str, str] = data["configs"]["cm"]
    return cm


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def test_the_argo_cd_values_snippet_carries_the_shipped_health_check_for_both_kinds() -> None:
    lua = (ARGOCD / "health.lua").read_text()
    cm = values_snippet()
    assert set(cm) == {
        f"resource.customizations.health.privatelink.operator.dev_{k}" for k in KINDS
    }
    assert all(script == lua for script in cm.values())
    docs = (ROOT / "docs" / "argocd.md").read_text()
    assert "resource.customizations.health.privatelink.operator.dev_PrivateLinkEndpoint" in docs


def test_fixtures_were_captured_from_a_real_run() -> None:
    kinds = {load(p)["kind"] for p in FIXTURES}
    assert kinds == set(KINDS)
    assert len(FIXTURES) >= 8


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_captured_statuses_follow_kstatus_and_argo_agrees(path: Path) -> None:
    obj = load(path)
    assert kstatus.check(obj) == []
    status, message = argo_health(obj, obj["kind"])
    assert status == KSTATUS_TO_ARGO[kstatus.compute(obj).status], message
    assert message


def _first(predicate: Any) -> dict[str, Any]:
    for path in FIXTURES:
        obj = load(path)
        conds = {c["type"]: c["status"] for c in obj["status"]["conditions"]}
        current = obj["status"].get("observedGeneration") == obj["metadata"]["generation"]
        if predicate(conds, current):
            return obj
    raise AssertionError("no captured status fits; refresh the fixtures")


def test_ready_is_healthy() -> None:
    obj = _first(lambda c, current: c["Ready"] == "True" and current)
    assert argo_health(obj, obj["kind"])[0] == "Healthy"


def test_reconciling_is_progressing() -> None:
    obj = _first(lambda c, current: c["Reconciling"] == "True" and current)
    status, message = argo_health(obj, obj["kind"])
    assert status == "Progressing"
    reason = next(c["reason"] for c in obj["status"]["conditions"] if c["type"] == "Reconciling")
    assert reason in message


def test_stalled_is_degraded_with_the_reason() -> None:
    obj = _first(lambda c, current: c["Stalled"] == "True" and current)
    status, message = argo_health(obj, obj["kind"])
    assert status == "Degraded"
    reason = next(c["reason"] for c in obj["status"]["conditions"] if c["type"] == "Stalled")
    assert reason in message


@pytest.mark.parametrize("kind", KINDS)
def test_a_ready_status_of_an_older_generation_is_progressing(kind: str) -> None:
    obj = copy.deepcopy(_first(lambda c, current: c["Ready"] == "True" and current))
    obj["metadata"]["generation"] += 1
    assert argo_health(obj, kind)[0] == "Progressing"
    assert kstatus.compute(obj).status == "InProgress"


def test_a_stalled_status_of_an_older_generation_is_progressing() -> None:
    obj = copy.deepcopy(_first(lambda c, current: c["Stalled"] == "True" and current))
    obj["metadata"]["generation"] += 1
    assert argo_health(obj)[0] == "Progressing"


def test_no_status_yet_is_progressing() -> None:
    obj = {"apiVersion": "privatelink.operator.dev/v1alpha1", "metadata": {"generation": 1}}
    assert argo_health(obj) == ("Progressing", "Waiting for the operator to report status")


def test_kstatus_checker_catches_broken_statuses() -> None:
    good = _first(lambda c, current: c["Ready"] == "True" and current)
    assert kstatus.check(good) == []
    broken = copy.deepcopy(good)
    for cond in broken["status"]["conditions"]:
        if cond["type"] == "Stalled":
            cond["status"] = "True"
        if cond["type"] == "Reconciling":
            cond["reason"] = "not camel case"
    broken["status"]["conditions"].append(dict(broken["status"]["conditions"][0]))
    del broken["status"]["conditions"][1]["lastTransitionTime"]
    problems = "\n".join(kstatus.check(broken))
    for expected in ("Ready=True while", "not CamelCase", "duplicate type", "lastTransitionTime"):
        assert expected in problems
    assert kstatus.compute(broken).status == "Failed"
    assert kstatus.check({"metadata": {"name": "x"}, "status": {}}) == [
        "x: status has no conditions"
    ]
