"""Drift checks through the shared inventory: batched reads, no writes, fresh reads to write."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from provider_helpers import Pass, apply_status, parse, spec_dict

from privatelink_operator.aws import AwsClients
from privatelink_operator.ownership import Owner
from privatelink_operator.provider.inventory import Inventory
from privatelink_operator.provider.reconcile import reconcile_service
from privatelink_operator.testing.aws import AwsEmulator
from privatelink_operator.testing.aws.faults import FaultRule
from privatelink_operator.testing.world import World


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fleet(
    provider_aws: AwsClients,
    aws_emulator: AwsEmulator,
    owner: Owner,
    world: World,
    cert: str,
    n: int,
) -> list[tuple[Pass, dict[str, Any]]]:
    """``n`` converged objects (in-process passes), each with its own name and DNS name."""
    out = []
    for i in range(n):
        one = replace(owner, name=f"orders-{i}", uid=f"0b5c3f0e-1111-4222-8333-{i:012d}")
        spec = spec_dict(world, cert, privateDnsName=f"orders-{i}.vpce.example.com")
        passes = Pass(provider_aws, aws_emulator, one)
        passes.converge(spec)
        out.append((passes, spec))
    return out


def drift_checks(
    objects: list[tuple[Pass, dict[str, Any]]], inventory: Inventory, emulator: AwsEmulator
) -> tuple[Counter[str], int]:
    """One drift check of every object through ``inventory``: (reads by action, writes)."""
    mark = emulator.calls.mark()
    for passes, spec in objects:
        view = inventory.view(passes.owner.uid)
        outcome = reconcile_service(
            passes.aws, passes.owner, parse(spec), passes.status, passes.generation, view=view
        )
        passes.status = apply_status(passes.status, outcome.status)
        assert not outcome.plan.steps
    calls = emulator.calls.all(since=mark)
    reads = Counter(c.action for c in calls if not c.is_write)
    return reads, sum(1 for c in calls if c.is_write)


def test_drift_checks_of_many_objects_share_batched_reads_and_write_nothing(
    provider_aws: AwsClients,
    aws_emulator: AwsEmulator,
    owner: Owner,
    world: World,
    wildcard_certificate: str,
) -> None:
    objects = fleet(provider_aws, aws_emulator, owner, world, wildcard_certificate, 4)
    inventory = Inventory(provider_aws, owner.cluster, max_age=30.0, clock=Clock())

    reads, writes = drift_checks(objects, inventory, aws_emulator)

    assert writes == 0
    # Shared by all objects, once per snapshot: not once per object.
    for action in (
        "DescribeLoadBalancers",
        "DescribeTargetGroups",
        "DescribeVpcEndpointServiceConfigurations",
        "DescribeVpcEndpointConnections",
        "DescribeSubnets",
        "DescribeCertificate",
        "ListHostedZones",
        "ListResourceRecordSets",
    ):
        assert reads[action] == 1, (action, reads)
    # Per object: its listener (and the listener's tags), target group attributes and health,
    # endpoint service permissions: APIs that take one resource at a time.
    for action in ("DescribeListeners", "DescribeTargetHealth"):
        assert reads[action] == len(objects), (action, reads)
    per_object_before = 16
    assert sum(reads.values()) < per_object_before * len(objects) / 2, reads
    for passes, _ in objects:
        ready = [c for c in passes.status["conditions"] if c["type"] == "Ready"]
        assert ready[0]["status"] == "True"


def test_from_the_second_period_on_listeners_are_read_in_batches_too(
    provider_aws: AwsClients,
    aws_emulator: AwsEmulator,
    owner: Owner,
    world: World,
    wildcard_certificate: str,
) -> None:
    objects = fleet(provider_aws, aws_emulator, owner, world, wildcard_certificate, 3)
    clock = Clock()
    inventory = Inventory(provider_aws, owner.cluster, max_age=30.0, clock=clock)
    drift_checks(objects, inventory, aws_emulator)  # learns the listeners' ARNs
    clock.now += 31

    reads, writes = drift_checks(objects, inventory, aws_emulator)

    assert writes == 0
    assert reads["DescribeListeners"] == 1, reads
    assert reads["DescribeTags"] == 1, reads  # load balancers, target groups, listeners
    # Left per object: target health and attributes, endpoint service permissions.
    assert sum(reads.values()) <= 10 + 3 * len(objects), reads


def test_a_listener_deleted_by_hand_is_seen_although_its_batch_fails(
    provider_aws: AwsClients,
    aws_emulator: AwsEmulator,
    owner: Owner,
    world: World,
    wildcard_certificate: str,
) -> None:
    objects = fleet(provider_aws, aws_emulator, owner, world, wildcard_certificate, 2)
    clock = Clock()
    inventory = Inventory(provider_aws, owner.cluster, max_age=30.0, clock=clock)
    drift_checks(objects, inventory, aws_emulator)
    passes, spec = objects[0]
    world.client("elbv2").delete_listener(ListenerArn=passes.status["listenerArn"])
    clock.now += 31

    outcome = reconcile_service(
        passes.aws,
        passes.owner,
        parse(spec),
        passes.status,
        passes.generation,
        view=inventory.view(passes.owner.uid),
    )

    assert [d.step.operation for d in outcome.done] == ["create_listener"]


def test_a_drift_found_through_the_snapshot_is_read_again_from_aws_before_it_is_corrected(
    provider_aws: AwsClients,
    aws_emulator: AwsEmulator,
    owner: Owner,
    world: World,
    wildcard_certificate: str,
) -> None:
    [(passes, spec)] = fleet(provider_aws, aws_emulator, owner, world, wildcard_certificate, 1)
    clock = Clock()
    inventory = Inventory(provider_aws, owner.cluster, max_age=30.0, clock=clock)
    service_id = passes.status["serviceId"]
    world.client("ec2").modify_vpc_endpoint_service_configuration(
        ServiceId=service_id, AcceptanceRequired=False
    )
    mark = aws_emulator.calls.mark()

    outcome = reconcile_service(
        passes.aws,
        passes.owner,
        parse(spec),
        passes.status,
        passes.generation,
        view=inventory.view(passes.owner.uid),
    )

    assert [d.step.operation for d in outcome.done] == ["modify_vpc_endpoint_service_configuration"]
    calls = aws_emulator.calls.all(since=mark)
    fresh = [c for c in calls if c.action == "DescribeVpcEndpointServiceConfigurations"]
    assert len(fresh) == 2, "once for the snapshot, once fresh before writing"


def test_an_object_that_changed_after_the_snapshot_reads_aws_itself(
    provider_aws: AwsClients, owner: Owner
) -> None:
    clock = Clock()
    inventory = Inventory(provider_aws, owner.cluster, max_age=30.0, clock=clock)
    assert inventory.view(owner.uid) is not None
    clock.now += 1
    inventory.changed(owner.uid)
    clock.now += 1
    assert inventory.view(owner.uid) is None, "the snapshot predates its change"
    clock.now += 30
    assert inventory.view(owner.uid) is not None, "a new snapshot sees the change"
    assert inventory.snapshots == 2


def test_stable_reads_are_cached_for_a_while_and_the_rest_always_goes_to_aws() -> None:
    from privatelink_operator.provider.inventory import StableReads

    class Fake:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def call(self, service: str, operation: str, **params: Any) -> Any:
            self.calls.append(operation)
            return {"n": len(self.calls)}

    fake, clock = Fake(), Clock()
    reads = StableReads(fake, max_age=10.0, clock=clock)
    for _ in range(3):
        reads.call("route53", "get_hosted_zone", Id="Z1")
        reads.call("elbv2", "describe_listeners", LoadBalancerArn="arn")
    clock.now += 11
    reads.call("route53", "get_hosted_zone", Id="Z1")

    assert fake.calls.count("get_hosted_zone") == 2
    assert fake.calls.count("describe_listeners") == 3
    reads.call("acm", "describe_certificate", CertificateArn="arn:cert")
    clock.now += 4
    reads.call("acm", "describe_certificate", CertificateArn="arn:cert")
    assert fake.calls.count("describe_certificate") == 1, "shared by passes for a few seconds"
    clock.now += 2
    reads.call("acm", "describe_certificate", CertificateArn="arn:cert")
    assert fake.calls.count("describe_certificate") == 2


def test_a_status_patch_that_changes_nothing_is_not_sent() -> None:
    from privatelink_operator.handlers import changes

    current = {
        "observedGeneration": 2,
        "privateDns": {"state": "verified", "txtRecord": {"name": "_a", "value": "v"}},
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    assert not changes(current, {"observedGeneration": 2, "privateDns": {"state": "verified"}})
    assert not changes(current, {"stalledGeneration": None})
    assert changes(current, {"observedGeneration": 3})
    assert changes(current, {"privateDns": {"txtRecord": {"value": "w"}}})
    assert changes(current, {"conditions": [{"type": "Ready", "status": "False"}]})
    assert changes(current, {"observedGeneration": None})


def test_per_resource_details_are_read_again_within_a_budget_of_objects_per_snapshot(
    provider_aws: AwsClients,
    aws_emulator: AwsEmulator,
    owner: Owner,
    world: World,
    wildcard_certificate: str,
) -> None:
    objects = fleet(provider_aws, aws_emulator, owner, world, wildcard_certificate, 3)
    clock = Clock()
    inventory = Inventory(provider_aws, owner.cluster, max_age=30.0, clock=clock, detail_budget=1)
    first, _ = drift_checks(objects, inventory, aws_emulator)
    assert first["DescribeTargetHealth"] == 3
    clock.now += 31
    inventory.changed(objects[0][0].owner.uid)  # its details are read again at once
    clock.now += 1

    second, writes = drift_checks(objects[1:], inventory, aws_emulator)

    assert writes == 0
    # 3 objects, 1 per snapshot: details are reused for up to 3 snapshots.
    assert second["DescribeTargetHealth"] == 0, second
    assert second["DescribeVpcEndpointServicePermissions"] == 0, second
    clock.now += 3 * 30
    third, _ = drift_checks(objects, inventory, aws_emulator)
    assert third["DescribeTargetHealth"] == 3, third


def test_a_snapshot_reads_the_tags_of_a_budget_of_resources_not_of_all(
    provider_aws: AwsClients,
    aws_emulator: AwsEmulator,
    owner: Owner,
    world: World,
    wildcard_certificate: str,
) -> None:
    """8 objects own 24 ELBv2 resources; with a budget of 20, a steady snapshot makes one
    DescribeTags call (20 ARNs), the longest unread first, instead of two."""
    objects = fleet(provider_aws, aws_emulator, owner, world, wildcard_certificate, 8)
    clock = Clock()
    inventory = Inventory(provider_aws, owner.cluster, max_age=30.0, clock=clock, detail_budget=1)
    drift_checks(objects, inventory, aws_emulator)  # learns the listeners
    clock.now += 31
    drift_checks(objects, inventory, aws_emulator)  # all 24 ARNs known now
    assert inventory.tags is not None
    seen: dict[str, float] = {}
    for _ in range(3):
        clock.now += 31
        reads, writes = drift_checks(objects, inventory, aws_emulator)
        assert writes == 0
        assert reads["DescribeTags"] == 1, reads
        seen.update({a: at for a, (at, _) in inventory.tags._tags.items()})
    # Over the snapshots every resource's tags were read again (none left behind).
    assert len(seen) == 24
    assert min(seen.values()) > 1000.0 + 31, seen


def _quiet_check(passes: Pass, spec: Any, inventory: Inventory) -> Any:
    """A drift check of one object through ``inventory``, remembered if it found nothing."""
    view = inventory.view(passes.owner.uid)
    assert view is not None
    outcome = reconcile_service(
        passes.aws, passes.owner, spec, passes.status, passes.generation, view=view
    )
    assert outcome.quiet and not outcome.plan.steps
    inventory.remember_quiet(passes.owner.uid, spec, ("inputs", passes.generation), view, outcome)
    return outcome


@pytest.fixture
def three(
    provider_aws: AwsClients,
    aws_emulator: AwsEmulator,
    owner: Owner,
    world: World,
    wildcard_certificate: str,
) -> list[tuple[Pass, dict[str, Any]]]:
    return fleet(provider_aws, aws_emulator, owner, world, wildcard_certificate, 3)


def test_a_drift_check_that_would_find_the_same_again_is_answered_without_a_pass_or_a_call(
    three: list[tuple[Pass, dict[str, Any]]],
    provider_aws: AwsClients,
    aws_emulator: AwsEmulator,
    owner: Owner,
    world: World,
) -> None:
    objects = three
    clock = Clock()
    # Details (target health, attributes, permissions) of one object per snapshot: with three
    # objects, each one's details stay fresh for three periods.
    inventory = Inventory(provider_aws, owner.cluster, max_age=30.0, clock=clock, detail_budget=1)
    specs = [parse(spec) for _, spec in objects]
    outcomes = [_quiet_check(p, s, inventory) for (p, _), s in zip(objects, specs, strict=True)]
    (first, _), (second, _), (third, _) = objects
    inputs = [("inputs", p.generation) for p, _ in objects]

    # The same snapshot: the same outcome, no AWS call.
    mark = aws_emulator.calls.mark()
    assert inventory.still_quiet(first.owner.uid, specs[0], inputs[0]) is outcomes[0]
    assert aws_emulator.calls.all(since=mark) == []
    # Anything the pass depends on besides AWS differs: run it.
    assert inventory.still_quiet(first.owner.uid, parse(objects[0][1]), inputs[0]) is None
    assert inventory.still_quiet(first.owner.uid, specs[0], ("inputs", 99)) is None

    # Someone changes the first object's listener in the console; the next snapshot shows it.
    world.client("elbv2").modify_listener(
        ListenerArn=first.status["listenerArn"], AlpnPolicy=["HTTP1Only"]
    )
    clock.now += 31
    assert inventory.still_quiet(third.owner.uid, specs[2], inputs[2]) is None, "due"
    # A pass takes the next snapshot and makes the reads all objects share (certificate,
    # subnets, hosted zones, the zone's records).
    _quiet_check(second, specs[1], inventory)
    mark = aws_emulator.calls.mark()
    assert inventory.still_quiet(third.owner.uid, specs[2], inputs[2]) is outcomes[2]
    assert inventory.still_quiet(first.owner.uid, specs[0], inputs[0]) is None
    assert aws_emulator.calls.all(since=mark) == [], "answered from the snapshot alone"
    # The real pass finds the drift.
    drifted = reconcile_service(
        first.aws,
        first.owner,
        specs[0],
        first.status,
        first.generation,
        view=inventory.view(first.owner.uid),
    )
    assert [d.step.operation for d in drifted.done] == ["modify_listener"]
    assert inventory.still_quiet(first.owner.uid, specs[0], inputs[0]) is None, "forgotten"

    # Its own write: it reads AWS itself until the next snapshot.
    inventory.changed(third.owner.uid)
    assert inventory.still_quiet(third.owner.uid, specs[2], inputs[2]) is None


def test_a_quiet_check_whose_details_are_due_again_is_run_to_read_them(
    three: list[tuple[Pass, dict[str, Any]]], provider_aws: AwsClients, owner: Owner
) -> None:
    (passes, spec), (other, other_spec), _ = three
    clock = Clock()
    inventory = Inventory(provider_aws, owner.cluster, max_age=30.0, clock=clock)
    parsed = parse(spec)
    _quiet_check(passes, parsed, inventory)
    clock.now += 31
    _quiet_check(other, parse(other_spec), inventory)  # the next snapshot, the shared reads

    # Three objects, a budget of 10: target health and the rest are read every snapshot.
    assert inventory.still_quiet(passes.owner.uid, parsed, ("inputs", passes.generation)) is None


def test_a_new_snapshot_keeps_the_last_ones_objects_for_what_aws_answers_alike(
    three: list[tuple[Pass, dict[str, Any]]], provider_aws: AwsClients, owner: Owner, world: World
) -> None:
    clock = Clock()
    inventory = Inventory(provider_aws, owner.cluster, max_age=30.0, clock=clock)
    (first, _), (second, _), _ = three
    for passes, spec in three:  # learns the listeners: the next snapshot reads them in batch
        _quiet_check(passes, parse(spec), inventory)
    clock.now += 31
    before = inventory.view(first.owner.uid)
    assert before is not None
    world.client("elbv2").modify_listener(
        ListenerArn=first.status["listenerArn"], AlpnPolicy=["HTTP1Only"]
    )
    clock.now += 31
    after = inventory.view(first.owner.uid)
    assert after is not None and after.snapshot is not before.snapshot

    old, new = before.snapshot, after.snapshot
    lb_of = {p.owner.uid: p.status["loadBalancerArn"] for p, _ in three}
    assert new.listeners[lb_of[second.owner.uid]] is old.listeners[lb_of[second.owner.uid]]
    assert new.listeners[lb_of[first.owner.uid]] is not old.listeners[lb_of[first.owner.uid]]
    assert new.listeners[lb_of[first.owner.uid]] != old.listeners[lb_of[first.owner.uid]]
    for name, lb in new.load_balancers.items():
        assert lb is old.load_balancers[name]
    assert all(a is b for a, b in zip(new.services, old.services, strict=True))


def _settled(
    objects: list[tuple[Pass, dict[str, Any]]], inventory: Inventory, clock: Clock
) -> tuple[list[Any], list[Any]]:
    """Two periods of quiet checks: the first learns the listeners, so the second's snapshot
    reads them in batch. The specs, and the second period's outcomes."""
    specs = [parse(spec) for _, spec in objects]
    for (passes, _), spec in zip(objects, specs, strict=True):
        _quiet_check(passes, spec, inventory)
    clock.now += 31
    outcomes = [_quiet_check(p, s, inventory) for (p, _), s in zip(objects, specs, strict=True)]
    return specs, outcomes


