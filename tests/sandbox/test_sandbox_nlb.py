"""The NLB stand-in: AWS's ALPN lists per policy, offered for real in TLS handshakes, and the
forwarding to the targets with the protocol the client negotiated."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import pytest

from privatelink_operator.probe import Prober, ProbeTarget, Reason
from privatelink_operator.sandbox.nlb import (
    ALPN_BY_POLICY,
    ListenerState,
    NlbStandIn,
    Target,
    alpn_protocols,
    elbv2_listener_source,
    minimum_tls_version,
)
from privatelink_operator.sandbox.run import expects_h2
from privatelink_operator.testing.tlsserver import LocalCA, LoopbackServer, PemCert

HOST = "orders.vpce.sandbox.test"
CERT_ARN = "arn:aws:acm:us-east-1:111111111111:certificate/sandbox"


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    return LocalCA()


@pytest.fixture(scope="module")
def cert(ca: LocalCA) -> PemCert:
    return ca.issue(HOST)


class Listener:
    """A listener whose settings the test changes, read by the stand-in like DescribeListeners."""

    def __init__(self, state: ListenerState | None) -> None:
        self.state = state
        self.reads = 0

    def __call__(self) -> ListenerState | None:
        self.reads += 1
        return self.state


@pytest.fixture
async def backend(cert: PemCert) -> AsyncIterator[LoopbackServer]:
    async with LoopbackServer(cert=cert, alpn=("h2", "http/1.1"), status=204) as server:
        yield server


def listener_for(backend: LoopbackServer, policy: str, **kwargs: Any) -> ListenerState:
    defaults: dict[str, Any] = {
        "alpn_policy": policy,
        "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "certificate_arn": CERT_ARN,
        "targets": (Target("127.0.0.1", backend.port),),
    }
    return ListenerState(**{**defaults, **kwargs})


async def negotiate(ca: LocalCA, port: int, offer: list[str]) -> str | None:
    """One TLS handshake offering ``offer``; the protocol the server selected."""
    context = ssl.create_default_context(cadata=ca.cert_pem)
    context.set_alpn_protocols(offer)
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname=HOST)
    try:
        selected: str | None = writer.get_extra_info("ssl_object").selected_alpn_protocol()
        return selected
    finally:
        writer.close()
        await writer.wait_closed()


async def server_preference(ca: LocalCA, port: int) -> tuple[str, ...] | None:
    """The server's ALPN list in its order: offer all, drop the one it chose, repeat."""
    remaining = ["h2", "http/1.1", "http/1.0"]
    found: list[str] = []
    while remaining:
        chosen = await negotiate(ca, port, remaining)
        if chosen is None:
            break
        found.append(chosen)
        remaining.remove(chosen)
    return tuple(found) or None


def test_each_alpn_policy_offers_what_aws_documents() -> None:
    assert alpn_protocols("HTTP1Only") == ("http/1.1", "http/1.0")
    assert alpn_protocols("HTTP2Only") == ("h2",)
    assert alpn_protocols("HTTP2Optional") == ("http/1.1", "http/1.0", "h2")
    assert alpn_protocols("HTTP2Preferred") == ("h2", "http/1.1", "http/1.0")
    assert alpn_protocols("None") is None
    assert alpn_protocols(None) is None
    assert set(ALPN_BY_POLICY) == {
        "HTTP1Only",
        "HTTP2Only",
        "HTTP2Optional",
        "HTTP2Preferred",
        "None",
    }


def test_an_unknown_alpn_policy_is_an_error_that_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="HTTP2Preferred"):
        alpn_protocols("Bogus")


def test_the_probe_gets_h2_only_where_the_listener_prefers_it() -> None:
    assert {policy: expects_h2(policy) for policy in ALPN_BY_POLICY} == {
        "HTTP1Only": False,
        "HTTP2Only": True,
        "HTTP2Optional": False,  # offers h2, but http/1.1 first: the server's preference wins
        "HTTP2Preferred": True,
        "None": False,
    }


def test_tls13_only_security_policies_refuse_tls12() -> None:
    assert minimum_tls_version("ELBSecurityPolicy-TLS13-1-3-2021-06") == ssl.TLSVersion.TLSv1_3
    assert minimum_tls_version("ELBSecurityPolicy-TLS13-1-2-2021-06") == ssl.TLSVersion.TLSv1_2
    assert minimum_tls_version(None) == ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize("policy", list(ALPN_BY_POLICY))
async def test_the_stand_in_offers_exactly_the_policys_protocols_in_its_order(
    policy: str, ca: LocalCA, cert: PemCert, backend: LoopbackServer
) -> None:
    source = Listener(listener_for(backend, policy))
    async with NlbStandIn(source, {CERT_ARN: cert}, poll_interval=60) as standin:
        await standin.refresh()
        assert await server_preference(ca, standin.port) == ALPN_BY_POLICY[policy]


