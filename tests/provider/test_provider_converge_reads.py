"""While an object converges, a pass reads again only what the passes before it changed."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from provider_helpers import Pass, apply_status, condition, parse, spec_dict

from privatelink_operator.aws import AwsClients
from privatelink_operator.ownership import Owner
from privatelink_operator.provider.inventory import Inventory
from privatelink_operator.provider.plan import Step
from privatelink_operator.provider.readcache import ConvergeReads
from privatelink_operator.provider.reconcile import Outcome, reconcile_service
from privatelink_operator.testing.aws import AwsEmulator
from privatelink_operator.testing.world import World


def one_pass(passes: Pass, spec: dict[str, Any], reads: ConvergeReads) -> Outcome:
    """One pass of ``passes``' object reading through ``reads`` (its status is not kept)."""
    return reconcile_service(
        passes.aws,
        passes.owner,
        parse(spec),
        passes.status,
        passes.generation,
        now=datetime.now(UTC),
        reads=reads,
    )


def converge_as_the_operator_does(
    passes: Pass, spec: dict[str, Any], inventory: Inventory | None = None
) -> Outcome:
    """Passes as ``handlers.pls_pass`` runs them: one ConvergeReads kept while converging,
    its answers handed to the inventory when the object is done."""
    passes.generation += 1
    kept: ConvergeReads | None = None
    for _ in range(8):
        reads = kept if kept is not None else ConvergeReads(passes.aws, 60.0)
        outcome = one_pass(passes, spec, reads)
        passes.status = apply_status(passes.status, outcome.status)
        kept = reads if reads.after_pass(outcome) else None
        if kept is None and inventory is not None and outcome.plan.stall is None:
            inventory.learn(passes.owner.uid, reads.kept())
        if outcome.plan.stall is not None or not (outcome.plan.steps or outcome.plan.waits):
            return outcome
    raise AssertionError("no convergence in 8 passes")


def calls_of(
    emulator: AwsEmulator, run: Any
) -> tuple[Counter[str], Counter[str], Outcome]:  # (reads, writes, last outcome)
    mark = emulator.calls.mark()
    outcome = run()
    calls = emulator.calls.all(since=mark)
    reads = Counter(c.action for c in calls if not c.is_write)
    writes = Counter(c.action for c in calls if c.is_write)
    return reads, writes, outcome


def test_a_converging_object_does_not_read_again_what_its_passes_did_not_change(
    provider_aws: AwsClients,
    aws_emulator: AwsEmulator,
    owner: Owner,
    world: World,
    wildcard_certificate: str,
) -> None:
    plain = Pass(provider_aws, aws_emulator, replace(owner, name="plain", uid="uid-plain-0001"))
    kept = Pass(provider_aws, aws_emulator, replace(owner, name="kept", uid="uid-kept-0002"))
    spec_plain = spec_dict(world, wildcard_certificate, privateDnsName="plain.vpce.example.com")
    spec_kept = spec_dict(world, wildcard_certificate, privateDnsName="kept.vpce.example.com")

    reads_plain, writes_plain, _ = calls_of(aws_emulator, lambda: plain.converge(spec_plain))
    reads_kept, writes_kept, outcome = calls_of(
        aws_emulator, lambda: converge_as_the_operator_does(kept, spec_kept)
    )

    assert condition(kept.status, "Ready")["status"] == "True", kept.status
    assert writes_kept == writes_plain  # the same minimal writes
    assert sum(writes_kept.values()) == 8, writes_kept
    # The load balancer: read before it exists and once after it was created, not every pass.
    assert reads_kept["DescribeLoadBalancers"] <= 2, reads_kept
    # Route 53 allows 5 requests/s per account: the TXT record is read once (before it is
    # written); the pass after the write knows what it wrote.
    assert reads_kept["ListResourceRecordSets"] == 1, reads_kept
    assert sum(reads_kept.values()) < 0.6 * sum(reads_plain.values()), (reads_kept, reads_plain)
    assert not outcome.plan.steps


