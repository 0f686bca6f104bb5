"""``python -m privatelink_operator plan -f pls.yaml``: the plan against AWS, changing nothing."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from provider_helpers import API_VERSION, KIND, NAME, NAMESPACE, Cluster, Pass, merge, spec_dict

from privatelink_operator.planning import cli_plan
from privatelink_operator.testing.aws import AwsEmulator
from privatelink_operator.testing.world import World


def write_object(
    tmp_path: Path, spec: dict[str, Any], uid: str | None = None, name: str = NAME
) -> Path:
    meta: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
    if uid:
        meta["uid"] = uid
    path = tmp_path / "pls.yaml"
    path.write_text(
        yaml.safe_dump({"apiVersion": API_VERSION, "kind": KIND, "metadata": meta, "spec": spec})
    )
    return path


@pytest.fixture
def plan_env(
    provider_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    """The provider account's AWS environment, and a KUBECONFIG that names no cluster."""
    env = {**provider_env, "KUBECONFIG": str(tmp_path / "no-kubeconfig")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def run_plan(*argv: str) -> tuple[int, str, str]:
    """``cli_plan`` in-process, with the subparser's arguments."""
    from privatelink_operator.__main__ import build_parser

    args = build_parser().parse_args(["plan", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = cli_plan(args, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_plan_of_a_new_object_prints_the_whole_chain_and_makes_no_aws_writes(
    world: World, aws_emulator: AwsEmulator, plan_env: dict[str, str], tmp_path: Path
) -> None:
    path = write_object(tmp_path, spec_dict(world))
    mark = aws_emulator.calls.mark()

    done = subprocess.run(
        [sys.executable, "-m", "privatelink_operator", "plan", "-f", str(path)],
        env={**os.environ, **plan_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert f"{KIND} {NAMESPACE}/{NAME} (new object, cluster default)" in text
    assert "new object: not found in the cluster" in text
    for line in (
        "create     certificate       request ACM certificate for orders.vpce.example.com",
        "create     load-balancer     internal NLB",
        "create     target-group      TLS target group",
        "register   targets           10.0.1.10:8443, 10.0.2.20:8443",
    ):
        assert line in text
    assert aws_emulator.calls.all(since=mark), "the plan read AWS"
    assert aws_emulator.calls.writes(since=mark) == []


def test_plan_applies_the_schema_defaults_before_planning(
    world: World,
    aws_emulator: AwsEmulator,
    plan_env: dict[str, str],
    tmp_path: Path,
    imported_certificate: str,
) -> None:
    spec = spec_dict(world, imported_certificate)
    assert "alpnPolicy" not in spec["listener"]
    mark = aws_emulator.calls.mark()

    code, out, _ = run_plan("-f", str(write_object(tmp_path, spec)), "-o", "json")

    assert code == 0
    plan = json.loads(out)
    assert plan["object"] == {
        "kind": KIND,
        "namespace": NAMESPACE,
        "name": NAME,
        "uid": None,
        "new": True,
    }
    listener = next(s for s in plan["steps"] if s["call"] == "elbv2:create_listener")
    assert listener["params"]["AlpnPolicy"] == ["HTTP2Preferred"]
    assert listener["params"]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert listener["params"]["Port"] == 443
    # What later passes do once the NLB is active is announced as a wait.
    assert "EndpointServiceAvailable" in [w["condition"] for w in plan["waits"]]
    assert aws_emulator.calls.writes(since=mark) == []


def test_plan_of_an_existing_object_shows_only_the_pending_change(
    world: World,
    aws_emulator: AwsEmulator,
    plan_env: dict[str, str],
    tmp_path: Path,
    passes: Pass,
    imported_certificate: str,
) -> None:
    spec = spec_dict(world, imported_certificate)
    passes.converge(spec)
    uid = passes.owner.uid
    mark = aws_emulator.calls.mark()

    same = run_plan("-f", str(write_object(tmp_path, spec, uid=uid)))
    changed = run_plan(
        "-f",
        str(write_object(tmp_path, merge(spec, {"listener": {"alpnPolicy": "HTTP2Only"}}))),
        "--uid",
        uid,
        "-o",
        "json",
    )

    assert same[0] == 0
    assert same[1].splitlines()[-1] == "no changes"
    assert f"(uid {uid}, cluster default)" in same[1]
    assert changed[0] == 0
    steps = json.loads(changed[1])["steps"]
    assert [(s["call"], s["params"].get("AlpnPolicy")) for s in steps] == [
        ("elbv2:modify_listener", ["HTTP2Only"])
    ]
    assert aws_emulator.calls.writes(since=mark) == []


def test_plan_reads_uid_and_status_from_the_live_object(
    world: World,
    aws_emulator: AwsEmulator,
    plan_env: dict[str, str],
    tmp_path: Path,
    cluster: Cluster,
    passes: Pass,
    imported_certificate: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = spec_dict(world, imported_certificate)
    live = cluster.apply(spec)
    uid = live["metadata"]["uid"]
    passes.owner = passes.owner.__class__("default", KIND, NAMESPACE, NAME, uid)
    passes.converge(spec)
    monkeypatch.setenv("KUBECONFIG", cluster.kube.kubeconfig_path)
    mark = aws_emulator.calls.mark()

    code, out, err = run_plan("-f", str(write_object(tmp_path, spec)))

    assert code == 0, err
    assert f"(uid {uid}, cluster default)" in out
    assert "compared with the live object" in out
    assert out.splitlines()[-1] == "no changes"
    assert aws_emulator.calls.writes(since=mark) == []


def test_plan_for_another_cluster_name_plans_its_own_resources_and_leaves_ours_alone(
    world: World,
    plan_env: dict[str, str],
    tmp_path: Path,
    passes: Pass,
    imported_certificate: str,
) -> None:
    spec = spec_dict(world, imported_certificate)
    passes.converge(spec)
    ours = [passes.status[k] for k in ("loadBalancerArn", "targetGroupArn", "serviceId")]

    code, out, _ = run_plan(
        "-f",
        str(write_object(tmp_path, spec, uid=passes.owner.uid)),
        "--cluster-name",
        "blue",
        "-o",
        "json",
    )

    assert code == 0
    plan = json.loads(out)
    assert plan["clusterName"] == "blue"
    assert {s["action"] for s in plan["steps"]} <= {"create", "register"}
    assert not [arn for arn in ours if arn in out]


def test_plan_of_a_spec_that_cannot_progress_exits_1_with_the_reason(
    world: World, plan_env: dict[str, str], tmp_path: Path
) -> None:
    missing = "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"
    spec = spec_dict(world, missing)

    code, out, _ = run_plan("-f", str(write_object(tmp_path, spec)))

    assert code == 1
    assert "STALLED    CertificateNotFound" in out
    assert missing in out


INVALID = [
    (
        "unknown-field",
        {"listener": {"alpnPolcy": "HTTP2Only"}},
        'strict decoding error: unknown field "spec.listener.alpnPolcy"',
    ),
    (
        "unsupported-alpn-policy",
        {"listener": {"alpnPolicy": "h2"}},
        'spec.listener.alpnPolicy: Unsupported value: "h2"',
    ),
    (
        "both-certificate-sources",
        {"listener": {"requestCertificate": True}},
        "set exactly one of listener.certificateArn",
    ),
    (
        "star-principal",
        {"endpointService": {"allowedPrincipals": ["*"], "autoAcceptPrincipals": []}},
        "allowedPrincipals must not contain '*'",
    ),
    ("no-subnets", {"subnetIds": None}, "spec.subnetIds: Required value"),
]


@pytest.mark.parametrize(
    ("change", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_plan_rejects_an_invalid_object_like_the_api_server_with_exit_2(
    world: World,
    aws_emulator: AwsEmulator,
    plan_env: dict[str, str],
    tmp_path: Path,
    imported_certificate: str,
    change: dict[str, Any],
    message: str,
) -> None:
    spec = merge(spec_dict(world, imported_certificate), change)
    mark = aws_emulator.calls.mark()

    code, out, err = run_plan("-f", str(write_object(tmp_path, spec)))

    assert code == 2
    assert out == ""
    assert err.startswith(f'error: {KIND}.privatelink.operator.dev "{NAME}" is invalid: ')
    assert message in err
    assert aws_emulator.calls.all(since=mark) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("kind: [", "is not valid YAML"),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: orders}\n",
            "holds no PrivateLinkService",
        ),
    ],
    ids=["not-yaml", "no-privatelinkservice"],
)
def test_plan_rejects_a_file_without_a_privatelinkservice_with_exit_2(
    plan_env: dict[str, str], tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "pls.yaml"
    path.write_text(content)

    code, out, err = run_plan("-f", str(path))

    assert (code, out) == (2, "")
    assert message in err


def test_plan_subcommand_requires_a_filename() -> None:
    from privatelink_operator.__main__ import build_parser

    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["plan"])
    assert exc.value.code == 2
    args = build_parser().parse_args(["plan", "-f", "x.yaml"])
    assert isinstance(args, argparse.Namespace)
    assert (args.cluster_name, args.output, args.uid) == ("default", "text", None)