def test_a_due_snapshot_taken_by_refresh_lets_every_quiet_check_compare_instead_of_running(
    three: list[tuple[Pass, dict[str, Any]]],
    provider_aws: AwsClients,
    aws_emulator: AwsEmulator,
    owner: Owner,
    world: World,
) -> None:
    """When the snapshot is due, one refresh takes the next one and reads once what the
    remembered checks read that no snapshot holds yet (the certificate, the zone's records):
    every quiet check is then answered by comparison, and a drifted one still runs."""
    clock = Clock()
    inventory = Inventory(provider_aws, owner.cluster, max_age=30.0, clock=clock, detail_budget=1)
    specs, outcomes = _settled(three, inventory, clock)
    inputs = [("inputs", p.generation) for p, _ in three]
    (first, _), _, _ = three
    world.client("elbv2").modify_listener(
        ListenerArn=first.status["listenerArn"], AlpnPolicy=["HTTP1Only"]
    )
    clock.now += 31
    assert inventory.remembers(first.owner.uid) and inventory.due()

    mark = aws_emulator.calls.mark()
    inventory.refresh()
    refresh_reads = [c.action for c in aws_emulator.calls.all(since=mark)]
    assert not inventory.due()
    # The pages, and one read of the zone's records for all three (not one per object).
    assert refresh_reads.count("ListResourceRecordSets") == 1, refresh_reads
    assert "DescribeTargetHealth" not in refresh_reads, "details keep to their budget"

    mark = aws_emulator.calls.mark()
    # Details of one object per snapshot (budget 1): the other two compare alike; the
    # drifted first one runs.
    assert inventory.still_quiet(first.owner.uid, specs[0], inputs[0]) is None
    skipped = [
        inventory.still_quiet(p.owner.uid, s, i) is o
        for (p, _), s, i, o in zip(three[1:], specs[1:], inputs[1:], outcomes[1:], strict=True)
    ]
    assert skipped == [True, True]
    assert aws_emulator.calls.all(since=mark) == []

    inventory.refresh()  # not due: nothing taken, nothing read
    assert aws_emulator.calls.all(since=mark) == []


