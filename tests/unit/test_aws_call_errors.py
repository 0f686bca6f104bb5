"""A call that gets no AWS answer at all is classified like any other failure."""

from __future__ import annotations

import socket

import pytest

from privatelink_operator.aws import AwsClients, AwsError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_a_refused_connection_is_an_aws_error_and_is_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE111111111")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    url = f"http://127.0.0.1:{_closed_port()}"
    aws = AwsClients(region="us-east-1", max_attempts=1, endpoint_urls={"sts": url})

    with pytest.raises(AwsError) as caught:
        aws.call("sts", "get_caller_identity")

    assert caught.value.operation == "get_caller_identity"
    assert aws.counter.errors[("sts", "GetCallerIdentity", "EndpointConnectionError")] == 1
