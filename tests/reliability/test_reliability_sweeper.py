"""The orphan sweeper (``python -m privatelink_operator sweep``): it reports, and with
``--delete`` deletes, what is tagged for this cluster and whose object is gone; it never
touches another cluster's resources, untagged ones, or those of objects that exist."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from reliability_helpers import API_VERSION, PLS_KIND, PLS_ROLES, Fleet, pls_spec, scan

from privatelink_operator.ownership import TAG_CLUSTER, TAG_UID, tag_list
from privatelink_operator.testing.aws import PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.operator import OperatorProcess
from privatelink_operator.testing.world import World


def run_sweep(fleet: Fleet, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "privatelink_operator", "sweep", *args],
        env={**os.environ, **env, "KUBECONFIG": fleet.kube.kubeconfig_path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_sweeper_reports_then_deletes_only_the_resources_of_objects_that_are_gone(
    world: World,
    aws_emulator: AwsEmulator,
    services: Fleet,
    wildcard_certificate: str,
    operator_factory: Callable[..., OperatorProcess],
) -> None:
    env = aws_emulator.env(PROVIDER_ACCOUNT)
    operator = operator_factory(services.kube, env, drift_period=5.0)
    kept = services.apply("kept", pls_spec(world, wildcard_certificate, 1))["metadata"]["uid"]
    gone = services.apply("gone", pls_spec(world, wildcard_certificate, 2))["metadata"]["uid"]
    services.wait_ready(timeout=60, log=operator.log)
    # The operator is down and someone removes the finalizer: the object goes, AWS keeps all.
    operator.kill()
    services.kube.patch(
        API_VERSION, PLS_KIND, "gone", {"metadata": {"finalizers": []}}, namespace="payments"
    )
    services.kube.delete(API_VERSION, PLS_KIND, "gone", namespace="payments")
    assert services.get("gone") is None
    # Neighbours: another cluster's target group, and an untagged one.
    elbv2 = world.client("elbv2")
    other = elbv2.create_target_group(
        Name="plo-other-cluster",
        Protocol="TLS",
        Port=8443,
        VpcId=world.provider.vpc_id,
        TargetType="ip",
        Tags=tag_list({TAG_CLUSTER: "blue", TAG_UID: gone}),
    )["TargetGroups"][0]["TargetGroupArn"]
    untagged = elbv2.create_target_group(
        Name="plo-untagged", Protocol="TLS", Port=8443, VpcId=world.provider.vpc_id
    )["TargetGroups"][0]["TargetGroupArn"]
    before = scan(aws_emulator)
    assert sorted(before.by_uid) == sorted([kept, gone])
    orphan_ids = sorted(i for ids in before.by_uid[gone].values() for i in ids)
    mark = aws_emulator.calls.mark()

    report = run_sweep(services, env)

    assert report.returncode == 1, report.stderr
    reported = [line for line in report.stdout.splitlines() if line.startswith("orphan: ")]
    assert len(reported) == len(PLS_ROLES) == len(orphan_ids), report.stdout
    assert all(any(i in line for line in reported) for i in orphan_ids), report.stdout
    assert all("gone" in line and gone in line for line in reported)
    assert "run again with --delete" in report.stdout
    assert aws_emulator.calls.writes(since=mark) == [], "a report changes nothing"

    deleted = run_sweep(services, env, "--delete")
    if deleted.returncode != 0:  # a dependent still going away: a second pass finishes
        deleted = run_sweep(services, env, "--delete")

    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    after = scan(aws_emulator)
    assert sorted(after.by_uid) == [kept]
    assert after.by_uid[kept] == before.by_uid[kept]
    arns = {tg["TargetGroupArn"] for tg in elbv2.describe_target_groups()["TargetGroups"]}
    assert {other, untagged} <= arns
    deleting = [c for c in aws_emulator.calls.writes(since=mark) if c.action.startswith("Delete")]
    assert len(deleting) >= len(PLS_ROLES)
    again = run_sweep(services, env)
    assert again.returncode == 0 and "0 orphaned resource(s) found" in again.stdout, again.stdout
