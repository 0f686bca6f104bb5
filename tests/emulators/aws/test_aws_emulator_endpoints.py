"""PrivateLink endpoints and connections behave as on AWS (two accounts in one emulator)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from privatelink_operator.testing.aws import CONSUMER_ACCOUNT, PROVIDER_ACCOUNT

CONSUMER_ROOT = f"arn:aws:iam::{CONSUMER_ACCOUNT}:root"


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def test_endpoint_service_ids_have_17_hex_digits_and_aws_service_names(world: Any) -> None:
    config = world.service()
    assert re.fullmatch(r"vpce-svc-[0-9a-f]{17}", config["ServiceId"])
    assert config["ServiceName"] == f"com.amazonaws.vpce.us-east-1.{config['ServiceId']}"
    assert config["BaseEndpointDnsNames"] == [f"{config['ServiceId']}.us-east-1.vpce.amazonaws.com"]


def test_service_is_invisible_to_an_account_that_is_not_allowed(world: Any) -> None:
    config = world.service()
    with pytest.raises(ClientError) as excinfo:
        world.consumer_ec2.describe_vpc_endpoint_services(ServiceNames=[config["ServiceName"]])
    assert error_code(excinfo) == "InvalidServiceName"
    listed = world.consumer_ec2.describe_vpc_endpoint_services()["ServiceNames"]
    assert config["ServiceName"] not in listed


def test_allowed_account_sees_the_service_with_private_dns_name_and_verification_state(
    world: Any,
) -> None:
    config = world.service(private_dns_name="vpce.example.com", allow=[CONSUMER_ROOT])
    details = world.consumer_ec2.describe_vpc_endpoint_services(
        ServiceNames=[config["ServiceName"]]
    )["ServiceDetails"]
    assert len(details) == 1
    assert details[0]["Owner"] == PROVIDER_ACCOUNT
    assert details[0]["AcceptanceRequired"] is True
    assert details[0]["PrivateDnsName"] == "vpce.example.com"
    assert details[0]["PrivateDnsNameVerificationState"] == "pendingVerification"


def test_wildcard_principal_opens_the_service_to_every_account(world: Any) -> None:
    config = world.service(allow=["*"])
    names = world.consumer_ec2.describe_vpc_endpoint_services()["ServiceNames"]
    assert config["ServiceName"] in names


def test_removing_the_principal_hides_the_service_again(world: Any) -> None:
    config = world.service(allow=[CONSUMER_ROOT])
    world.ec2.modify_vpc_endpoint_service_permissions(
        ServiceId=config["ServiceId"], RemoveAllowedPrincipals=[CONSUMER_ROOT]
    )
    with pytest.raises(ClientError) as excinfo:
        world.endpoint(config["ServiceName"])
    assert error_code(excinfo) == "InvalidServiceName"


def test_principal_arns_with_paths_are_refused(world: Any) -> None:
    config = world.service()
    with pytest.raises(ClientError) as excinfo:
        world.ec2.modify_vpc_endpoint_service_permissions(
            ServiceId=config["ServiceId"],
            AddAllowedPrincipals=[f"arn:aws:iam::{CONSUMER_ACCOUNT}:role/team/deployer"],
        )
    assert error_code(excinfo) == "InvalidPrincipal"


def test_create_endpoint_to_a_nonexistent_service_fails_with_invalid_service_name(
    world: Any,
) -> None:
    with pytest.raises(ClientError) as excinfo:
        world.endpoint("com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0")
    assert error_code(excinfo) == "InvalidServiceName"


def test_create_endpoint_to_a_service_the_account_is_not_allowed_to_see_fails(
    world: Any,
) -> None:
    config = world.service()
    with pytest.raises(ClientError) as excinfo:
        world.endpoint(config["ServiceName"])
    assert error_code(excinfo) == "InvalidServiceName"


def test_endpoint_to_service_requiring_acceptance_waits_in_pending_acceptance(
    world: Any,
) -> None:
    config = world.service(acceptance=True, allow=[CONSUMER_ROOT])
    endpoint = world.endpoint(config["ServiceName"])
    assert endpoint["State"] == "pendingAcceptance"
    assert world.endpoint_state(endpoint["VpcEndpointId"]) == "pendingAcceptance"
    connections = world.ec2.describe_vpc_endpoint_connections()["VpcEndpointConnections"]
    assert [
        (c["VpcEndpointId"], c["VpcEndpointOwner"], c["VpcEndpointState"]) for c in connections
    ] == [(endpoint["VpcEndpointId"], CONSUMER_ACCOUNT, "pendingAcceptance")]


def test_accepting_the_connection_makes_the_endpoint_pending_then_available(
    world: Any, aws_emulator: Any, eventually: Any
) -> None:
    aws_emulator.set_delays(endpoint=0.3)
    config = world.service(acceptance=True, allow=[CONSUMER_ROOT])
    endpoint = world.endpoint(config["ServiceName"])
    answer = world.ec2.accept_vpc_endpoint_connections(
        ServiceId=config["ServiceId"], VpcEndpointIds=[endpoint["VpcEndpointId"]]
    )
    assert answer["Unsuccessful"] == []
    assert world.endpoint_state(endpoint["VpcEndpointId"]) == "pending"
    eventually(lambda: world.endpoint_state(endpoint["VpcEndpointId"]) == "available")


def test_endpoint_without_acceptance_goes_pending_then_available(
    world: Any, aws_emulator: Any, eventually: Any
) -> None:
    aws_emulator.set_delays(endpoint=0.3)
    config = world.service(acceptance=False, allow=[CONSUMER_ROOT])
    endpoint = world.endpoint(config["ServiceName"])
    assert endpoint["State"] == "pending"
    eventually(lambda: world.endpoint_state(endpoint["VpcEndpointId"]) == "available")


def test_new_endpoint_is_pending_before_it_shows_pending_acceptance(
    world: Any, aws_emulator: Any, eventually: Any
) -> None:
    aws_emulator.set_delays(acceptance=0.3)
    config = world.service(acceptance=True, allow=[CONSUMER_ROOT])
    endpoint = world.endpoint(config["ServiceName"])
    assert endpoint["State"] == "pending"
    eventually(lambda: world.endpoint_state(endpoint["VpcEndpointId"]) == "pendingAcceptance")


def test_rejected_connection_leaves_the_endpoint_rejected_with_last_error(world: Any) -> None:
    config = world.service(acceptance=True, allow=[CONSUMER_ROOT])
    endpoint = world.endpoint(config["ServiceName"])
    answer = world.ec2.reject_vpc_endpoint_connections(
        ServiceId=config["ServiceId"], VpcEndpointIds=[endpoint["VpcEndpointId"]]
    )
    assert answer["Unsuccessful"] == []
    described = world.consumer_ec2.describe_vpc_endpoints(
        VpcEndpointIds=[endpoint["VpcEndpointId"]]
    )["VpcEndpoints"][0]
    assert described["State"] == "rejected"
    assert described["LastError"]["Code"]


def test_accepting_an_unknown_or_already_available_endpoint_is_reported_unsuccessful(
    world: Any,
) -> None:
    config = world.service(acceptance=False, allow=[CONSUMER_ROOT])
    endpoint = world.endpoint(config["ServiceName"])
    answer = world.ec2.accept_vpc_endpoint_connections(
        ServiceId=config["ServiceId"],
        VpcEndpointIds=[endpoint["VpcEndpointId"], "vpce-0123456789abcdef0"],
    )
    codes = {u["ResourceId"]: u["Error"]["Code"] for u in answer["Unsuccessful"]}
    assert codes == {
        endpoint["VpcEndpointId"]: "InvalidState",
        "vpce-0123456789abcdef0": "InvalidVpcEndpointId.NotFound",
    }


def test_connection_filters_select_by_state_and_owner(world: Any) -> None:
    config = world.service(acceptance=True, allow=[CONSUMER_ROOT])
    endpoint = world.endpoint(config["ServiceName"])
    pending = world.ec2.describe_vpc_endpoint_connections(
        Filters=[{"Name": "vpc-endpoint-state", "Values": ["pendingAcceptance"]}]
    )["VpcEndpointConnections"]
    assert [c["VpcEndpointId"] for c in pending] == [endpoint["VpcEndpointId"]]
    other_owner = world.ec2.describe_vpc_endpoint_connections(
        Filters=[{"Name": "vpc-endpoint-owner", "Values": ["333333333333"]}]
    )["VpcEndpointConnections"]
    assert other_owner == []


def test_deleting_a_service_with_live_connections_is_refused_in_unsuccessful(world: Any) -> None:
    config = world.service(acceptance=True, allow=[CONSUMER_ROOT])
    world.endpoint(config["ServiceName"])
    answer = world.ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[config["ServiceId"]])
    assert [u["Error"]["Code"] for u in answer["Unsuccessful"]] == [
        "ExistingVpcEndpointConnections"
    ]
    assert world.describe_service(config["ServiceId"])["ServiceId"] == config["ServiceId"]


def test_service_can_be_deleted_once_its_connections_are_rejected(world: Any) -> None:
    config = world.service(acceptance=True, allow=[CONSUMER_ROOT])
    endpoint = world.endpoint(config["ServiceName"])
    world.ec2.reject_vpc_endpoint_connections(
        ServiceId=config["ServiceId"], VpcEndpointIds=[endpoint["VpcEndpointId"]]
    )
    answer = world.ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[config["ServiceId"]])
    assert answer["Unsuccessful"] == []
    with pytest.raises(ClientError) as excinfo:
        world.describe_service(config["ServiceId"])
    assert error_code(excinfo) == "InvalidVpcEndpointServiceId.NotFound"


def test_deleted_endpoint_is_deleting_then_gone(
    world: Any, aws_emulator: Any, eventually: Any
) -> None:
    aws_emulator.set_delays(endpoint_deletion=0.3)
    config = world.service(acceptance=False, allow=[CONSUMER_ROOT])
    endpoint_id = world.endpoint(config["ServiceName"])["VpcEndpointId"]
    answer = world.consumer_ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint_id])
    assert answer["Unsuccessful"] == []
    assert world.endpoint_state(endpoint_id) == "deleting"

    def gone() -> bool:
        listed = world.consumer_ec2.describe_vpc_endpoints()["VpcEndpoints"]
        return endpoint_id not in [e["VpcEndpointId"] for e in listed]

    eventually(gone)
    with pytest.raises(ClientError) as excinfo:
        world.consumer_ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])
    assert error_code(excinfo) == "InvalidVpcEndpointId.NotFound"


def test_deleting_an_unknown_endpoint_is_reported_unsuccessful(world: Any) -> None:
    answer = world.consumer_ec2.delete_vpc_endpoints(VpcEndpointIds=["vpce-0123456789abcdef0"])
    assert [u["ResourceId"] for u in answer["Unsuccessful"]] == ["vpce-0123456789abcdef0"]


def test_endpoint_dns_entries_name_the_service_id(world: Any) -> None:
    config = world.service(acceptance=False, allow=[CONSUMER_ROOT])
    endpoint = world.endpoint(config["ServiceName"])
    regional = endpoint["DnsEntries"][0]["DnsName"]
    assert regional.startswith(endpoint["VpcEndpointId"] + "-")
    assert regional.endswith(f".{config['ServiceId']}.us-east-1.vpce.amazonaws.com")
    assert re.fullmatch(r"vpce-[0-9a-f]{17}", endpoint["VpcEndpointId"])


def test_create_endpoint_with_the_same_client_token_returns_the_same_endpoint(world: Any) -> None:
    config = world.service(acceptance=False, allow=[CONSUMER_ROOT])
    vpc, subnets = world.consumer_network()
    kwargs = {
        "VpcEndpointType": "Interface",
        "VpcId": vpc,
        "SubnetIds": subnets,
        "ServiceName": config["ServiceName"],
        "ClientToken": "uid-1234-create",
    }
    first = world.consumer_ec2.create_vpc_endpoint(**kwargs)["VpcEndpoint"]
    second = world.consumer_ec2.create_vpc_endpoint(**kwargs)["VpcEndpoint"]
    assert first["VpcEndpointId"] == second["VpcEndpointId"]
    assert len(world.consumer_ec2.describe_vpc_endpoints()["VpcEndpoints"]) == 1


def test_endpoint_tag_filters_are_honoured(world: Any) -> None:
    config = world.service(acceptance=False, allow=[CONSUMER_ROOT])
    tagged = world.endpoint(
        config["ServiceName"],
        TagSpecifications=[
            {"ResourceType": "vpc-endpoint", "Tags": [{"Key": "cluster", "Value": "blue"}]}
        ],
    )
    world.endpoint(config["ServiceName"])
    found = world.consumer_ec2.describe_vpc_endpoints(
        Filters=[{"Name": "tag:cluster", "Values": ["blue"]}]
    )["VpcEndpoints"]
    assert [e["VpcEndpointId"] for e in found] == [tagged["VpcEndpointId"]]
    by_state = world.consumer_ec2.describe_vpc_endpoints(
        Filters=[{"Name": "vpc-endpoint-state", "Values": ["pendingAcceptance"]}]
    )["VpcEndpoints"]
    assert by_state == []


def test_service_configuration_filters_and_describe_tags_see_endpoint_services(
    world: Any,
) -> None:
    mine = world.service(tags={"cluster": "blue", "role": "orders"})
    world.service(tags={"cluster": "green"})
    found = world.ec2.describe_vpc_endpoint_service_configurations(
        Filters=[{"Name": "tag:cluster", "Values": ["blue"]}]
    )["ServiceConfigurations"]
    assert [c["ServiceId"] for c in found] == [mine["ServiceId"]]
    by_name = world.ec2.describe_vpc_endpoint_service_configurations(
        Filters=[{"Name": "service-name", "Values": [mine["ServiceName"]]}]
    )["ServiceConfigurations"]
    assert [c["ServiceId"] for c in by_name] == [mine["ServiceId"]]
    tags = world.ec2.describe_tags(
        Filters=[
            {"Name": "resource-type", "Values": ["vpc-endpoint-service"]},
            {"Name": "key", "Values": ["role"]},
        ]
    )["Tags"]
    assert [(t["ResourceId"], t["Value"]) for t in tags] == [(mine["ServiceId"], "orders")]


def test_supported_ip_address_types_are_kept_and_enforced_for_endpoints(world: Any) -> None:
    config = world.service(acceptance=False, allow=[CONSUMER_ROOT])
    assert config["SupportedIpAddressTypes"] == ["ipv4"]
    with pytest.raises(ClientError) as excinfo:
        world.endpoint(config["ServiceName"], IpAddressType="ipv6")
    assert error_code(excinfo) == "InvalidParameter"


def test_accounts_do_not_see_each_others_endpoints(world: Any) -> None:
    config = world.service(acceptance=False, allow=[CONSUMER_ROOT])
    world.endpoint(config["ServiceName"])
    assert world.ec2.describe_vpc_endpoints()["VpcEndpoints"] == []


def test_tagging_api_lists_endpoint_services_and_endpoints_by_tag(
    world: Any, aws_emulator: Any
) -> None:
    config = world.service(acceptance=False, allow=[CONSUMER_ROOT], tags={"cluster": "blue"})
    world.service(tags={"cluster": "green"})
    tagging = aws_emulator.client("resourcegroupstaggingapi", PROVIDER_ACCOUNT)
    found = tagging.get_resources(
        TagFilters=[{"Key": "cluster", "Values": ["blue"]}],
        ResourceTypeFilters=["ec2:vpc-endpoint-service"],
    )["ResourceTagMappingList"]
    assert [r["ResourceARN"] for r in found] == [
        f"arn:aws:ec2:us-east-1:{PROVIDER_ACCOUNT}:vpc-endpoint-service/{config['ServiceId']}"
    ]
    endpoint = world.endpoint(
        config["ServiceName"],
        TagSpecifications=[
            {"ResourceType": "vpc-endpoint", "Tags": [{"Key": "cluster", "Value": "blue"}]}
        ],
    )
    consumer_tagging = aws_emulator.client("resourcegroupstaggingapi", CONSUMER_ACCOUNT)
    endpoints = consumer_tagging.get_resources(ResourceTypeFilters=["ec2:vpc-endpoint"])[
        "ResourceTagMappingList"
    ]
    assert [r["ResourceARN"].rsplit("/", 1)[1] for r in endpoints] == [endpoint["VpcEndpointId"]]
