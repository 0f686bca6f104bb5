"""ELBv2 validates listeners, ARNs and deletes the way AWS does."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def tls_listener(world: Any, nlb: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "LoadBalancerArn": nlb["LoadBalancerArn"],
        "Protocol": "TLS",
        "Port": 443,
        "Certificates": [{"CertificateArn": world.certificate()}],
        "SslPolicy": POLICY,
        "AlpnPolicy": ["HTTP2Preferred"],
        "DefaultActions": [{"Type": "forward", "TargetGroupArn": target_group(world, nlb)}],
    }
    kwargs.update(overrides)
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    listener: dict[str, Any] = world.elbv2.create_listener(**kwargs)["Listeners"][0]
    return listener


def target_group(world: Any, nlb: dict[str, Any], target_type: str = "ip") -> str:
    arn: str = world.elbv2.create_target_group(
        Name=world.name("tg"),
        Protocol="TLS",
        Port=8443,
        VpcId=nlb["VpcId"],
        TargetType=target_type,
    )["TargetGroups"][0]["TargetGroupArn"]
    return arn


def test_network_load_balancer_and_listener_arns_say_net(world: Any) -> None:
    nlb = world.nlb()
    assert re.fullmatch(
        r"arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/net/nlb-\d+/[0-9a-f]{16}",
        nlb["LoadBalancerArn"],
    )
    listener = tls_listener(world, nlb)
    assert ":listener/net/" in listener["ListenerArn"]
    assert nlb["DNSName"].endswith(".elb.us-east-1.amazonaws.com")


def test_new_nlb_is_provisioning_until_the_delay_passes(
    world: Any, aws_emulator: Any, eventually: Any
) -> None:
    aws_emulator.set_delays(load_balancer=0.3)
    nlb = world.nlb()
    assert nlb["State"]["Code"] == "provisioning"

    def state() -> str:
        described = world.elbv2.describe_load_balancers(LoadBalancerArns=[nlb["LoadBalancerArn"]])
        code: str = described["LoadBalancers"][0]["State"]["Code"]
        return code

    assert state() == "provisioning"
    eventually(lambda: state() == "active")


def test_tls_listener_keeps_certificate_ssl_policy_and_alpn_policy(world: Any) -> None:
    listener = tls_listener(world, world.nlb())
    described = world.elbv2.describe_listeners(ListenerArns=[listener["ListenerArn"]])["Listeners"][
        0
    ]
    assert described["Protocol"] == "TLS"
    assert described["SslPolicy"] == POLICY
    assert described["AlpnPolicy"] == ["HTTP2Preferred"]
    assert len(described["Certificates"]) == 1


def test_unknown_alpn_policy_is_refused(world: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        tls_listener(world, world.nlb(), AlpnPolicy=["Bogus"])
    assert error_code(excinfo) == "ALPNPolicyNotFound"


def test_alpn_policy_on_a_tcp_listener_is_refused(world: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        tls_listener(world, world.nlb(), Protocol="TCP", Certificates=None, SslPolicy=None)
    assert error_code(excinfo) == "ALPNPolicyNotFound"


def test_unknown_ssl_policy_is_refused_on_create(world: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        tls_listener(world, world.nlb(), SslPolicy="ELBSecurityPolicy-Bogus")
    assert error_code(excinfo) == "SSLPolicyNotFound"


def test_tls_listener_without_a_certificate_is_refused(world: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        tls_listener(world, world.nlb(), Certificates=None)
    assert error_code(excinfo) == "ValidationError"


def test_tls_listener_with_an_unknown_certificate_is_refused(world: Any) -> None:
    missing = "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"
    with pytest.raises(ClientError) as excinfo:
        tls_listener(world, world.nlb(), Certificates=[{"CertificateArn": missing}])
    assert error_code(excinfo) == "CertificateNotFound"


def test_second_listener_on_the_same_port_is_refused(world: Any) -> None:
    nlb = world.nlb()
    tls_listener(world, nlb)
    with pytest.raises(ClientError) as excinfo:
        tls_listener(world, nlb)
    assert error_code(excinfo) == "DuplicateListener"


def test_tcp_listener_has_no_ssl_policy(world: Any) -> None:
    listener = tls_listener(
        world, world.nlb(), Protocol="TCP", Certificates=None, SslPolicy=None, AlpnPolicy=None
    )
    assert "SslPolicy" not in listener


def test_modify_listener_changes_the_alpn_policy(world: Any) -> None:
    listener = tls_listener(world, world.nlb())
    world.elbv2.modify_listener(ListenerArn=listener["ListenerArn"], AlpnPolicy=["HTTP2Only"])
    described = world.elbv2.describe_listeners(ListenerArns=[listener["ListenerArn"]])["Listeners"][
        0
    ]
    assert described["AlpnPolicy"] == ["HTTP2Only"]


def test_modify_listener_to_alpn_none_really_sets_none(world: Any) -> None:
    listener = tls_listener(world, world.nlb())
    world.elbv2.modify_listener(ListenerArn=listener["ListenerArn"], AlpnPolicy=["None"])
    described = world.elbv2.describe_listeners(ListenerArns=[listener["ListenerArn"]])["Listeners"][
        0
    ]
    assert described["AlpnPolicy"] == ["None"]


def test_modify_listener_refuses_a_bogus_alpn_policy(world: Any) -> None:
    listener = tls_listener(world, world.nlb())
    with pytest.raises(ClientError) as excinfo:
        world.elbv2.modify_listener(ListenerArn=listener["ListenerArn"], AlpnPolicy=["h2"])
    assert error_code(excinfo) == "ALPNPolicyNotFound"


def test_modify_listener_turns_tcp_into_tls_with_certificate_and_policies(world: Any) -> None:
    nlb = world.nlb()
    listener = tls_listener(
        world, nlb, Protocol="TCP", Certificates=None, SslPolicy=None, AlpnPolicy=None
    )
    certificate = world.certificate()
    world.elbv2.modify_listener(
        ListenerArn=listener["ListenerArn"],
        Protocol="TLS",
        Certificates=[{"CertificateArn": certificate}],
        SslPolicy=POLICY,
        AlpnPolicy=["HTTP2Optional"],
    )
    described = world.elbv2.describe_listeners(ListenerArns=[listener["ListenerArn"]])["Listeners"][
        0
    ]
    assert described["Protocol"] == "TLS"
    assert described["Certificates"][0]["CertificateArn"] == certificate
    assert described["SslPolicy"] == POLICY
    assert described["AlpnPolicy"] == ["HTTP2Optional"]


def test_modify_listener_to_tls_without_a_certificate_is_refused(world: Any) -> None:
    listener = tls_listener(
        world, world.nlb(), Protocol="TCP", Certificates=None, SslPolicy=None, AlpnPolicy=None
    )
    with pytest.raises(ClientError) as excinfo:
        world.elbv2.modify_listener(ListenerArn=listener["ListenerArn"], Protocol="TLS")
    assert error_code(excinfo) == "ValidationError"


def test_modify_listener_refuses_a_bogus_ssl_policy(world: Any) -> None:
    listener = tls_listener(world, world.nlb())
    with pytest.raises(ClientError) as excinfo:
        world.elbv2.modify_listener(ListenerArn=listener["ListenerArn"], SslPolicy="Nope")
    assert error_code(excinfo) == "SSLPolicyNotFound"


def test_nlb_used_by_an_endpoint_service_cannot_be_deleted(world: Any) -> None:
    config = world.service()
    with pytest.raises(ClientError) as excinfo:
        world.elbv2.delete_load_balancer(LoadBalancerArn=config["NetworkLoadBalancerArns"][0])
    assert error_code(excinfo) == "ResourceInUse"
    world.ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[config["ServiceId"]])
    world.elbv2.delete_load_balancer(LoadBalancerArn=config["NetworkLoadBalancerArns"][0])


def test_ip_targets_must_be_ip_addresses(world: Any) -> None:
    group = target_group(world, world.nlb())
    with pytest.raises(ClientError) as excinfo:
        world.elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "not-an-ip"}])
    assert error_code(excinfo) == "ValidationError"
    world.elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "10.0.1.5", "Port": 8443}])


def test_instance_targets_must_exist(world: Any) -> None:
    group = target_group(world, world.nlb(), target_type="instance")
    with pytest.raises(ClientError) as excinfo:
        world.elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "i-0123456789abcdef0"}])
    assert error_code(excinfo) == "InvalidTarget"


def test_creating_an_nlb_again_with_the_same_name_and_settings_returns_it(world: Any) -> None:
    subnets = world.provider_subnets()
    kwargs = {"Name": "orders", "Subnets": subnets, "Type": "network", "Scheme": "internal"}
    first = world.elbv2.create_load_balancer(**kwargs)["LoadBalancers"][0]
    second = world.elbv2.create_load_balancer(**kwargs)["LoadBalancers"][0]
    assert first["LoadBalancerArn"] == second["LoadBalancerArn"]
    assert len(world.elbv2.describe_load_balancers()["LoadBalancers"]) == 1
    with pytest.raises(ClientError) as excinfo:
        world.elbv2.create_load_balancer(**{**kwargs, "Scheme": "internet-facing"})
    assert error_code(excinfo) == "DuplicateLoadBalancerName"


def test_creating_a_target_group_again_with_the_same_settings_returns_it(world: Any) -> None:
    nlb = world.nlb()
    kwargs = {
        "Name": "orders",
        "Protocol": "TLS",
        "Port": 8443,
        "VpcId": nlb["VpcId"],
        "TargetType": "ip",
    }
    first = world.elbv2.create_target_group(**kwargs)["TargetGroups"][0]["TargetGroupArn"]
    second = world.elbv2.create_target_group(**kwargs)["TargetGroups"][0]["TargetGroupArn"]
    assert first == second
    with pytest.raises(ClientError) as excinfo:
        world.elbv2.create_target_group(**{**kwargs, "Protocol": "TCP"})
    assert error_code(excinfo) == "DuplicateTargetGroupName"


def test_creating_the_same_listener_again_returns_it(world: Any) -> None:
    nlb = world.nlb()
    certificate = world.certificate()
    group = target_group(world, nlb)
    kwargs = {
        "LoadBalancerArn": nlb["LoadBalancerArn"],
        "Protocol": "TLS",
        "Port": 443,
        "Certificates": [{"CertificateArn": certificate}],
        "SslPolicy": POLICY,
        "AlpnPolicy": ["HTTP2Preferred"],
        "DefaultActions": [{"Type": "forward", "TargetGroupArn": group}],
    }
    first = world.elbv2.create_listener(**kwargs)["Listeners"][0]["ListenerArn"]
    second = world.elbv2.create_listener(**kwargs)["Listeners"][0]["ListenerArn"]
    assert first == second
    with pytest.raises(ClientError) as excinfo:
        world.elbv2.create_listener(**{**kwargs, "AlpnPolicy": ["HTTP2Only"]})
    assert error_code(excinfo) == "DuplicateListener"


def test_security_groups_cannot_be_added_to_an_nlb_created_without_them(world: Any) -> None:
    nlb = world.nlb()
    group = world.ec2.create_security_group(GroupName="nlb", Description="nlb", VpcId=nlb["VpcId"])[
        "GroupId"
    ]
    with pytest.raises(ClientError) as excinfo:
        world.elbv2.set_security_groups(
            LoadBalancerArn=nlb["LoadBalancerArn"], SecurityGroups=[group]
        )
    assert error_code(excinfo) == "InvalidConfigurationRequest"
