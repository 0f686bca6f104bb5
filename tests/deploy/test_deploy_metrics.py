"""Prometheus metrics: exposition format; AWS calls by outcome, with retries and throttles."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import boto3
import pytest

from privatelink_operator import metrics
from privatelink_operator.aws import SERVICES, AwsClients, AwsError
from privatelink_operator.testing.aws import PROVIDER_ACCOUNT, AwsEmulator


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    metrics.reset()
    yield
    metrics.reset()


def sample(name: str, **labels: str) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{metrics.PREFIX}{name}{{{inner}}}" if labels else f"{metrics.PREFIX}{name}"


def value_of(text: str, name: str, **labels: str) -> float:
    wanted = sample(name, **labels) + " "
    for line in text.splitlines():
        if line.startswith(wanted):
            return float(line[len(wanted) :])
    raise AssertionError(f"no sample {wanted!r} in\n{text}")


def test_exposition_of_reconciles_probes_and_objects() -> None:
    metrics.observe_reconcile("PrivateLinkService", 0.3, "success")
    metrics.observe_reconcile("PrivateLinkService", 1.2, "stalled", "ValidationError")
    metrics.observe_probe(True, "H2Negotiated", 12.0)
    metrics.observe_probe(False, "Timeout", None)
    ready = [{"type": "Ready", "status": "True"}, {"type": "Stalled", "status": "False"}]
    metrics.set_object_conditions("PrivateLinkEndpoint", "a", "x", ready)
    metrics.set_object_conditions("PrivateLinkEndpoint", "b", "y", ready)
    metrics.set_object_conditions("PrivateLinkEndpoint", "b", "z", [{"type": "Ready"}])
    metrics.forget_object("PrivateLinkEndpoint", "b", "z")
    text = metrics.render()
    assert f"# TYPE {metrics.PREFIX}reconcile_duration_seconds histogram" in text
    assert value_of(text, "reconcile_total", kind="PrivateLinkService", outcome="stalled") == 1
    assert (
        value_of(
            text, "reconcile_errors_total", kind="PrivateLinkService", reason="ValidationError"
        )
        == 1
    )
    assert value_of(text, "reconcile_duration_seconds_count", kind="PrivateLinkService") == 2
    assert (
        value_of(text, "reconcile_duration_seconds_bucket", kind="PrivateLinkService", le="0.5")
        == 1
    )
    assert value_of(text, "probe_total", result="not_ready", reason="Timeout") == 1
    assert value_of(text, "probe_latency_seconds_sum") == 0.012
    assert (
        value_of(text, "objects", kind="PrivateLinkEndpoint", condition="Ready", status="True") == 2
    )
    assert 'status="Unknown"' not in text  # z was forgotten
    with pytest.raises(ValueError):
        metrics.RECONCILES.inc(kind="x")


def test_label_values_are_escaped() -> None:
    metrics.observe_probe(False, 'bad "quote"\nline', None)
    assert 'reason="bad \\"quote\\"\\nline"' in metrics.render()


def test_aws_calls_by_outcome_with_retries_and_throttles(aws_emulator: AwsEmulator) -> None:
    session = boto3.Session(
        aws_access_key_id=PROVIDER_ACCOUNT,
        aws_secret_access_key="emulated",
        region_name=aws_emulator.region,
    )
    aws = AwsClients(
        session=session,
        max_attempts=3,
        endpoint_urls=dict.fromkeys(SERVICES, aws_emulator.endpoint_url),
    )
    aws_emulator.faults.throttle("elbv2", "DescribeLoadBalancers", times=2)
    aws.call("elbv2", "describe_load_balancers")
    with pytest.raises(AwsError) as failed:
        aws.call("elbv2", "describe_target_groups", TargetGroupArns=["arn:aws:nope"])
    text = metrics.render()
    op = {"service": "elbv2", "operation": "DescribeLoadBalancers"}
    assert value_of(text, "aws_api_calls_total", **op, outcome="success") == 1
    assert value_of(text, "aws_api_requests_total", **op) == 3
    assert value_of(text, "aws_api_retries_total", **op) == 2
    assert value_of(text, "aws_api_throttles_total", **op) == 2
    assert value_of(text, "aws_api_call_duration_seconds_count", **op) == 1
    bad = {"service": "elbv2", "operation": "DescribeTargetGroups"}
    assert value_of(text, "aws_api_calls_total", **bad, outcome="error") == 1
    assert value_of(text, "aws_api_errors_total", **bad, code=failed.value.code) == 1
    assert aws.counter.throttles[("elbv2", "DescribeLoadBalancers")] == 2
    assert aws.counter.retries[("elbv2", "DescribeLoadBalancers")] == 2


def test_metrics_endpoint_serves_the_exposition() -> None:
    server = metrics.serve(0, host="127.0.0.1")
    try:
        port = server.server_address[1]
        metrics.observe_reconcile("PrivateLinkEndpoint", 0.1, "success")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            assert answer.headers["Content-Type"] == metrics.CONTENT_TYPE
            body = answer.read().decode()
        assert sample("reconcile_total", kind="PrivateLinkEndpoint", outcome="success") in body
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/nope", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
