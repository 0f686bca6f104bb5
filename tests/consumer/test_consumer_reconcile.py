"""One reconcile pass of a PrivateLinkEndpoint, in process (no operator, no cluster).

The endpoint states AWS can report are mapped from canned answers (the emulator cannot put an
endpoint into ``failed`` or ``expired``); choosing among several services and the write calls
of a repeated pass run against the AWS emulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3
import pytest

from privatelink_operator.api import PrivateLinkEndpointSpec
from privatelink_operator.aws import SERVICES, AwsClients, AwsError
from privatelink_operator.consumer.reconcile import EndpointOutcome, reconcile_endpoint
from privatelink_operator.ownership import ROLE_ENDPOINT, Owner, tag_list
from privatelink_operator.status import summarize
from privatelink_operator.testing.aws import CONSUMER_ACCOUNT, PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.world import World

SERVICE = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
DNS_NAME = "orders.vpce.example.com"
OWNER = Owner("default", "PrivateLinkEndpoint", "checkout", "orders", "5a1d-uid")


def spec(**change: Any) -> PrivateLinkEndpointSpec:
    base: dict[str, Any] = {
        "privateDnsName": DNS_NAME,
        "vpcId": "vpc-0c0ffee",
        "subnetIds": ["subnet-c1"],
    }
    base.update(change)
    return PrivateLinkEndpointSpec.model_validate(base)


class CannedAws:
    """Answers the reads of one pass from canned data; records the writes."""

    def __init__(self, endpoint: Mapping[str, Any] | None) -> None:
        self.endpoint = endpoint
        self.writes: list[str] = []

    def call(self, service: str, operation: str, **params: Any) -> Any:
        if operation == "describe_vpc_endpoint_services":
            detail = {
                "ServiceName": SERVICE,
                "ServiceId": "vpce-svc-0123456789abcdef0",
                "PrivateDnsName": DNS_NAME,
                "PrivateDnsNameVerificationState": "verified",
                "AcceptanceRequired": True,
            }
            return {"ServiceDetails": [detail]}
        if operation == "describe_vpc_endpoints":
            return {"VpcEndpoints": [self.endpoint] if self.endpoint else []}
        if operation == "describe_security_groups":
            return {"SecurityGroups": []}
        if operation == "get_caller_identity":
            return {"Account": CONSUMER_ACCOUNT}
        self.writes.append(operation)
        return {}


def canned_endpoint(state: str, last_error: Mapping[str, str] | None = None) -> dict[str, Any]:
    endpoint: dict[str, Any] = {
        "VpcEndpointId": "vpce-0aaa",
        "State": state,
        "ServiceName": SERVICE,
        "VpcId": "vpc-0c0ffee",
        "SubnetIds": ["subnet-c1"],
        "Groups": [{"GroupId": "sg-default"}],
        "PrivateDnsEnabled": state == "available",
        "IpAddressType": "ipv4",
        "DnsEntries": [],
        "Tags": tag_list(OWNER.tags(ROLE_ENDPOINT)),
    }
    if last_error:
        endpoint["LastError"] = dict(last_error)
    return endpoint


def one_pass(state: str, last_error: Mapping[str, str] | None = None) -> EndpointOutcome:
    aws = CannedAws(canned_endpoint(state, last_error))
    outcome = reconcile_endpoint(aws, OWNER, spec(), {}, 1)  # type: ignore[arg-type]
    assert aws.writes == [], f"no write expected in state {state}"
    return outcome


def ready(outcome: EndpointOutcome) -> str:
    return summarize([outcome.part], outcome.stall)[0].status


# -- states ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "reason", "words"),
    [
        ("pendingAcceptance", "PendingAcceptance", "accept"),
        ("PendingAcceptance", "PendingAcceptance", "accept"),  # the API model's spelling
        ("pending", "Pending", "provisioning"),
    ],
)
def test_transitional_states_are_not_ready_and_come_back_soon(
    state: str, reason: str, words: str
) -> None:
    outcome = one_pass(state)

    assert outcome.part.status == "False"
    assert outcome.part.reason == reason
    assert words in outcome.part.message
    assert outcome.stall is None
    assert outcome.requeue is not None and outcome.requeue <= 10
    assert not outcome.probe_ready
    assert ready(outcome) == "False"


def test_an_available_endpoint_is_available_and_ready_to_probe() -> None:
    outcome = one_pass("available")

    assert outcome.part.status == "True"
    assert outcome.probe_ready
    assert outcome.probe_host == DNS_NAME
    assert outcome.stall is None


def test_a_rejected_endpoint_stalls_and_tells_the_user_to_ask_the_provider() -> None:
    outcome = one_pass("rejected", {"Code": "Rejected", "Message": "rejected by the owner"})

    assert outcome.stall is not None
    assert outcome.stall.reason == "Rejected"
    assert "ask" in outcome.stall.message and "vpce-0aaa" in outcome.stall.message
    assert ready(outcome) == "False"


@pytest.mark.parametrize(("state", "reason"), [("failed", "Failed"), ("expired", "Expired")])
def test_failed_and_expired_endpoints_stall_with_aws_last_error(state: str, reason: str) -> None:
    error = {"Code": "InsufficientCapacity", "Message": "no room in us-east-1a"}
    outcome = one_pass(state, error)

    assert outcome.stall is not None
    assert outcome.stall.reason == reason
    assert "InsufficientCapacity" in outcome.stall.message
    assert "no room in us-east-1a" in outcome.stall.message
    assert outcome.part.status == "False"
    assert ready(outcome) == "False"


# -- against the emulator -------------------------------------------------------------------------


@pytest.fixture
def consumer_aws(aws_emulator: AwsEmulator) -> AwsClients:
    session = boto3.Session(
        aws_access_key_id=CONSUMER_ACCOUNT,
        aws_secret_access_key="emulated",
        region_name=aws_emulator.region,
    )
    return AwsClients(
        session=session,
        max_attempts=2,
        endpoint_urls=dict.fromkeys(SERVICES, aws_emulator.endpoint_url),
    )


def offer(world: World, name: str, dns_name: str) -> str:
    """An endpoint service of the provider account, visible to the consumer account."""
    elbv2 = world.client("elbv2", PROVIDER_ACCOUNT)
    ec2 = world.client("ec2", PROVIDER_ACCOUNT)
    lb = elbv2.create_load_balancer(
        Name=name, Type="network", Scheme="internal", Subnets=world.provider.subnet_ids
    )["LoadBalancers"][0]
    config = ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[lb["LoadBalancerArn"]],
        AcceptanceRequired=False,
        PrivateDnsName=dns_name,
    )["ServiceConfiguration"]
    ec2.modify_vpc_endpoint_service_permissions(
        ServiceId=config["ServiceId"],
        AddAllowedPrincipals=[f"arn:aws:iam::{CONSUMER_ACCOUNT}:root"],
    )
    return str(config["ServiceName"])


def test_several_visible_services_offering_the_name_stall_naming_each_of_them(
    world: World, consumer_aws: AwsClients
) -> None:
    first = offer(world, "first", DNS_NAME)
    second = offer(world, "second", DNS_NAME)
    offer(world, "unrelated", "billing.vpce.example.com")
    want = spec(vpcId=world.consumer.vpc_id, subnetIds=world.consumer.subnet_ids)

    outcome = reconcile_endpoint(consumer_aws, OWNER, want, {}, 1)

    assert outcome.stall is not None
    assert outcome.stall.reason == "AmbiguousService"
    assert first in outcome.stall.message and second in outcome.stall.message
    assert "serviceName" in outcome.stall.message
    assert outcome.plan.steps == []


def test_a_second_pass_over_an_unchanged_endpoint_makes_no_write_and_no_sts_call(
    world: World, consumer_aws: AwsClients, aws_emulator: AwsEmulator
) -> None:
    offer(world, "orders", DNS_NAME)
    want = spec(
        vpcId=world.consumer.vpc_id,
        subnetIds=world.consumer.subnet_ids,
        allowedCidrs=["10.20.0.0/16"],
        privateDnsEnabled=False,
        tags={"team": "checkout"},
    )
    status: dict[str, Any] = {}
    for _ in range(3):
        outcome = reconcile_endpoint(consumer_aws, OWNER, want, status, 1)
        status.update({k: v for k, v in outcome.status.items() if v is not None})
        if not outcome.plan.steps and outcome.part.status == "True":
            break
    assert outcome.part.status == "True", outcome.part

    mark = aws_emulator.calls.mark()
    again = reconcile_endpoint(consumer_aws, OWNER, want, status, 1)

    assert again.plan.steps == [], again.plan.to_text()
    assert aws_emulator.calls.writes(since=mark) == []
    # Reads only of what a pass needs: the account id is only for error messages.
    assert aws_emulator.calls.select("sts", since=mark) == []


def test_a_service_name_that_does_not_exist_stalls_naming_the_account(
    world: World, consumer_aws: AwsClients
) -> None:
    want = spec(
        privateDnsName=None,
        serviceName=SERVICE,
        vpcId=world.consumer.vpc_id,
        subnetIds=world.consumer.subnet_ids,
    )

    outcome = reconcile_endpoint(consumer_aws, OWNER, want, {}, 1)

    assert outcome.stall is not None
    assert outcome.stall.reason == "ServiceNotFound"
    assert CONSUMER_ACCOUNT in outcome.stall.message
    assert SERVICE in outcome.stall.message


def test_aws_errors_other_than_the_users_are_raised_for_a_retry(
    world: World, consumer_aws: AwsClients, aws_emulator: AwsEmulator
) -> None:
    aws_emulator.faults.server_error("ec2", "DescribeVpcEndpointServices", times=5)
    want = spec(vpcId=world.consumer.vpc_id, subnetIds=world.consumer.subnet_ids)

    with pytest.raises(AwsError) as raised:
        reconcile_endpoint(consumer_aws, OWNER, want, {}, 1)

    assert raised.value.kind == "retry"
