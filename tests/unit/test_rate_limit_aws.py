"""Client-side AWS rate limits: token buckets per service and operation class."""

from __future__ import annotations

import threading

import pytest

from privatelink_operator.aws import (
    DEFAULT_THROTTLE,
    AwsClients,
    RateLimiter,
    TokenBucket,
    parse_throttle,
    throttle_rules,
)


class FakeClock:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_bucket_lets_its_burst_through_at_once_then_paces_at_its_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=3, burst=10, clock=clock, sleep=clock.sleep)

    waits = [bucket.acquire() for _ in range(16)]

    assert waits[:10] == [0.0] * 10
    assert all(w > 0 for w in waits[10:])
    # 6 calls beyond the burst at 3/s: the last one goes out 2 s after the first.
    assert clock.now == pytest.approx(6 / 3)


def test_an_idle_bucket_refills_but_never_beyond_its_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=50, burst=200, clock=clock, sleep=clock.sleep)
    for _ in range(200):
        bucket.acquire()
    clock.now += 3600.0  # an hour idle

    waits = [bucket.acquire() for _ in range(201)]

    assert waits[:200] == [0.0] * 200
    assert waits[200] == pytest.approx(1 / 50)


def test_concurrent_callers_get_distinct_slots_in_arrival_order() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=1, clock=clock, sleep=lambda s: None)
    delays: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        d = bucket.reserve()
        with lock:
            delays.append(d)

    threads = [threading.Thread(target=call) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(delays) == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_operations_are_limited_by_the_first_matching_class_and_classes_are_independent() -> None:
    clock = FakeClock()
    limiter = RateLimiter(throttle_rules(""), clock=clock, sleep=clock.sleep)

    for _ in range(200):  # elbv2 Describe* burst
        assert limiter.acquire("elbv2", "DescribeLoadBalancers") == 0.0
    assert limiter.acquire("elbv2", "DescribeTags") == pytest.approx(1 / 50)
    # Modify* has its own bucket (3/s, burst 10): the describes did not use it up.
    assert [limiter.acquire("elbv2", "ModifyListener") for _ in range(10)] == [0.0] * 10
    assert limiter.acquire("elbv2", "ModifyTargetGroupAttributes") == pytest.approx(1 / 3)
    assert limiter.rule_for("elbv2", "CreateListener").key == "elbv2:*"  # type: ignore[union-attr]
    assert limiter.rule_for("sts", "GetCallerIdentity") is None
    assert set(limiter.waited) == {"elbv2:Describe*", "elbv2:Modify*|Set*"}
    assert limiter.taken["elbv2:Describe*"] == 201


def test_given_rules_come_before_the_defaults_and_off_turns_limits_off() -> None:
    rules = throttle_rules("elbv2:Describe*=500:1000")
    assert (rules[0].rate, rules[0].burst) == (500, 1000)
    assert len(rules) == 1 + len(parse_throttle(DEFAULT_THROTTLE))
    assert throttle_rules("off") == []


def test_the_environment_variable_configures_the_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLO_AWS_API_THROTTLE", "ec2:Create*=1:1")
    clients = AwsClients(region="us-east-1")
    rule = clients.limiter.rule_for("ec2", "CreateVpcEndpoint")
    assert rule is not None and (rule.rate, rule.burst) == (1, 1)


@pytest.mark.parametrize(
    "spec", ["elbv2=5:5", "elbv2:Describe*=fast", "elbv2:Describe*=0:10", "ec2:*=5:0"]
)
def test_a_malformed_rule_is_refused_with_the_expected_syntax(spec: str) -> None:
    with pytest.raises(ValueError, match="bad throttle rule"):
        parse_throttle(spec)


def test_every_http_attempt_against_the_emulator_takes_a_token(aws_emulator: object) -> None:
    """The hook sits on botocore's before-send: real calls (and retries) go through it."""
    from privatelink_operator.aws import SERVICES
    from privatelink_operator.testing.aws import AwsEmulator

    assert isinstance(aws_emulator, AwsEmulator)
    import boto3

    session = boto3.Session(
        aws_access_key_id="111111111111", aws_secret_access_key="x", region_name="us-east-1"
    )
    clients = AwsClients(
        session=session,
        max_attempts=3,
        endpoint_urls=dict.fromkeys(SERVICES, aws_emulator.endpoint_url),
        throttle="elbv2:Describe*=100:1",
    )
    aws_emulator.faults.throttle("elbv2", "DescribeLoadBalancers", times=1)
    clients.elbv2.describe_load_balancers()  # one throttled attempt, one retry
    clients.elbv2.describe_load_balancers()

    assert clients.limiter.taken["elbv2:Describe*"] == 3


def test_a_throttled_bucket_halves_its_rate_and_climbs_back_with_answers() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=8, burst=10, clock=clock, sleep=clock.sleep)

    bucket.throttled()
    assert bucket.rate == 4
    assert bucket.acquire() == pytest.approx(1 / 4)  # emptied: the next call waits
    for _ in range(10):
        bucket.throttled()
    assert bucket.rate == pytest.approx(8 / 8)  # never below an eighth of the configured rate

    for _ in range(100):
        bucket.answered()
    assert bucket.rate == 8  # and never above it


def test_aws_throttling_slows_the_operation_class_down_until_calls_succeed_again(
    aws_emulator: object,
) -> None:
    from privatelink_operator.aws import SERVICES
    from privatelink_operator.testing.aws import AwsEmulator

    assert isinstance(aws_emulator, AwsEmulator)
    import boto3

    session = boto3.Session(
        aws_access_key_id="111111111111", aws_secret_access_key="x", region_name="us-east-1"
    )
    clients = AwsClients(
        session=session,
        max_attempts=4,
        endpoint_urls=dict.fromkeys(SERVICES, aws_emulator.endpoint_url),
        throttle="ec2:Describe*=40:100",
    )
    aws_emulator.faults.throttle("ec2", "DescribeSubnets", times=2)
    clients.call("ec2", "describe_subnets")  # two throttled attempts, then an answer

    bucket = clients.limiter._buckets["ec2:Describe*"]
    assert clients.limiter.throttled["ec2:Describe*"] == 2
    assert bucket.rate == pytest.approx(40 / 4 + 40 / 50)  # halved twice, one answer back
    for _ in range(40):
        clients.call("ec2", "describe_subnets")
    assert bucket.rate == 40