def test_a_refresh_whose_shared_read_fails_leaves_that_check_to_a_pass(
    three: list[tuple[Pass, dict[str, Any]]],
    provider_aws: AwsClients,
    aws_emulator: AwsEmulator,
    owner: Owner,
    world: World,
) -> None:
    clock = Clock()
    inventory = Inventory(provider_aws, owner.cluster, max_age=30.0, clock=clock)
    (passes, spec), _, _ = three
    parsed = parse(spec)
    _quiet_check(passes, parsed, inventory)
    clock.now += 31
    denied = FaultRule(
        service="route53", action="ListResourceRecordSets", error_code="AccessDenied", status=403
    )
    with aws_emulator.faults.active(denied):
        inventory.refresh()
        assert aws_emulator.faults.rules()[0].hits == 1
    assert not inventory.due(), "the snapshot is taken all the same"
    assert inventory.still_quiet(passes.owner.uid, parsed, ("inputs", passes.generation)) is None


def test_checks_that_find_the_snapshot_due_wait_for_one_refresh_not_one_each() -> None:
    """20 daemons' checks find the snapshot due at once: one thread takes it, all wait; if it
    fails with an AWS error, each check fails with its own copy of it (and backs off), none
    tries the snapshot again."""
    import asyncio
    import threading
    import time
    from typing import cast

    from privatelink_operator import handlers
    from privatelink_operator.aws import AwsError

    class Refresh:
        def __init__(self, error: AwsError | None = None) -> None:
            self.calls = 0
            self.threads: set[int] = set()
            self.error = error

        def refresh(self) -> None:
            self.calls += 1
            self.threads.add(threading.get_ident())
            time.sleep(0.2)
            if self.error is not None:
                raise self.error

    async def checks(fake: Refresh) -> list[BaseException | None]:
        inventory = cast(Inventory, fake)
        waits = (handlers._refreshed(inventory) for _ in range(20))
        return await asyncio.gather(*waits, return_exceptions=True)

    ok = Refresh()
    assert asyncio.run(checks(ok)) == [None] * 20
    assert ok.calls == 1 and threading.get_ident() not in ok.threads
    asyncio.run(checks(ok))  # a new event loop, the next period: taken again
    assert ok.calls == 2
    error = AwsError("retry", "Throttling", "slow down", "DescribeLoadBalancers")
    failing = Refresh(error)
    errors = asyncio.run(checks(failing))
    assert failing.calls == 1
    assert all(isinstance(e, AwsError) and e.code == "Throttling" for e in errors)
    assert len({id(e) for e in errors} | {id(error)}) == 21, "each check its own copy"


