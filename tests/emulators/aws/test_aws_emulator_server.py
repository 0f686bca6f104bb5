"""The emulator as a process: start-up, accounts, call log, reset, clear errors, clean exit."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from privatelink_operator.testing.aws import (
    CONSUMER_ACCOUNT,
    PROVIDER_ACCOUNT,
    AwsEmulator,
    Delays,
    EmulatorProcess,
)


def test_emulator_process_starts_in_seconds_and_leaves_no_process_behind() -> None:
    started = time.monotonic()
    process = EmulatorProcess()
    url = process.start()
    startup = time.monotonic() - started
    pid = process.pid
    assert pid is not None
    try:
        assert url.startswith("http://127.0.0.1:")
        assert startup < 10
        assert AwsEmulator(url).health()["moto"] == "5.2.5"
    finally:
        process.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_emulator_child_dies_when_its_parent_dies() -> None:
    parent = subprocess.run(
        [
            sys.executable,
            "-c",
            "from privatelink_operator.testing.aws import EmulatorProcess\n"
            "p = EmulatorProcess(); p.start(); print(p.pid, flush=True)\n"
            "import os; os._exit(0)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    child = int(parent.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(child, 9)
    raise AssertionError("the emulator outlived its parent")


def test_command_runs_the_emulator_in_the_foreground_until_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "privatelink_operator.testing.aws", "--port", "0", "--delays", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "AWS emulator listening on http://127.0.0.1:" in line
        url = line.split(" on ", 1)[1].split()[0]
        assert AwsEmulator(url).health()["ok"] is True
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_delays_parse_all_and_named_values() -> None:
    assert Delays.parse("2").endpoint == 2.0
    parsed = Delays.parse("all=1,load_balancer=3")
    assert (parsed.load_balancer, parsed.dns_verification) == (3.0, 1.0)
    with pytest.raises(ValueError, match="unknown delay"):
        Delays.parse("nlb=1")


def test_accounts_are_isolated_in_one_server(aws_emulator: Any) -> None:
    provider = aws_emulator.client("ec2", PROVIDER_ACCOUNT)
    consumer = aws_emulator.client("ec2", CONSUMER_ACCOUNT)
    provider.create_vpc(CidrBlock="10.7.0.0/16")
    provider_cidrs = {v["CidrBlock"] for v in provider.describe_vpcs()["Vpcs"]}
    consumer_cidrs = {v["CidrBlock"] for v in consumer.describe_vpcs()["Vpcs"]}
    assert "10.7.0.0/16" in provider_cidrs
    assert "10.7.0.0/16" not in consumer_cidrs
    identity = aws_emulator.client("sts", CONSUMER_ACCOUNT).get_caller_identity()
    assert identity["Account"] == CONSUMER_ACCOUNT


def test_a_twelve_digit_access_key_selects_the_account_for_plain_boto3(aws_emulator: Any) -> None:
    env = aws_emulator.env(CONSUMER_ACCOUNT)
    sts = boto3.client(
        "sts",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    assert sts.get_caller_identity()["Account"] == CONSUMER_ACCOUNT


def test_unimplemented_calls_answer_a_clear_4xx_not_an_html_500(aws_emulator: Any) -> None:
    ec2 = aws_emulator.client("ec2", PROVIDER_ACCOUNT, max_attempts=1)
    with pytest.raises(ClientError) as excinfo:
        ec2.describe_vpc_endpoint_connection_notifications()
    response = excinfo.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "InvalidAction"
    assert "not implemented by the AWS emulator" in response["Error"]["Message"]


def test_call_log_counts_every_call_by_account_service_and_action(aws_emulator: Any) -> None:
    mark = aws_emulator.calls.mark()
    ec2 = aws_emulator.client("ec2", PROVIDER_ACCOUNT)
    ec2.describe_vpcs()
    ec2.create_vpc(CidrBlock="10.8.0.0/16")
    aws_emulator.client("elbv2", CONSUMER_ACCOUNT).describe_load_balancers()
    counter = aws_emulator.calls.counter(since=mark)
    assert counter == {
        (PROVIDER_ACCOUNT, "ec2", "DescribeVpcs"): 1,
        (PROVIDER_ACCOUNT, "ec2", "CreateVpc"): 1,
        (CONSUMER_ACCOUNT, "elbv2", "DescribeLoadBalancers"): 1,
    }
    assert [c.action for c in aws_emulator.calls.writes(since=mark)] == ["CreateVpc"]
    assert aws_emulator.calls.count(account=CONSUMER_ACCOUNT, since=mark) == 1
    later = aws_emulator.calls.mark()
    ec2.describe_vpcs()
    assert aws_emulator.calls.writes(since=later) == []


def test_call_log_records_errors_and_faults(aws_emulator: Any) -> None:
    rule = aws_emulator.faults.throttle("ec2", "DescribeSubnets", times=1)
    ec2 = aws_emulator.client("ec2", PROVIDER_ACCOUNT, max_attempts=1)
    with pytest.raises(ClientError):
        ec2.describe_subnets()
    with pytest.raises(ClientError):
        ec2.describe_vpcs(VpcIds=["vpc-0123456789abcdef0"])
    faulted, failed = aws_emulator.calls.all()[-2:]
    assert (faulted.error_code, faulted.status, faulted.fault) == (
        "RequestLimitExceeded",
        503,
        rule.id,
    )
    assert (failed.action, failed.error_code, failed.fault) == (
        "DescribeVpcs",
        "InvalidVpcID.NotFound",
        None,
    )


def test_reset_empties_every_account_and_the_call_log(aws_emulator: Any) -> None:
    ec2 = aws_emulator.client("ec2", CONSUMER_ACCOUNT)
    ec2.create_vpc(CidrBlock="10.6.0.0/16")
    aws_emulator.set_delays(endpoint=3)
    aws_emulator.reset()
    assert aws_emulator.calls.all() == []
    assert aws_emulator.delays.endpoint == 0
    assert "10.6.0.0/16" not in {v["CidrBlock"] for v in ec2.describe_vpcs()["Vpcs"]}


def test_control_api_answers_404_for_unknown_paths(aws_emulator: Any) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        opener.open(aws_emulator.endpoint_url + "/_emulator/nope")
    assert excinfo.value.code == 404


def _connection(aws_emulator: Any) -> http.client.HTTPConnection:
    host, port = aws_emulator.endpoint_url.split("//", 1)[1].rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=10)


def test_connections_stay_open_between_calls_as_aws_endpoints_do(
    aws_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """werkzeug closes every connection; the emulator keeps them (each client would otherwise
    pay a TCP connect per call, which no client pays against AWS)."""
    import urllib3.connection

    connects: list[Any] = []
    real = urllib3.connection.connection.create_connection

    def counting(*args: Any, **kwargs: Any) -> Any:
        connects.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(urllib3.connection.connection, "create_connection", counting)
    ec2 = boto3.client(
        "ec2",
        endpoint_url=aws_emulator.endpoint_url,
        region_name=aws_emulator.region,
        aws_access_key_id=PROVIDER_ACCOUNT,
        aws_secret_access_key="emulated",
    )
    for _ in range(5):
        ec2.describe_vpcs()
    assert len(connects) == 1


def test_a_kept_connection_serves_the_next_request_after_a_body_nobody_reads(
    aws_emulator: Any,
) -> None:
    conn = _connection(aws_emulator)
    # A body on a path whose handler reads none, then requests on the same connection.
    conn.request("GET", "/_emulator/health", body=b"x" * 5000, headers={"Content-Length": "5000"})
    first = conn.getresponse()
    assert first.status == 200 and first.getheader("Connection") != "close"
    first.read()
    sock = conn.sock
    for _ in range(3):
        conn.request("GET", "/_emulator/health")
        answer = conn.getresponse()
        assert answer.status == 200
        assert b'"ok": true' in answer.read()
    assert conn.sock is sock  # never reconnected
    conn.close()


def test_a_chunked_request_still_closes_its_connection(aws_emulator: Any) -> None:
    conn = _connection(aws_emulator)
    conn.request("POST", "/_emulator/health", body=iter([b"abc"]), encode_chunked=True)
    answer = conn.getresponse()
    answer.read()
    assert answer.getheader("Connection") == "close"
    conn.close()
