"""Killing the operator at any point of a first reconcile never leaves a twin in AWS.

One test per gap between two write calls of the chain: the emulator holds the k-th write call
(a fault rule that answers late), the test kills the operator (SIGKILL) while it waits, lets the
held call land in AWS (its answer is lost, as in a crash right after AWS acted), restarts the
operator and expects exactly one of each resource carrying the object's tags, and Ready.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from provider_helpers import Cluster, eventually, owned_resources, spec_dict

from privatelink_operator.testing.aws import AwsEmulator, FaultRule
from privatelink_operator.testing.operator import OperatorProcess
from privatelink_operator.testing.world import World

HOLD = 0.5  # seconds the held write call waits before AWS acts on it

# The write calls of a first reconcile with a requested certificate, in order (the emulator
# has no delays: three passes). (action, occurrence): the occurrence-th call of that action.
CHAIN = [
    ("RequestCertificate", 1),
    ("CreateLoadBalancer", 1),
    ("CreateTargetGroup", 1),
    ("RegisterTargets", 1),
    ("ChangeResourceRecordSets", 1),  # ACM validation CNAME
    ("CreateVpcEndpointServiceConfiguration", 1),
    ("ModifyVpcEndpointServicePermissions", 1),
    ("CreateListener", 1),
    ("ChangeResourceRecordSets", 2),  # the TXT ownership record
    ("StartVpcEndpointServicePrivateDnsVerification", 1),
]
SERVICES = {
    "RequestCertificate": "acm",
    "ChangeResourceRecordSets": "route53",
    "CreateVpcEndpointServiceConfiguration": "ec2",
    "ModifyVpcEndpointServicePermissions": "ec2",
    "StartVpcEndpointServicePrivateDnsVerification": "ec2",
}


def hold(aws_emulator: AwsEmulator, action: str, occurrence: int) -> FaultRule:
    """Hold the ``occurrence``-th call of ``action``: earlier ones pass (a 1 ms rule first)."""
    service = SERVICES.get(action, "elbv2")
    rules = []
    if occurrence > 1:
        rules.append(FaultRule.slow(service, action, seconds=0.001, times=occurrence - 1))
    rules.append(FaultRule.slow(service, action, seconds=HOLD, times=1))
    return aws_emulator.faults.add(*rules)[-1]


def rule_hits(aws_emulator: AwsEmulator, rule: FaultRule) -> int:
    return next(r.hits for r in aws_emulator.faults.rules() if r.id == rule.id)


@pytest.mark.parametrize(
    ("action", "occurrence"),
    CHAIN,
    ids=[f"killed-during-{a}-{n}" for a, n in CHAIN],
)
def test_killing_the_operator_between_two_steps_of_a_first_reconcile_creates_no_twin(
    cluster: Cluster,
    world: World,
    aws_emulator: AwsEmulator,
    provider_env: dict[str, str],
    operator_factory: Callable[..., OperatorProcess],
    action: str,
    occurrence: int,
) -> None:
    rule = hold(aws_emulator, action, occurrence)
    uid = cluster.apply(spec_dict(world))["metadata"]["uid"]
    operator = operator_factory(cluster.kube, provider_env, drift_period=2.0)

    eventually(
        lambda: rule_hits(aws_emulator, rule) == 1,
        timeout=20,
        message=f"call {occurrence} of {action}; log:\n{operator.log()[-3000:]}",
        interval=0.02,
    )
    operator.kill()
    # The held call reaches AWS after the crash: AWS acted, the operator never heard of it.
    eventually(
        lambda: aws_emulator.calls.count(action=action) >= occurrence,
        timeout=HOLD + 5,
        message=f"the held {action} to land",
        interval=0.05,
    )
    assert aws_emulator.calls.select(action=action)[occurrence - 1].status == 200
    operator.start()

    cluster.wait_ready(timeout=30, operator=operator)

    owned = owned_resources(world, uid)
    assert owned.counts() == dict.fromkeys(owned.counts(), 1), owned.counts()
    assert len(owned.validation_records) == 1
    status = cluster.status()
    assert status["loadBalancerArn"] == owned.load_balancers[0]["LoadBalancerArn"]
    assert status["serviceId"] == owned.endpoint_services[0]["ServiceId"]
    assert status["certificateArn"] == owned.certificates[0]
