"""Deletion, pure: AWS's order, and a batch call's ``Unsuccessful`` items are failures."""

from __future__ import annotations

from typing import Any

import pytest
from provider_helpers import DNS_NAME, KIND, NAME, NAMESPACE, parse

from privatelink_operator.aws import AwsError
from privatelink_operator.execute import execute
from privatelink_operator.ownership import Owner
from privatelink_operator.provider.actual import (
    ActualCertificate,
    ActualEndpointService,
    ActualListener,
    ActualLoadBalancer,
    ActualTargetGroup,
    HostedZone,
    ProviderActual,
)
from privatelink_operator.provider.desired import desired_service
from privatelink_operator.provider.diff import plan_delete

OWNER = Owner("default", KIND, NAMESPACE, NAME, "uid-1")
SPEC = {
    "privateDnsName": DNS_NAME,
    "subnetIds": ["subnet-0a", "subnet-0b"],
    "listener": {"requestCertificate": True},
    "backend": {"port": 8443, "targets": [{"id": "10.0.1.10"}]},
}
CHALLENGE = {"Type": "TXT", "Name": "_abc", "Value": "vpce:xyz", "State": "verified"}


def everything(connection_state: str = "available") -> ProviderActual:
    return ProviderActual(
        certificate=ActualCertificate(
            "arn:cert", DNS_NAME, "ISSUED", [], [], ["arn:lb"], owned=True
        ),
        load_balancer=ActualLoadBalancer("arn:lb", "plo-x", "dns", "active", frozenset(), (), {}),
        target_groups=[
            ActualTargetGroup("arn:tg", "plo-x-1", "TLS", 8443, "ip", "vpc-1", {}, [], {})
        ],
        listener=ActualListener("arn:listener", 443, "TLS", "arn:cert", "p", "h2", "arn:tg"),
        endpoint_service=ActualEndpointService(
            "vpce-svc-1",
            "com.amazonaws.vpce.us-east-1.vpce-svc-1",
            "Available",
            True,
            DNS_NAME,
            CHALLENGE,
            frozenset({"ipv4"}),
            frozenset(),
            ["arn:lb"],
            {},
            connections=[
                {
                    "VpcEndpointId": "vpce-1",
                    "VpcEndpointOwner": "222222222222",
                    "VpcEndpointState": connection_state,
                }
            ],
        ),
        zone=HostedZone("Z1", "example.com"),
        txt_values=['"vpce:xyz"'],
        validation_cname={"Name": "_v.orders", "Type": "CNAME", "Value": "_x.acm"},
    )


def steps_of(actual: ProviderActual) -> list[tuple[str, str]]:
    desired = desired_service(parse(SPEC), OWNER, "vpc-1")
    return [(s.resource, s.operation) for s in plan_delete(desired, actual).steps]


def test_deletion_follows_awss_order_rejecting_live_connections_first() -> None:
    assert steps_of(everything()) == [
        # The TXT record first: once the service is gone, nothing says which record was ours.
        ("txt-record", "change_resource_record_sets"),
        ("connections", "reject_vpc_endpoint_connections"),
        ("endpoint-service", "delete_vpc_endpoint_service_configurations"),
        ("listener", "delete_listener"),
        ("load-balancer", "delete_load_balancer"),
        ("target-group", "delete_target_group"),
        ("validation-record", "change_resource_record_sets"),
        ("certificate", "delete_certificate"),
    ]


def test_deletion_does_not_reject_connections_that_are_already_gone() -> None:
    assert steps_of(everything("rejected"))[1] == (
        "endpoint-service",
        "delete_vpc_endpoint_service_configurations",
    )


def test_a_given_certificate_and_a_txt_record_with_another_value_are_never_deleted() -> None:
    actual = everything()
    assert actual.certificate is not None
    actual.certificate.owned = False
    actual.txt_values = ['"vpce:someone-else"']

    resources = [r for r, _ in steps_of(actual)]

    assert "certificate" not in resources
    assert "txt-record" not in resources
    assert "validation-record" not in resources


class _Batch:
    """An AwsClients stand-in whose batch call answers 200 with ``Unsuccessful`` items."""

    def __init__(self, unsuccessful: list[dict[str, Any]]) -> None:
        self.unsuccessful = unsuccessful
        self.calls: list[str] = []

    def call(self, service: str, operation: str, **params: Any) -> Any:
        self.calls.append(operation)
        return {"Unsuccessful": self.unsuccessful}


def test_unsuccessful_items_of_a_batch_call_stop_the_deletion_as_a_retryable_conflict() -> None:
    desired = desired_service(parse(SPEC), OWNER, "vpc-1")
    plan = plan_delete(desired, everything())
    aws = _Batch(
        [
            {
                "ResourceId": "vpce-1",
                "Error": {"Code": "InvalidState", "Message": "endpoint is in a bad state"},
            }
        ]
    )

    with pytest.raises(AwsError) as failure:
        execute(aws, plan, {})  # type: ignore[arg-type]

    assert failure.value.kind == "conflict"
    assert failure.value.code == "InvalidState"
    assert "vpce-1" in failure.value.message
    assert aws.calls == [
        "change_resource_record_sets",  # the TXT record goes first
        "reject_vpc_endpoint_connections",
    ], "nothing after the failed step"


def test_an_unsuccessful_item_that_is_already_gone_counts_as_done() -> None:
    desired = desired_service(parse(SPEC), OWNER, "vpc-1")
    plan = plan_delete(desired, everything())
    aws = _Batch([{"ResourceId": "vpce-1", "Error": {"Code": "InvalidVpcEndpoint.NotFound"}}])

    done = execute(aws, plan, {})  # type: ignore[arg-type]

    assert len(done) == len(plan.steps)
