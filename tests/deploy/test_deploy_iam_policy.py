"""deploy/iam-policy.json grants exactly the AWS actions the operator calls, and no other.

Two sources of truth for "what the operator calls": the code (every ``aws.call`` and plan
``Step`` names its service and operation as adjacent literals; dynamic names are expanded
below and must be listed when new), and a real run (both operators through a full lifecycle,
every call recorded by the AWS emulator). The same run's statuses are checked against kstatus
and the Argo CD health check.
"""

from __future__ import annotations

import ast
import itertools
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from privatelink_operator.testing import kstatus
from privatelink_operator.testing.aws import AwsEmulator
from privatelink_operator.testing.background import BackgroundServer
from privatelink_operator.testing.kube.server import KubeEmulator
from privatelink_operator.testing.operator import OperatorProcess
from privatelink_operator.testing.tlsserver import LocalCA
from privatelink_operator.testing.world import World

from .aws_actions import PACKAGE, SERVICES, code_actions, iam_action
from .lifecycle import HOST, Lifecycle

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "deploy" / "iam-policy.json"
# Operations whose name the code builds at run time: (file, source of the expression) -> names.
DYNAMIC = {
    ("provider/diff.py", 'f"{action}_targets"'): ("register_targets", "deregister_targets"),
}
OWNERSHIP_TAG = "privatelink.operator.dev/cluster"


def policy_actions(policy: dict[str, Any]) -> set[str]:
    actions: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow", statement
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def _callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def dynamic_operations() -> dict[tuple[str, str], list[str]]:
    """Calls whose service is a literal and whose operation is computed, by file and source."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ("testing", "sandbox"):
            continue
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Call) or _callee(node) not in ("call", "Step"):
                continue
            for first, second in itertools.pairwise(node.args):
                if (
                    isinstance(first, ast.Constant)
                    and first.value in SERVICES
                    and not isinstance(second, ast.Constant)
                ):
                    text = ast.get_source_segment(source, second) or ast.dump(second)
                    key = (str(relative), text)
                    found.setdefault(key, []).append(str(first.value))
    return found


def expected_actions() -> set[str]:
    actions = set(code_actions())
    for (file, text), services in dynamic_operations().items():
        assert (file, text) in DYNAMIC, (
            f"{file}: an AWS operation named at run time ({text}); list what it expands to in "
            "DYNAMIC and in deploy/iam-policy.json"
        )
        for service in services:
            actions.update(iam_action(service, op) for op in DYNAMIC[(file, text)])
    return actions


@pytest.fixture(scope="module")
def policy() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(POLICY.read_text())
    return loaded


def test_policy_grants_exactly_what_the_code_can_call(policy: dict[str, Any]) -> None:
    granted = policy_actions(policy)
    wanted = expected_actions()
    assert not wanted - granted, f"called but not granted: {sorted(wanted - granted)}"
    assert not granted - wanted, f"granted but never called: {sorted(granted - wanted)}"


def test_policy_fits_a_managed_policy_and_has_no_wildcard_actions(policy: dict[str, Any]) -> None:
    assert len(json.dumps(policy, separators=(",", ":"))) <= 6144  # managed policy size limit
    assert all("*" not in action for action in policy_actions(policy))
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids))


def test_every_mutating_action_is_conditioned_where_aws_allows_it(policy: dict[str, Any]) -> None:
    """Writes run only on resources carrying our cluster tag (or creating them with it).

    The exceptions are the user's own network (subnets, VPCs, security groups named in the
    spec), security group rules (untaggable on their own), Route 53 records (not taggable:
    restricted to the TXT/CNAME names that start with '_') and sts:GetCallerIdentity.
    """
    unconditioned_ok = {
        "Ec2CreateInUsersNetwork",
        "Ec2SecurityGroupRules",
        "ReadEverythingItCompares",
    }
    for statement in policy["Statement"]:
        if statement["Sid"] in unconditioned_ok:
            continue
        condition = json.dumps(statement.get("Condition", {}))
        assert condition != "{}", f"{statement['Sid']} has no condition"
        if not statement["Sid"].startswith("Route53"):
            assert OWNERSHIP_TAG in condition, statement["Sid"]
    for statement in policy["Statement"]:
        if statement["Sid"] == "ReadEverythingItCompares":
            for action in statement["Action"]:
                name = action.split(":", 1)[1]
                assert name.startswith(("Describe", "List", "Get")), action


@pytest.fixture
def clusters(cluster_factory: Callable[..., KubeEmulator]) -> tuple[KubeEmulator, KubeEmulator]:
    return (
        cluster_factory("provider", namespaces=("payments",)),
        cluster_factory("consumer", namespaces=("checkout",)),
    )


@pytest.fixture
def h2_server() -> Iterator[tuple[BackgroundServer, LocalCA]]:
    ca = LocalCA()
    server = BackgroundServer(cert=ca.issue(HOST), alpn=["h2", "http/1.1"], status=403).start()
    try:
        yield server, ca
    finally:
        server.stop()


@pytest.mark.slow
def test_lifecycle_calls_only_granted_actions_and_statuses_follow_kstatus(
    aws_emulator: AwsEmulator,
    world: World,
    clusters: tuple[KubeEmulator, KubeEmulator],
    operator_factory: Callable[..., OperatorProcess],
    h2_server: tuple[BackgroundServer, LocalCA],
    policy: dict[str, Any],
) -> None:
    mark = aws_emulator.calls.mark()
    run = Lifecycle(aws_emulator, world, *clusters, operator_factory)
    run.run(*h2_server)

    recorded = {iam_action(c.service, c.action) for c in aws_emulator.calls.all(since=mark)}
    granted = policy_actions(policy)
    assert not recorded - granted, f"the operators called ungranted: {sorted(recorded - granted)}"
    unknown = recorded - expected_actions()
    assert not unknown, f"called but invisible to the static scan: {sorted(unknown)}"
    exercised = sorted(recorded & granted)
    assert len(exercised) >= 40, exercised  # the lifecycle really covers the chain

    assert len(run.seen.statuses) >= 6
    problems = []
    for kind, obj in run.seen.statuses:
        problems += [f"{kind} {p}" for p in kstatus.check(obj)]
    assert not problems, "\n".join(problems)
    verdicts = {kstatus.compute(obj).status for _, obj in run.seen.statuses}
    assert {"InProgress", "Current"} <= verdicts

    capture = os.environ.get("PLO_CAPTURE_STATUSES")
    if capture:  # refresh tests/deploy/fixtures/statuses from this run
        out = Path(capture)
        out.mkdir(parents=True, exist_ok=True)
        for i, (kind, obj) in enumerate(run.seen.statuses):
            keep = {"apiVersion": obj["apiVersion"], "kind": kind, "status": obj["status"]}
            keep["metadata"] = {"generation": obj["metadata"].get("generation")}
            (out / f"{kind}-{i:02d}.yaml").write_text(yaml.safe_dump(keep, sort_keys=False))
