"""Fault injection: each service's real throttling error, 5xx, slow answers, by rule."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from privatelink_operator.testing.aws import CONSUMER_ACCOUNT, PROVIDER_ACCOUNT, FaultRule


def no_retry(aws_emulator: Any, service: str, account: str = PROVIDER_ACCOUNT) -> Any:
    return aws_emulator.client(service, account, max_attempts=1)


def failure(call: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as excinfo:
        call()
    response = excinfo.value.response
    return (
        str(response["Error"]["Code"]),
        int(response["ResponseMetadata"]["HTTPStatusCode"]),
        str(response["Error"].get("Message", "")),
    )


def test_ec2_throttling_is_request_limit_exceeded_503(aws_emulator: Any) -> None:
    aws_emulator.faults.throttle("ec2", "DescribeVpcEndpoints", times=1)
    ec2 = no_retry(aws_emulator, "ec2")
    assert failure(ec2.describe_vpc_endpoints)[:2] == ("RequestLimitExceeded", 503)
    ec2.describe_vpc_endpoints()  # the next call goes through


def test_elbv2_throttling_is_throttling_400_rate_exceeded(aws_emulator: Any) -> None:
    aws_emulator.faults.throttle("elbv2", "DescribeLoadBalancers", times=1)
    elbv2 = no_retry(aws_emulator, "elbv2")
    assert failure(elbv2.describe_load_balancers) == ("Throttling", 400, "Rate exceeded")


def test_route53_throttling_and_prior_request_not_complete_are_400(
    aws_emulator: Any, world: Any
) -> None:
    route53 = no_retry(aws_emulator, "route53")
    aws_emulator.faults.throttle("route53", "ListHostedZones", times=1)
    assert failure(route53.list_hosted_zones)[:2] == ("Throttling", 400)
    zone = world.public_zone("example.com")
    aws_emulator.faults.add(FaultRule.prior_request_not_complete())
    batch = world.upsert_batch("a.example.com", "TXT", '"x"')
    code, status, _ = failure(
        lambda: route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch=batch)
    )
    assert (code, status) == ("PriorRequestNotComplete", 400)


def test_acm_throttling_is_throttling_exception_400(aws_emulator: Any) -> None:
    aws_emulator.faults.throttle("acm", "ListCertificates", times=1)
    acm = no_retry(aws_emulator, "acm")
    assert failure(acm.list_certificates)[:2] == ("ThrottlingException", 400)


def test_throttling_for_the_next_n_calls_is_retried_away_by_botocore(aws_emulator: Any) -> None:
    aws_emulator.faults.throttle("ec2", "DescribeVpcs", times=2)
    ec2 = aws_emulator.client("ec2", PROVIDER_ACCOUNT, max_attempts=5)
    answer = ec2.describe_vpcs()
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert aws_emulator.calls.count("ec2", "DescribeVpcs") == 3


def test_server_errors_are_5xx_in_the_services_format(aws_emulator: Any) -> None:
    aws_emulator.faults.server_error("ec2", "DescribeVpcs", times=1)
    aws_emulator.faults.server_error("elbv2", "DescribeTargetGroups", status=503, times=1)
    assert failure(no_retry(aws_emulator, "ec2").describe_vpcs)[:2] == ("InternalError", 500)
    assert failure(no_retry(aws_emulator, "elbv2").describe_target_groups)[:2] == (
        "ServiceUnavailable",
        503,
    )


def test_slow_answers_arrive_late_but_arrive(aws_emulator: Any) -> None:
    aws_emulator.faults.slow("ec2", "DescribeVpcs", seconds=0.4, times=1)
    ec2 = no_retry(aws_emulator, "ec2")
    started = time.monotonic()
    ec2.describe_vpcs()
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    ec2.describe_vpcs()
    assert time.monotonic() - started < 0.4


def test_rules_match_by_account(aws_emulator: Any) -> None:
    aws_emulator.faults.throttle("ec2", account=CONSUMER_ACCOUNT)
    no_retry(aws_emulator, "ec2", PROVIDER_ACCOUNT).describe_vpcs()
    code, _, _ = failure(no_retry(aws_emulator, "ec2", CONSUMER_ACCOUNT).describe_vpcs)
    assert code == "RequestLimitExceeded"


def test_probability_rules_hit_about_that_share_of_calls(aws_emulator: Any) -> None:
    aws_emulator.faults.throttle("ec2", "DescribeVpcs", probability=0.5, seed=7)
    ec2 = no_retry(aws_emulator, "ec2")
    failures = 0
    for _ in range(40):
        try:
            ec2.describe_vpcs()
        except ClientError:
            failures += 1
    assert 8 <= failures <= 32
    [rule] = aws_emulator.faults.rules()
    assert rule.hits == failures


def test_fault_rules_can_be_set_over_http_and_are_listed_and_cleared(aws_emulator: Any) -> None:
    rule = {
        "service": "elasticloadbalancing",
        "action": "describe_listeners",
        "error_code": "Throttling",
        "status": 400,
        "message": "Rate exceeded",
        "times": 1,
    }
    request = urllib.request.Request(
        aws_emulator.endpoint_url + "/_emulator/faults",
        data=json.dumps(rule).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request) as answer:
        added = json.loads(answer.read())["rules"][0]
    assert added["service"] == "elbv2"
    assert [r.id for r in aws_emulator.faults.rules()] == [added["id"]]
    elbv2 = no_retry(aws_emulator, "elbv2")
    assert failure(lambda: elbv2.describe_listeners(LoadBalancerArn="arn:x"))[0] == "Throttling"
    aws_emulator.faults.clear()
    assert aws_emulator.faults.rules() == []


def test_invalid_fault_rules_are_refused(aws_emulator: Any) -> None:
    with pytest.raises(RuntimeError, match="400"):
        aws_emulator.faults.add(FaultRule(service="ec2"))


def test_rules_in_a_with_block_end_with_it(aws_emulator: Any) -> None:
    ec2 = no_retry(aws_emulator, "ec2")
    with aws_emulator.faults.active(FaultRule.throttle("ec2")):
        assert failure(ec2.describe_vpcs)[0] == "RequestLimitExceeded"
    ec2.describe_vpcs()


def test_reset_drops_fault_rules(aws_emulator: Any) -> None:
    aws_emulator.faults.throttle("ec2")
    aws_emulator.reset()
    no_retry(aws_emulator, "ec2").describe_vpcs()
