"""Adoption: same-named resources without any operator's tags become an object's own only when
it asks (annotation ``privatelink.operator.dev/adopt: "true"``): they are tagged and used, not
created again. Without the annotation, or when another cluster's tag is on them, they are never
modified (the NotOwned stall of tests/provider/test_provider_ownership.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from reliability_helpers import (
    API_VERSION,
    PLS_KIND,
    Fleet,
    Passes,
    condition,
    eventually,
    pls_spec,
    scan,
)

from privatelink_operator.api import PrivateLinkServiceSpec
from privatelink_operator.ownership import ADOPT_ANNOTATION, TAG_CLUSTER, TAG_UID, Owner, tag_dict
from privatelink_operator.provider.desired import desired_service
from privatelink_operator.testing.aws import PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.operator import OperatorProcess
from privatelink_operator.testing.world import World


def squat(world: World, spec: dict[str, Any], owner: Owner, tags: dict[str, str]) -> dict[str, str]:
    """Create the NLB, target group and listener the planner would, by hand: {role: arn}."""
    desired = desired_service(
        PrivateLinkServiceSpec.model_validate(spec), owner, world.provider.vpc_id
    )
    elbv2 = world.client("elbv2")
    tag_args: dict[str, Any] = {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
    if not tags:
        tag_args = {}
    lb = elbv2.create_load_balancer(
        Name=desired.load_balancer.name,
        Type="network",
        Scheme="internal",
        Subnets=list(world.provider.subnet_ids),
        **tag_args,
    )["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elbv2.create_target_group(
        Name=desired.target_group.name,
        Protocol="TLS",
        Port=8443,
        VpcId=world.provider.vpc_id,
        TargetType="ip",
        **tag_args,
    )["TargetGroups"][0]["TargetGroupArn"]
    return {"load-balancer": lb, "target-group": tg}


def elb_tags(world: World, arn: str) -> dict[str, str]:
    answer = world.client("elbv2").describe_tags(ResourceArns=[arn])
    return tag_dict(answer["TagDescriptions"][0].get("Tags", []))


def test_an_object_that_asks_adopts_untagged_same_named_resources_and_tags_them(
    world: World, aws_emulator: AwsEmulator, passes: Passes, wildcard_certificate: str
) -> None:
    spec = pls_spec(world, wildcard_certificate, 1)
    theirs = squat(world, spec, passes.owner, {"team": "legacy"})
    passes.owner = replace(passes.owner, adopt=True)
    mark = aws_emulator.calls.mark()

    outcome = passes.run(spec, passes=8)

    assert outcome.plan.stall is None, outcome.plan.to_text()
    assert condition({"status": passes.status}, "Ready")["status"] == "True"
    assert passes.status["loadBalancerArn"] == theirs["load-balancer"]
    assert passes.status["targetGroupArn"] == theirs["target-group"]
    for arn in theirs.values():
        assert passes.owner.owns(elb_tags(world, arn)), elb_tags(world, arn)
    actions = [c.action for c in aws_emulator.calls.writes(since=mark)]
    assert "CreateLoadBalancer" not in actions and "CreateTargetGroup" not in actions, actions
    assert not any(a.startswith("Delete") for a in actions), actions
    roles = scan(aws_emulator).roles(passes.owner.uid)
    assert roles["load-balancer"] == roles["target-group"] == 1


def test_another_clusters_resources_are_never_adopted_even_when_asked(
    world: World, aws_emulator: AwsEmulator, passes: Passes, wildcard_certificate: str
) -> None:
    spec = pls_spec(world, wildcard_certificate, 1)
    blue = {TAG_CLUSTER: "blue", TAG_UID: "0000-blue"}
    theirs = squat(world, spec, passes.owner, blue)
    passes.owner = replace(passes.owner, adopt=True)
    mark = aws_emulator.calls.mark()

    outcome = passes.run(spec)

    assert outcome.plan.stall is not None and outcome.plan.stall.reason == "NotOwned"
    assert theirs["load-balancer"] in outcome.plan.stall.message
    assert aws_emulator.calls.writes(since=mark) == []
    for arn in theirs.values():
        assert elb_tags(world, arn) == blue


def test_without_the_annotation_nothing_is_adopted_and_with_it_the_operator_adopts(
    world: World,
    aws_emulator: AwsEmulator,
    services: Fleet,
    wildcard_certificate: str,
    operator_factory: Callable[..., OperatorProcess],
) -> None:
    """The real operator reads the annotation: NotOwned until it is set, then adoption."""
    spec = pls_spec(world, wildcard_certificate, 1)
    created = services.apply("svc", spec)
    owner = Owner("default", PLS_KIND, services.namespace, "svc", created["metadata"]["uid"])
    # The names depend on the object's uid: squat them before the operator starts.
    theirs = squat(world, spec, owner, {})
    operator = operator_factory(services.kube, aws_emulator.env(PROVIDER_ACCOUNT), drift_period=2.0)

    def is_not_owned() -> bool:
        return condition(services.get("svc"), "Stalled").get("reason") == "NotOwned"

    eventually(is_not_owned, 30, lambda: f"NotOwned; log:\n{operator.log()[-2000:]}")
    assert not owner.owns(elb_tags(world, theirs["load-balancer"]))

    services.kube.patch(
        API_VERSION,
        PLS_KIND,
        "svc",
        {"metadata": {"annotations": {ADOPT_ANNOTATION: "true"}}},
        namespace=services.namespace,
    )
    services.wait_ready(timeout=40, log=operator.log)

    status = (services.get("svc") or {})["status"]
    assert status["loadBalancerArn"] == theirs["load-balancer"]
    assert owner.owns(elb_tags(world, theirs["load-balancer"]))
