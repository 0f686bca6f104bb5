"""The consumer's plan is data: spec + what AWS holds -> the calls to make, in order (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from privatelink_operator.api import PrivateLinkEndpointSpec
from privatelink_operator.consumer.plan import (
    ActualEndpoint,
    ActualGroup,
    ConsumerActual,
    ServiceInfo,
    plan_endpoint,
    plan_endpoint_delete,
)
from privatelink_operator.ownership import (
    ROLE_ENDPOINT,
    ROLE_SECURITY_GROUP,
    TAG_ROLE,
    TAG_UID,
    Owner,
    tag_dict,
)
from privatelink_operator.provider.plan import Plan, Ref, Step

SERVICE = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
OTHER_SERVICE = "com.amazonaws.vpce.us-east-1.vpce-svc-0fedcba9876543210"
DNS_NAME = "orders.vpce.example.com"
OWNER = Owner("default", "PrivateLinkEndpoint", "checkout", "orders", "7d1e5a2c-0000-4000-8000-1")
OTHER_OWNER = Owner(
    "default", "PrivateLinkEndpoint", "checkout", "orders", "7d1e5a2c-0000-4000-8000-2"
)


def spec(**change: Any) -> PrivateLinkEndpointSpec:
    base: dict[str, Any] = {
        "privateDnsName": DNS_NAME,
        "vpcId": "vpc-0c0ffee",
        "subnetIds": ["subnet-c1", "subnet-c2"],
        "probe": {"port": 443},
    }
    base.update(change)
    return PrivateLinkEndpointSpec.model_validate(base)


def service(verification: str | None = "verified", dns_name: str | None = DNS_NAME) -> ServiceInfo:
    return ServiceInfo(
        name=SERVICE,
        id="vpce-svc-0123456789abcdef0",
        private_dns_name=dns_name,
        verification_state=verification,
        acceptance_required=True,
    )


def endpoint(
    *,
    id: str = "vpce-0aaa",
    state: str = "available",
    service_name: str = SERVICE,
    subnets: tuple[str, ...] = ("subnet-c1", "subnet-c2"),
    groups: tuple[str, ...] = ("sg-user1",),
    private_dns: bool = True,
    ip_type: str = "ipv4",
    tags: dict[str, str] | None = None,
) -> ActualEndpoint:
    return ActualEndpoint(
        id=id,
        state=state,
        service_name=service_name,
        vpc_id="vpc-0c0ffee",
        subnets=frozenset(subnets),
        security_groups=frozenset(groups),
        private_dns_enabled=private_dns,
        ip_address_type=ip_type,
        dns_entries=[],
        last_error=None,
        tags=OWNER.tags(ROLE_ENDPOINT) if tags is None else tags,
    )


def group(rules: set[tuple[int, str]], id: str = "sg-owned") -> ActualGroup:
    return ActualGroup(id, frozenset(rules), OWNER.tags(ROLE_SECURITY_GROUP))


def calls(plan: Plan) -> list[str]:
    return [f"{s.resource}:{s.action}" for s in plan.steps]


def only(plan: Plan, operation: str) -> Step:
    found = [s for s in plan.steps if s.operation == operation]
    assert len(found) == 1, plan.to_text()
    return found[0]


def ingress(step: Step) -> set[tuple[str, int, int, str]]:
    """(protocol, from, to, cidr) of every range an authorize/revoke step names."""
    result = set()
    for perm in step.params["IpPermissions"]:
        ranges = [r["CidrIp"] for r in perm.get("IpRanges", [])]
        ranges += [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", [])]
        for cidr in ranges:
            result.add((perm["IpProtocol"], perm["FromPort"], perm["ToPort"], cidr))
    return result


# -- security group rules -------------------------------------------------------------------------


def test_allowed_cidrs_create_an_owned_group_opened_on_the_probe_port_then_the_endpoint_in_it() -> (
    None
):
    want = spec(allowedCidrs=["10.20.0.0/16", "fd00:20::/56"], probe={"port": 8443})
    plan = plan_endpoint(want, OWNER, ConsumerActual(service=service()))

    assert calls(plan) == [
        "security-group:create",
        "security-group:authorize",
        "endpoint:create",
    ]
    create_group = only(plan, "create_security_group")
    assert create_group.params["VpcId"] == "vpc-0c0ffee"
    group_tags = tag_dict(create_group.params["TagSpecifications"][0]["Tags"])
    assert group_tags[TAG_UID] == OWNER.uid
    assert group_tags[TAG_ROLE] == ROLE_SECURITY_GROUP
    authorize = only(plan, "authorize_security_group_ingress")
    assert authorize.params["GroupId"] == Ref("security_group_id")
    assert ingress(authorize) == {
        ("tcp", 8443, 8443, "10.20.0.0/16"),
        ("tcp", 8443, 8443, "fd00:20::/56"),
    }
    create = only(plan, "create_vpc_endpoint")
    assert create.params["SecurityGroupIds"] == [Ref("security_group_id")]


def test_changed_allowed_cidrs_authorize_the_new_and_revoke_the_dropped_ones_only() -> None:
    want = spec(allowedCidrs=["10.20.0.0/16", "10.30.0.0/16"])
    actual = ConsumerActual(
        service=service(),
        endpoint=endpoint(groups=("sg-owned",)),
        group=group({(443, "10.20.0.0/16"), (443, "10.99.0.0/16")}),
    )
    plan = plan_endpoint(want, OWNER, actual)

    assert calls(plan) == ["security-group:authorize", "security-group:revoke"]
    assert only(plan, "authorize_security_group_ingress").params["GroupId"] == "sg-owned"
    assert ingress(only(plan, "authorize_security_group_ingress")) == {
        ("tcp", 443, 443, "10.30.0.0/16")
    }
    assert ingress(only(plan, "revoke_security_group_ingress")) == {
        ("tcp", 443, 443, "10.99.0.0/16")
    }


def test_a_new_probe_port_moves_every_rule_to_that_port() -> None:
    want = spec(allowedCidrs=["10.20.0.0/16"], probe={"port": 8443})
    actual = ConsumerActual(
        service=service(),
        endpoint=endpoint(groups=("sg-owned",)),
        group=group({(443, "10.20.0.0/16")}),
    )
    plan = plan_endpoint(want, OWNER, actual)

    assert ingress(only(plan, "authorize_security_group_ingress")) == {
        ("tcp", 8443, 8443, "10.20.0.0/16")
    }
    assert ingress(only(plan, "revoke_security_group_ingress")) == {
        ("tcp", 443, 443, "10.20.0.0/16")
    }


def test_an_endpoint_and_group_that_match_the_spec_plan_no_call() -> None:
    want = spec(allowedCidrs=["10.20.0.0/16"])
    actual = ConsumerActual(
        service=service(),
        endpoint=endpoint(groups=("sg-owned",)),
        group=group({(443, "10.20.0.0/16")}),
    )
    plan = plan_endpoint(want, OWNER, actual)

    assert plan.steps == [], plan.to_text()


def test_adding_allowed_cidrs_to_an_existing_endpoint_puts_it_into_the_new_owned_group() -> None:
    want = spec(allowedCidrs=["10.20.0.0/16"])
    actual = ConsumerActual(service=service(), endpoint=endpoint(groups=("sg-default",)))
    plan = plan_endpoint(want, OWNER, actual)

    assert calls(plan) == [
        "security-group:create",
        "security-group:authorize",
        "endpoint:modify",
    ]
    modify = only(plan, "modify_vpc_endpoint")
    assert modify.params["AddSecurityGroupIds"] == [Ref("security_group_id")]
    assert modify.params["RemoveSecurityGroupIds"] == ["sg-default"]


def test_dropping_allowed_cidrs_for_own_groups_detaches_and_then_deletes_the_owned_group() -> None:
    want = spec(securityGroupIds=["sg-user1"])
    attached = ConsumerActual(
        service=service(),
        endpoint=endpoint(groups=("sg-owned",)),
        group=group({(443, "10.20.0.0/16")}),
    )
    first = plan_endpoint(want, OWNER, attached)
    assert calls(first) == ["endpoint:modify"]
    assert only(first, "modify_vpc_endpoint").params["AddSecurityGroupIds"] == ["sg-user1"]
    assert only(first, "modify_vpc_endpoint").params["RemoveSecurityGroupIds"] == ["sg-owned"]

    detached = ConsumerActual(
        service=service(),
        endpoint=endpoint(groups=("sg-user1",)),
        group=group({(443, "10.20.0.0/16")}),
    )
    second = plan_endpoint(want, OWNER, detached)
    assert calls(second) == ["security-group:delete"]
    assert only(second, "delete_security_group").params == {"GroupId": "sg-owned"}


# -- private DNS ----------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["pendingVerification", "failed", None])
def test_private_dns_is_not_requested_while_the_services_name_is_unverified(
    state: str | None,
) -> None:
    plan = plan_endpoint(spec(), OWNER, ConsumerActual(service=service(state)))

    assert only(plan, "create_vpc_endpoint").params["PrivateDnsEnabled"] is False


def test_private_dns_is_requested_on_create_when_the_name_is_verified() -> None:
    plan = plan_endpoint(spec(), OWNER, ConsumerActual(service=service("verified")))

    assert only(plan, "create_vpc_endpoint").params["PrivateDnsEnabled"] is True


def test_private_dns_is_enabled_on_the_available_endpoint_once_the_name_is_verified() -> None:
    actual = ConsumerActual(service=service("verified"), endpoint=endpoint(private_dns=False))
    plan = plan_endpoint(spec(), OWNER, actual)

    assert calls(plan) == ["endpoint:modify"]
    assert only(plan, "modify_vpc_endpoint").params == {
        "VpcEndpointId": "vpce-0aaa",
        "PrivateDnsEnabled": True,
    }


@pytest.mark.parametrize("state", ["pendingAcceptance", "pending", "rejected"])
def test_private_dns_is_not_modified_before_the_endpoint_is_available(state: str) -> None:
    actual = ConsumerActual(
        service=service("verified"), endpoint=endpoint(state=state, private_dns=False)
    )
    plan = plan_endpoint(spec(), OWNER, actual)

    assert plan.steps == [], plan.to_text()


def test_private_dns_disabled_in_the_spec_is_never_requested_and_turned_off_if_on() -> None:
    want = spec(privateDnsEnabled=False)
    created = plan_endpoint(want, OWNER, ConsumerActual(service=service("verified")))
    assert only(created, "create_vpc_endpoint").params["PrivateDnsEnabled"] is False

    actual = ConsumerActual(service=service("verified"), endpoint=endpoint(private_dns=True))
    modified = plan_endpoint(want, OWNER, actual)
    assert only(modified, "modify_vpc_endpoint").params["PrivateDnsEnabled"] is False


# -- the endpoint ---------------------------------------------------------------------------------


def test_a_new_endpoint_carries_every_setting_an_idempotency_token_and_ownership_tags() -> None:
    want = spec(
        securityGroupIds=["sg-user1", "sg-user2"],
        ipAddressType="dualstack",
        serviceRegion="us-west-2",
        tags={"team": "checkout"},
    )
    plan = plan_endpoint(want, OWNER, ConsumerActual(service=service()))

    params = only(plan, "create_vpc_endpoint").params
    assert params["VpcEndpointType"] == "Interface"
    assert params["ServiceName"] == SERVICE
    assert params["VpcId"] == "vpc-0c0ffee"
    assert params["SubnetIds"] == ["subnet-c1", "subnet-c2"]
    assert sorted(params["SecurityGroupIds"]) == ["sg-user1", "sg-user2"]
    assert params["IpAddressType"] == "dualstack"
    assert params["ServiceRegion"] == "us-west-2"
    tags = tag_dict(params["TagSpecifications"][0]["Tags"])
    assert params["TagSpecifications"][0]["ResourceType"] == "vpc-endpoint"
    assert tags["team"] == "checkout"
    assert tags[TAG_UID] == OWNER.uid
    assert tags[TAG_ROLE] == ROLE_ENDPOINT


def test_the_client_token_is_stable_for_one_object_and_differs_between_objects() -> None:
    def token(owner: Owner) -> str:
        plan = plan_endpoint(spec(), owner, ConsumerActual(service=service()))
        return str(only(plan, "create_vpc_endpoint").params["ClientToken"])

    assert token(OWNER) == token(OWNER)
    assert token(OWNER) != token(OTHER_OWNER)
    assert len(token(OWNER)) <= 64


def test_changed_subnets_add_and_remove_exactly_the_difference() -> None:
    actual = ConsumerActual(
        service=service(), endpoint=endpoint(subnets=("subnet-c1", "subnet-c2"))
    )
    plan = plan_endpoint(spec(subnetIds=["subnet-c2", "subnet-c3"]), OWNER, actual)

    assert only(plan, "modify_vpc_endpoint").params == {
        "VpcEndpointId": "vpce-0aaa",
        "AddSubnetIds": ["subnet-c3"],
        "RemoveSubnetIds": ["subnet-c1"],
    }


def test_changed_security_groups_add_and_remove_exactly_the_difference() -> None:
    actual = ConsumerActual(service=service(), endpoint=endpoint(groups=("sg-user1", "sg-user2")))
    plan = plan_endpoint(spec(securityGroupIds=["sg-user2", "sg-user3"]), OWNER, actual)

    assert only(plan, "modify_vpc_endpoint").params == {
        "VpcEndpointId": "vpce-0aaa",
        "AddSecurityGroupIds": ["sg-user3"],
        "RemoveSecurityGroupIds": ["sg-user1"],
    }


def test_without_groups_in_the_spec_the_endpoints_groups_are_left_alone() -> None:
    actual = ConsumerActual(service=service(), endpoint=endpoint(groups=("sg-vpc-default",)))
    plan = plan_endpoint(spec(), OWNER, actual)

    assert plan.steps == [], plan.to_text()


def test_a_changed_ip_address_type_is_modified_in_place() -> None:
    actual = ConsumerActual(service=service(), endpoint=endpoint(ip_type="ipv4"))
    plan = plan_endpoint(spec(ipAddressType="dualstack"), OWNER, actual)

    assert only(plan, "modify_vpc_endpoint").params == {
        "VpcEndpointId": "vpce-0aaa",
        "IpAddressType": "dualstack",
    }


def test_an_owned_endpoint_to_a_service_no_longer_wanted_is_deleted_after_the_new_one() -> None:
    old = endpoint(id="vpce-0old", service_name=OTHER_SERVICE)
    actual = ConsumerActual(service=service(), stale_endpoints=[old])
    plan = plan_endpoint(spec(), OWNER, actual)

    assert calls(plan) == ["endpoint:create", "endpoint:delete"]
    assert only(plan, "delete_vpc_endpoints").params == {"VpcEndpointIds": ["vpce-0old"]}


# -- tags -----------------------------------------------------------------------------------------


def test_tags_diff_retags_changed_values_and_untags_dropped_user_tags_only() -> None:
    have = {**OWNER.tags(ROLE_ENDPOINT, {"team": "old", "gone": "x"}), "aws:cloudformation": "y"}
    actual = ConsumerActual(service=service(), endpoint=endpoint(tags=have))
    plan = plan_endpoint(spec(tags={"team": "checkout", "env": "prod"}), OWNER, actual)

    assert calls(plan) == ["endpoint:tag", "endpoint:untag"]
    tag = only(plan, "create_tags").params
    assert tag["Resources"] == ["vpce-0aaa"]
    assert tag_dict(tag["Tags"]) == {"team": "checkout", "env": "prod"}
    assert only(plan, "delete_tags").params == {
        "Resources": ["vpce-0aaa"],
        "Tags": [{"Key": "gone"}],
    }


def test_the_owned_groups_tags_follow_the_spec_too() -> None:
    want = spec(allowedCidrs=["10.20.0.0/16"], tags={"team": "checkout"})
    actual = ConsumerActual(
        service=service(),
        endpoint=endpoint(
            groups=("sg-owned",), tags=OWNER.tags(ROLE_ENDPOINT, {"team": "checkout"})
        ),
        group=group({(443, "10.20.0.0/16")}),
    )
    plan = plan_endpoint(want, OWNER, actual)

    assert calls(plan) == ["security-group:tag"]
    assert only(plan, "create_tags").params["Resources"] == ["sg-owned"]


# -- deletion -------------------------------------------------------------------------------------


def test_deletion_deletes_every_owned_endpoint_first_and_waits_before_the_group() -> None:
    actual = ConsumerActual(
        endpoint=endpoint(),
        stale_endpoints=[endpoint(id="vpce-0old", service_name=OTHER_SERVICE)],
        group=group({(443, "10.20.0.0/16")}),
    )
    plan = plan_endpoint_delete(actual)

    assert calls(plan) == ["endpoint:delete"]
    assert only(plan, "delete_vpc_endpoints").params == {
        "VpcEndpointIds": ["vpce-0aaa", "vpce-0old"]
    }
    assert [w.condition for w in plan.waits] == ["EndpointAvailable"]


def test_deletion_waits_without_calling_while_the_endpoint_is_deleting() -> None:
    actual = ConsumerActual(endpoint=endpoint(state="deleting"), group=group(set()))
    plan = plan_endpoint_delete(actual)

    assert plan.steps == []
    assert plan.waits, "must come back until the endpoint is gone"


def test_deletion_removes_the_owned_group_once_no_endpoint_is_left() -> None:
    plan = plan_endpoint_delete(ConsumerActual(group=group({(443, "10.20.0.0/16")})))

    assert calls(plan) == ["security-group:delete"]
    assert only(plan, "delete_security_group").params == {"GroupId": "sg-owned"}
    assert plan.waits == []


def test_deletion_with_nothing_left_is_finished() -> None:
    plan = plan_endpoint_delete(ConsumerActual())

    assert plan.steps == [] and plan.waits == []


def test_an_endpoint_deleted_behind_our_back_is_recreated_with_a_fresh_client_token() -> None:
    first = plan_endpoint(spec(), OWNER, ConsumerActual(service=service()))
    again = plan_endpoint(
        spec(), OWNER, ConsumerActual(service=service(), gone_endpoint_id="vpce-0aaa")
    )

    first_token = only(first, "create_vpc_endpoint").params["ClientToken"]
    # EC2 answers a reused token with the original endpoint, even once it is deleted.
    assert only(again, "create_vpc_endpoint").params["ClientToken"] != first_token
