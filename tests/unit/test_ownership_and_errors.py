"""Ownership tags, deterministic names and the classification of AWS errors (pure)."""

from __future__ import annotations

import botocore.exceptions
import pytest

from privatelink_operator.aws import classify, is_read
from privatelink_operator.ownership import TAG_CLUSTER, Owner, short_hash, tag_dict, tag_list

OWNER = Owner("prod", "PrivateLinkService", "payments", "orders", "0b6a-uid")


def client_error(code: str, status: int = 400) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} happened"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "CreateLoadBalancer",
    )


def test_elb_names_are_valid_deterministic_and_unique_per_object() -> None:
    name = OWNER.elb_name("abc123")
    assert name == OWNER.elb_name("abc123")
    assert len(name) <= 32 and all(c.isalnum() or c == "-" for c in name)
    other = Owner("prod", "PrivateLinkService", "payments", "orders", "another-uid")
    assert other.elb_name() != OWNER.elb_name()
    assert Owner("staging", *list(OWNER.__dict__.values())[1:]).elb_name() != OWNER.elb_name()


def test_idempotency_tokens_depend_on_the_operation_and_fit_aws_limits() -> None:
    token = OWNER.token("endpoint", "svc-a")
    assert token == OWNER.token("endpoint", "svc-a")
    assert token != OWNER.token("endpoint", "svc-b")
    assert len(token) <= 32 and token.isalnum()


def test_ownership_tags_win_over_user_tags_and_prove_ownership() -> None:
    tags = OWNER.tags("load-balancer", {"team": "payments", TAG_CLUSTER: "someone-else"})
    assert tags["team"] == "payments"
    assert tags[TAG_CLUSTER] == "prod"
    assert OWNER.owns(tags)
    for key in list(tags):
        if key.startswith("privatelink.operator.dev/") and key.endswith(("cluster", "uid")):
            assert not OWNER.owns({**tags, key: "other"})


def test_tag_lists_and_dicts_round_trip() -> None:
    tags = {"b": "2", "a": "1"}
    assert tag_list(tags) == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    assert tag_dict(tag_list(tags)) == tags


def test_short_hash_changes_with_any_part() -> None:
    assert short_hash("TLS", 8443, "ip") != short_hash("TLS", 8444, "ip")
    assert len(short_hash("x")) == 6


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("Throttling", 400, "retry"),
        ("RequestLimitExceeded", 503, "retry"),
        ("ThrottlingException", 400, "retry"),
        ("PriorRequestNotComplete", 400, "retry"),
        ("InternalError", 500, "retry"),
        ("ResourceInUse", 400, "conflict"),
        ("DependencyViolation", 400, "conflict"),
        ("LoadBalancerNotFound", 400, "not_found"),
        ("InvalidVpcEndpointId.NotFound", 400, "not_found"),
        ("ValidationError", 400, "user"),
        ("InvalidSubnetID.NotFound", 400, "user"),
        ("InvalidServiceName", 400, "user"),
        ("UnauthorizedOperation", 403, "access"),
    ],
)
def test_one_place_classifies_aws_errors(code: str, status: int, kind: str) -> None:
    error = classify(client_error(code, status), "create_load_balancer")
    assert error.kind == kind
    assert error.code == code
    assert code in str(error)


def test_reads_and_writes_are_told_apart_by_operation_name() -> None:
    assert is_read("DescribeListeners") and is_read("ListCertificates")
    assert not is_read("ModifyListener") and not is_read("CreateVpcEndpoint")
