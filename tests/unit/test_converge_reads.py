"""ConvergeReads (an object's reads kept between its passes) and single-flight shared reads."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from privatelink_operator.aws import AwsError
from privatelink_operator.ownership import Owner
from privatelink_operator.provider.actual import Reader
from privatelink_operator.provider.inventory import StableReads
from privatelink_operator.provider.plan import Step
from privatelink_operator.provider.readcache import ConvergeReads


class FakeAws:
    """Answers reads from a table and counts them (the cache's logic is under test here)."""

    def __init__(self, answers: dict[str, Any], delay: float = 0.0) -> None:
        self.answers = answers
        self.delay = delay
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def call(self, service: str, operation: str, **params: Any) -> Any:
        with self._lock:
            self.calls.append(operation)
        if self.delay:
            time.sleep(self.delay)
        answer = self.answers[operation]
        if isinstance(answer, AwsError):
            raise answer
        return answer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def step(service: str, operation: str, **params: Any) -> Step:
    return Step("r", "modify", "a write", service, operation, params)


ACTIVE = {"LoadBalancers": [{"LoadBalancerArn": "arn:lb", "State": {"Code": "active"}}]}
PROVISIONING = {"LoadBalancers": [{"LoadBalancerArn": "arn:lb", "State": {"Code": "provisioning"}}]}


def test_an_answer_is_kept_until_the_object_writes_to_its_service() -> None:
    aws = FakeAws({"describe_load_balancers": ACTIVE, "describe_subnets": {"Subnets": []}})
    reads = ConvergeReads(aws, 60.0)
    for _ in range(3):
        reads.call("elbv2", "describe_load_balancers", Names=["a"])
        reads.call("ec2", "describe_subnets", SubnetIds=["s"])
    assert aws.calls == ["describe_load_balancers", "describe_subnets"]

    reads.wrote([step("elbv2", "create_listener")])
    reads.call("elbv2", "describe_load_balancers", Names=["a"])
    reads.call("ec2", "describe_subnets", SubnetIds=["s"])

    assert aws.calls == ["describe_load_balancers", "describe_subnets", "describe_load_balancers"]


def test_what_aws_is_still_changing_is_read_every_time() -> None:
    aws = FakeAws({"describe_load_balancers": PROVISIONING})
    reads = ConvergeReads(aws, 60.0)
    reads.call("elbv2", "describe_load_balancers", Names=["a"])
    reads.call("elbv2", "describe_load_balancers", Names=["a"])
    assert len(aws.calls) == 2


@pytest.mark.parametrize(
    ("operation", "answer"),
    [
        (
            "describe_vpc_endpoint_service_configurations",
            {
                "ServiceConfigurations": [
                    {
                        "ServiceState": "Available",
                        "PrivateDnsNameConfiguration": {"State": "pendingVerification"},
                    }
                ]
            },
        ),
        (
            "describe_vpc_endpoint_service_configurations",
            {"ServiceConfigurations": [{"ServiceState": "Pending"}]},
        ),
        ("describe_certificate", {"Certificate": {"Status": "PENDING_VALIDATION"}}),
        (
            "describe_target_health",
            {"TargetHealthDescriptions": [{"TargetHealth": {"State": "initial"}}]},
        ),
        (
            "describe_vpc_endpoint_connections",
            {"VpcEndpointConnections": [{"VpcEndpointState": "pendingAcceptance"}]},
        ),
    ],
)
def test_transitional_states_are_not_kept(operation: str, answer: dict[str, Any]) -> None:
    aws = FakeAws({operation: answer})
    reads = ConvergeReads(aws, 60.0)
    reads.call("x", operation)
    reads.call("x", operation)
    assert len(aws.calls) == 2


def test_not_found_is_kept_like_an_answer_until_a_write_to_the_service() -> None:
    missing = AwsError("not_found", "LoadBalancerNotFound", "no", "DescribeLoadBalancers")
    aws = FakeAws({"describe_load_balancers": missing})
    reads = ConvergeReads(aws, 60.0)
    for _ in range(2):
        with pytest.raises(AwsError):
            reads.call("elbv2", "describe_load_balancers", Names=["a"])
    assert len(aws.calls) == 1
    reads.wrote([step("elbv2", "create_load_balancer")])
    with pytest.raises(AwsError):
        reads.call("elbv2", "describe_load_balancers", Names=["a"])
    assert len(aws.calls) == 2


def test_other_errors_are_never_kept() -> None:
    throttled = AwsError("throttled", "Throttling", "slow down", "DescribeLoadBalancers")
    aws = FakeAws({"describe_load_balancers": throttled})
    reads = ConvergeReads(aws, 60.0)
    for _ in range(2):
        with pytest.raises(AwsError):
            reads.call("elbv2", "describe_load_balancers", Names=["a"])
    assert len(aws.calls) == 2


def test_a_narrow_write_drops_only_the_reads_it_changes() -> None:
    aws = FakeAws(
        {
            "describe_vpc_endpoint_service_configurations": {"ServiceConfigurations": []},
            "describe_vpc_endpoint_service_permissions": {"AllowedPrincipals": []},
        }
    )
    reads = ConvergeReads(aws, 60.0)
    reads.call("ec2", "describe_vpc_endpoint_service_configurations")
    reads.call("ec2", "describe_vpc_endpoint_service_permissions", ServiceId="vpce-svc-1")
    reads.wrote([step("ec2", "modify_vpc_endpoint_service_permissions", ServiceId="vpce-svc-1")])
    reads.call("ec2", "describe_vpc_endpoint_service_configurations")
    reads.call("ec2", "describe_vpc_endpoint_service_permissions", ServiceId="vpce-svc-1")
    assert aws.calls.count("describe_vpc_endpoint_service_permissions") == 2
    assert aws.calls.count("describe_vpc_endpoint_service_configurations") == 1


def test_a_record_the_object_wrote_is_known_without_reading_route53() -> None:
    aws = FakeAws({})
    reads = ConvergeReads(aws, 60.0)
    reads.wrote(
        [
            step(
                "route53",
                "change_resource_record_sets",
                HostedZoneId="/hostedzone/Z1",
                ChangeBatch={
                    "Changes": [
                        {
                            "Action": "UPSERT",
                            "ResourceRecordSet": {
                                "Name": "_abc.orders.example.com",
                                "Type": "TXT",
                                "TTL": 300,
                                "ResourceRecords": [{"Value": '"v=1"'}],
                            },
                        }
                    ]
                },
            )
        ]
    )
    reader = Reader(reads, Owner("c", "PrivateLinkService", "ns", "n", "uid"))
    assert reader.record_values("Z1", "_abc.orders.example.com", "TXT") == ['"v=1"']
    assert aws.calls == []


def test_kept_answers_expire() -> None:
    clock = Clock()
    aws = FakeAws({"describe_load_balancers": ACTIVE})
    reads = ConvergeReads(aws, 10.0, clock)
    reads.call("elbv2", "describe_load_balancers", Names=["a"])
    clock.now += 11
    reads.call("elbv2", "describe_load_balancers", Names=["a"])
    assert len(aws.calls) == 2


def test_writes_never_go_through_the_cache() -> None:
    with pytest.raises(RuntimeError):
        ConvergeReads(FakeAws({}), 60.0).call("elbv2", "create_load_balancer", Name="a")


def test_many_passes_missing_a_shared_answer_at_once_read_aws_once() -> None:
    aws = FakeAws({"describe_subnets": {"Subnets": [{"VpcId": "vpc-1"}]}}, delay=0.05)
    stable = StableReads(aws, 30.0, time.monotonic)

    def read() -> None:
        stable.call("ec2", "describe_subnets", SubnetIds=["s"])

    threads = [threading.Thread(target=read) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert aws.calls == ["describe_subnets"]