def test_a_pass_after_a_write_to_a_service_reads_that_service_again(
    provider_aws: AwsClients,
    aws_emulator: AwsEmulator,
    owner: Owner,
    world: World,
    wildcard_certificate: str,
) -> None:
    """Someone deregisters a target while the object converges: kept answers stand until the
    object's next write to ELBv2; the pass after that reads ELBv2 again and puts it back."""
    passes = Pass(provider_aws, aws_emulator, owner)
    spec = spec_dict(world, wildcard_certificate)
    converge_as_the_operator_does(passes, spec)
    reads = ConvergeReads(provider_aws, 60.0)
    first = one_pass(passes, spec, reads)
    assert not first.plan.steps
    tg_arn = passes.status["targetGroupArn"]
    world.client("elbv2").deregister_targets(
        TargetGroupArn=tg_arn, Targets=[{"Id": "10.0.1.10", "Port": 8443}]
    )

    cached = one_pass(passes, spec, reads)
    assert not cached.plan.steps  # nothing written to ELBv2 since the read: kept answers stand
    # A write of this object to ELBv2 (a step as a pass would run it: tagging its NLB).
    reads.wrote([_tag_step(passes.status["loadBalancerArn"])])

    fresh = one_pass(passes, spec, reads)
    assert [s.resource for s in fresh.plan.steps] == ["targets"], fresh.plan.to_text()


def _tag_step(arn: str) -> Step:
    return Step(
        "load-balancer",
        "tag",
        "a tag",
        "elbv2",
        "add_tags",
        {"ResourceArns": [arn], "Tags": [{"Key": "team", "Value": "payments"}]},
    )


def test_a_failed_pass_leaves_nothing_kept_for_the_next(
    provider_aws: AwsClients,
    aws_emulator: AwsEmulator,
    owner: Owner,
    world: World,
    wildcard_certificate: str,
) -> None:
    passes = Pass(provider_aws, aws_emulator, owner)
    spec = spec_dict(world, wildcard_certificate, subnetIds=["subnet-0000000000000dead"])
    passes.generation += 1
    reads = ConvergeReads(provider_aws, 60.0)
    outcome = one_pass(passes, spec, reads)
    assert outcome.plan.stall is not None
    assert reads.after_pass(outcome) is False


def test_the_first_drift_check_after_converging_reads_no_details_again(
    provider_aws: AwsClients,
    aws_emulator: AwsEmulator,
    owner: Owner,
    world: World,
    wildcard_certificate: str,
) -> None:
    """Target health, target group attributes, permissions and listeners that the last pass
    of a convergence read are handed to the inventory: the next snapshot does not read them."""
    inventory = Inventory(provider_aws, owner.cluster, max_age=30.0)
    objects = []
    for i in range(3):
        one = Pass(provider_aws, aws_emulator, replace(owner, name=f"o-{i}", uid=f"uid-o-{i}"))
        spec = spec_dict(world, wildcard_certificate, privateDnsName=f"o-{i}.vpce.example.com")
        converge_as_the_operator_does(one, spec, inventory)
        objects.append((one, spec))

    mark = aws_emulator.calls.mark()
    for passes, spec in objects:
        outcome = reconcile_service(
            provider_aws,
            passes.owner,
            parse(spec),
            passes.status,
            passes.generation,
            view=inventory.view(passes.owner.uid),
        )
        assert not outcome.plan.steps
        assert condition(apply_status(passes.status, outcome.status), "Ready")["status"] == "True"
    reads = Counter(c.action for c in aws_emulator.calls.all(since=mark))

    for action in (
        "DescribeTargetHealth",
        "DescribeTargetGroupAttributes",
        "DescribeVpcEndpointServicePermissions",
    ):
        assert reads[action] == 0, reads
    assert reads["DescribeListeners"] == 1, reads  # all three, by ARN, in one call