async def test_h2_from_the_client_goes_to_the_target_as_h2(
    ca: LocalCA, cert: PemCert, backend: LoopbackServer
) -> None:
    source = Listener(listener_for(backend, "HTTP2Preferred"))
    async with NlbStandIn(source, {CERT_ARN: cert}, poll_interval=60) as standin:
        await standin.refresh()
        async with Prober(resolve=[f"{HOST}:{standin.port}:127.0.0.1"]) as prober:
            result = await prober.probe(
                ProbeTarget(HOST, port=standin.port, path="/healthz", ca_bundle=ca.cert_pem)
            )
    assert result.ready, result.message
    assert (result.alpn, result.http_version, result.status_code) == ("h2", "HTTP/2", 204)
    assert result.certificate is not None and HOST in result.certificate.dns_names
    assert backend.stats.alpn == ["h2"]
    assert [(r.http_version, r.path) for r in backend.stats.requests] == [("HTTP/2", "/healthz")]


async def test_under_http1only_the_probe_reports_h2_not_negotiated_and_the_target_sees_http11(
    ca: LocalCA, cert: PemCert, backend: LoopbackServer
) -> None:
    source = Listener(listener_for(backend, "HTTP1Only"))
    async with NlbStandIn(source, {CERT_ARN: cert}, poll_interval=60) as standin:
        await standin.refresh()
        async with Prober(resolve=[f"{HOST}:{standin.port}:127.0.0.1"]) as prober:
            result = await prober.probe(ProbeTarget(HOST, port=standin.port, ca_bundle=ca.cert_pem))
    assert not result.ready
    assert result.reason == Reason.H2_NOT_NEGOTIATED
    assert result.alpn == "http/1.1"
    assert backend.stats.alpn == ["http/1.1"]


async def test_a_changed_policy_applies_from_the_next_read_of_the_listener(
    ca: LocalCA, cert: PemCert, backend: LoopbackServer
) -> None:
    source = Listener(listener_for(backend, "HTTP2Preferred"))
    async with NlbStandIn(source, {CERT_ARN: cert}, poll_interval=0.05) as standin:
        await standin.refresh()
        assert await negotiate(ca, standin.port, ["h2", "http/1.1"]) == "h2"
        source.state = listener_for(backend, "HTTP1Only")
        reads = source.reads
        while source.reads < reads + 2:  # the poller read it at least once since the change
            await asyncio.sleep(0.02)
        assert standin.state is not None and standin.state.alpn_policy == "HTTP1Only"
        assert await negotiate(ca, standin.port, ["h2", "http/1.1"]) == "http/1.1"


@pytest.mark.parametrize(
    ("state", "problem"),
    [
        (None, "no listener yet"),
        (ListenerState("HTTP2Preferred", None, "arn:aws:acm:x:1:certificate/other", ()), "no key"),
    ],
)
async def test_without_a_listener_or_its_certificates_key_no_tls_is_offered(
    ca: LocalCA, cert: PemCert, state: ListenerState | None, problem: str
) -> None:
    async with NlbStandIn(Listener(state), {CERT_ARN: cert}, poll_interval=60) as standin:
        await standin.refresh()
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            await negotiate(ca, standin.port, ["h2"])
        assert problem in standin.stats.problems[-1]


class FakeElbv2:
    """DescribeListeners / DescribeTargetHealth answers as boto3 returns them."""

    def __init__(self, health: list[str]) -> None:
        self.health = health

    def describe_listeners(self, ListenerArns: list[str]) -> dict[str, Any]:
        return {
            "Listeners": [
                {
                    "ListenerArn": ListenerArns[0],
                    "Port": 443,
                    "Protocol": "TLS",
                    "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                    "AlpnPolicy": ["HTTP2Optional"],
                    "Certificates": [{"CertificateArn": CERT_ARN}],
                    "DefaultActions": [{"Type": "forward", "TargetGroupArn": "arn:tg"}],
                }
            ]
        }

    def describe_target_health(self, TargetGroupArn: str) -> dict[str, Any]:
        assert TargetGroupArn == "arn:tg"
        return {
            "TargetHealthDescriptions": [
                {"Target": {"Id": f"127.0.0.{i + 1}", "Port": 8443}, "TargetHealth": {"State": s}}
                for i, s in enumerate(self.health)
            ]
        }


def test_the_listener_is_read_as_aws_describes_it() -> None:
    read = elbv2_listener_source(FakeElbv2(["unhealthy", "healthy"]), lambda: "arn:listener")
    assert read() == ListenerState(
        alpn_policy="HTTP2Optional",
        ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        certificate_arn=CERT_ARN,
        targets=(Target("127.0.0.2", 8443),),
        port=443,
    )


def test_when_no_target_is_healthy_the_stand_in_fails_open_like_an_nlb() -> None:
    read = elbv2_listener_source(FakeElbv2(["unhealthy", "unhealthy"]), lambda: "arn:listener")
    state = read()
    assert state is not None
    assert state.targets == (Target("127.0.0.1", 8443), Target("127.0.0.2", 8443))


def test_no_listener_arn_yet_means_no_listener() -> None:
    assert elbv2_listener_source(FakeElbv2([]), lambda: None)() is None
