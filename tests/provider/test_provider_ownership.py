"""Nothing untagged or tagged for another owner is ever modified or deleted (in-process passes).

The operator-process variant (a squatting load balancer) is in ``test_provider_operator.py``.
"""

from __future__ import annotations

from provider_helpers import (
    KIND,
    NAME,
    NAMESPACE,
    Pass,
    condition,
    owned_resources,
    parse,
    spec_dict,
)

from privatelink_operator.aws import AwsClients
from privatelink_operator.ownership import Owner
from privatelink_operator.provider.desired import desired_service
from privatelink_operator.testing.aws import AwsEmulator
from privatelink_operator.testing.world import World


def test_a_target_group_with_our_name_but_no_tags_stalls_the_object_and_is_never_touched(
    passes: Pass, world: World, imported_certificate: str
) -> None:
    spec = spec_dict(world, imported_certificate)
    name = desired_service(parse(spec), passes.owner, world.provider.vpc_id).target_group.name
    elbv2 = world.client("elbv2")
    squatter = elbv2.create_target_group(
        Name=name, Protocol="TLS", Port=8443, VpcId=world.provider.vpc_id, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    mark = passes.emulator.calls.mark()

    outcome = passes.converge(spec)
    deletion = passes.delete(spec)

    assert outcome.plan.stall is not None and outcome.plan.stall.reason == "NotOwned"
    assert squatter in outcome.plan.stall.message
    stalled = condition(passes.status, "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "NotOwned")
    assert deletion.finished and not deletion.done
    assert passes.emulator.calls.writes(since=mark) == []
    assert elbv2.describe_target_groups(TargetGroupArns=[squatter])["TargetGroups"]


def test_a_listener_someone_put_on_our_port_is_never_modified(
    passes: Pass, world: World, imported_certificate: str
) -> None:
    spec = spec_dict(world, imported_certificate)
    passes.converge(spec)
    elbv2 = world.client("elbv2")
    lb = passes.status["loadBalancerArn"]
    # In the console: our listener deleted, a hand-made one (untagged) put on port 443.
    elbv2.delete_listener(ListenerArn=passes.status["listenerArn"])
    theirs = elbv2.create_listener(
        LoadBalancerArn=lb,
        Protocol="TCP",
        Port=443,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": passes.status["targetGroupArn"]}],
    )["Listeners"][0]
    mark = passes.emulator.calls.mark()

    outcome = passes.converge(spec)

    assert outcome.plan.stall is not None and outcome.plan.stall.reason == "NotOwned"
    assert theirs["ListenerArn"] in outcome.plan.stall.message
    assert passes.emulator.calls.writes(since=mark) == []
    now = elbv2.describe_listeners(ListenerArns=[theirs["ListenerArn"]])["Listeners"][0]
    assert (now["Protocol"], now.get("AlpnPolicy") or []) == ("TCP", [])


def test_deleting_the_object_of_one_cluster_leaves_another_clusters_resources_alone(
    passes: Pass,
    world: World,
    imported_certificate: str,
    provider_aws: AwsClients,
    aws_emulator: AwsEmulator,
) -> None:
    """Two clusters, one account, the same namespace/name: each owns only what it tagged."""
    blue = Pass(
        provider_aws,
        aws_emulator,
        Owner("blue", KIND, NAMESPACE, NAME, "9a1b2c3d-0000-4000-8000-000000000001"),
    )
    spec = spec_dict(world, imported_certificate)
    passes.converge(spec)
    blue.converge(spec)
    assert condition(blue.status, "Ready")["status"] == "True"
    blue_before = owned_resources(world, blue.owner.uid)
    assert blue_before.counts()["load balancers"] == 1
    blue_txt = blue.status["privateDns"]["txtRecord"]["name"]

    passes.delete(spec)

    assert not owned_resources(world, passes.owner.uid).load_balancers
    blue_after = owned_resources(world, blue.owner.uid)
    # (TXT records cannot carry tags: the one left must be blue's, by its name.)
    assert blue_after.counts() | {"TXT records": 0} == blue_before.counts() | {"TXT records": 0}
    assert [r["Name"].rstrip(".") for r in blue_after.txt_records] == [blue_txt]
    mark = aws_emulator.calls.mark()
    again = blue.once(spec)
    assert again.plan.to_text() == "no changes"
    assert aws_emulator.calls.writes(since=mark) == []