def test_a_quiet_check_compared_again_keeps_this_snapshots_answers_not_the_last_ones(
    three: list[tuple[Pass, dict[str, Any]]], provider_aws: AwsClients, owner: Owner
) -> None:
    """Answers read per snapshot (the certificate) are swapped for the new snapshot's; what
    the pages answer stays the same objects: no second copy of either stays alive."""
    clock = Clock()
    inventory = Inventory(provider_aws, owner.cluster, max_age=30.0, clock=clock, detail_budget=1)
    specs, _ = _settled(three, inventory, clock)
    clock.now += 31
    inventory.refresh()
    snapshot = inventory._snapshot
    assert snapshot is not None
    compared = [
        p for (p, _), s in zip(three, specs, strict=True)
        if inventory.still_quiet(p.owner.uid, s, ("inputs", p.generation)) is not None
    ]  # fmt: skip
    assert compared, "details of one object per snapshot: the others compare"
    for passes in compared:
        reads = inventory._quiet[passes.owner.uid].reads
        certificates = [a for s, o, p, a, k in reads if o == "describe_certificate"]
        load_balancers = [a for s, o, p, a, k in reads if o == "describe_load_balancers"]
        assert certificates and load_balancers
        for answer in certificates:
            assert answer is snapshot.peek("acm", "describe_certificate", {
                "CertificateArn": answer["Certificate"]["CertificateArn"]
            })  # fmt: skip
        for answer in load_balancers:
            (lb,) = answer["LoadBalancers"]
            assert lb is snapshot.load_balancers[lb["LoadBalancerName"]]
