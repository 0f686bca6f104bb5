"""The probe against real TLS servers on loopback (trustme certificates, h2 / HTTP/1.1)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest

from privatelink_operator.probe import Prober, ProbeResult, ProbeTarget, Reason
from privatelink_operator.testing.tlsserver import LocalCA, LoopbackServer, PemCert

HOST = "vpce.probe.test"  # the certificate fixtures in conftest.py are issued for it
# Probes that should end on their own (an answer, a refusal, a bad certificate) get a generous
# deadline: on a loaded 2-core CI machine a loopback TLS handshake can take well over a second,
# and a deadline hit there would turn the reason into Timeout. Tests about the deadline itself
# use DEADLINE against a server that never answers, so the timeout cannot come from elsewhere.
TIMEOUT = 10.0
DEADLINE = 2.0
GUARD = 30.0  # the test's own limit, longer than any probe deadline
StartServer = Callable[..., Awaitable[LoopbackServer]]


@pytest.fixture
async def prober() -> AsyncIterator[Prober]:
    async with Prober(max_connections=4) as shared:
        yield shared


async def probe_server(
    server: LoopbackServer,
    *,
    ca_bundle: str | None,
    host: str = HOST,
    timeout: float = TIMEOUT,
    **kwargs: Any,
) -> tuple[ProbeResult, Prober]:
    """Probe ``host`` served by ``server`` via a resolve override, as --probe-resolve does."""
    prober = Prober(resolve=[f"{host}:{server.port}:{server.host}"])
    async with prober, asyncio.timeout(GUARD):
        result = await prober.probe(
            ProbeTarget(host, server.port, timeout=timeout, ca_bundle=ca_bundle, **kwargs)
        )
    return result, prober


async def test_server_offering_h2_and_http11_is_ready_with_full_status(
    serve: StartServer, ca: LocalCA, good_cert: PemCert
) -> None:
    server = await serve(cert=good_cert, alpn=["h2", "http/1.1"], status=200)
    result, _ = await probe_server(server, ca_bundle=ca.cert_pem)
    status = result.to_status()
    assert status["ready"] is True, status["message"]
    assert status["reason"] == "H2Negotiated"
    assert status["alpn"] == "h2" and status["httpVersion"] == "HTTP/2"
    assert status["statusCode"] == 200
    assert status["tlsVersion"] in ("TLSv1.2", "TLSv1.3")
    assert status["certificate"]["dnsNames"] == [HOST]
    assert status["certificate"]["subject"].startswith(f"CN={HOST},")
    assert "privatelink-operator test CA" in status["certificate"]["issuer"]
    assert status["certificate"]["notAfter"].endswith("Z")
    assert isinstance(status["latencyMs"], int) and status["latencyMs"] >= 0
    assert status["lastProbeTime"].endswith("Z")


async def test_resolve_override_keeps_sni_and_host_on_the_hostname(
    serve: StartServer, ca: LocalCA, good_cert: PemCert
) -> None:
    server = await serve(cert=good_cert)
    result, _ = await probe_server(server, ca_bundle=ca.cert_pem, path="/healthz")
    assert result.ready, result.message
    assert result.peer_address == ("127.0.0.1", server.port)
    assert server.stats.sni == [HOST]
    [request] = server.stats.requests
    assert (request.http_version, request.method, request.path) == ("HTTP/2", "GET", "/healthz")
    assert request.authority == f"{HOST}:{server.port}"


async def test_server_offering_only_http11_is_not_ready_because_h2_was_not_negotiated(
    serve: StartServer, ca: LocalCA, good_cert: PemCert
) -> None:
    server = await serve(cert=good_cert, alpn=["http/1.1"])
    result, _ = await probe_server(server, ca_bundle=ca.cert_pem)
    assert not result.ready
    assert result.reason is Reason.H2_NOT_NEGOTIATED
    assert result.message.startswith("HTTP/2 was not negotiated")
    assert (result.alpn, result.http_version, result.status_code) == ("http/1.1", "HTTP/1.1", 200)
    assert server.stats.requests[0].http_version == "HTTP/1.1"


async def test_server_without_alpn_like_nlb_policy_none_is_not_ready(
    serve: StartServer, ca: LocalCA, good_cert: PemCert
) -> None:
    server = await serve(cert=good_cert, alpn=None)
    result, _ = await probe_server(server, ca_bundle=ca.cert_pem)
    assert not result.ready and result.reason is Reason.H2_NOT_NEGOTIATED
    assert result.alpn is None and result.http_version == "HTTP/1.1"
    assert "selected no ALPN protocol" in result.message


async def test_server_offering_only_h2_is_ready(
    serve: StartServer, ca: LocalCA, good_cert: PemCert
) -> None:
    server = await serve(cert=good_cert, alpn=["h2"])
    result, _ = await probe_server(server, ca_bundle=ca.cert_pem)
    assert result.ready, result.message
    assert server.stats.alpn == ["h2"]


async def test_server_preferring_http11_like_nlb_http2optional_is_not_ready(
    serve: StartServer, ca: LocalCA, good_cert: PemCert
) -> None:
    # OpenSSL servers pick by their own list order, so h2 offered first by the probe loses.
    server = await serve(cert=good_cert, alpn=["http/1.1", "h2"])
    result, _ = await probe_server(server, ca_bundle=ca.cert_pem)
    assert result.alpn_offered == ("h2", "http/1.1")
    assert result.alpn == "http/1.1" and result.reason is Reason.H2_NOT_NEGOTIATED


async def test_a_403_over_h2_is_ready_unless_expected_statuses_say_otherwise(
    serve: StartServer, ca: LocalCA, good_cert: PemCert
) -> None:
    server = await serve(cert=good_cert, status=403)
    result, _ = await probe_server(server, ca_bundle=ca.cert_pem)
    assert result.ready and result.status_code == 403
    strict, _ = await probe_server(
        server, ca_bundle=ca.cert_pem, expected_statuses=frozenset({200, 204})
    )
    assert not strict.ready and strict.reason is Reason.UNEXPECTED_STATUS
    assert strict.http_version == "HTTP/2" and strict.status_code == 403


FAILURES: dict[str, tuple[Reason, str]] = {
    "wrong hostname": (Reason.HOSTNAME_MISMATCH, "Hostname mismatch"),
    "expired certificate": (Reason.CERTIFICATE_EXPIRED, "certificate has expired"),
    "unknown CA": (Reason.UNKNOWN_CA, "unable to get local issuer certificate"),
    "plain TCP, no TLS": (Reason.NOT_TLS, "does not speak TLS"),
    "nothing listening": (Reason.CONNECTION_REFUSED, "refused"),
    "stalls after accepting TCP": (Reason.TIMEOUT, "never answered the ClientHello"),
    "closes during the handshake": (Reason.TLS_HANDSHAKE_FAILED, "closed the connection"),
}


async def start_failing_server(
    case: str, serve: StartServer, ca: LocalCA, untrusted_ca: LocalCA
) -> LoopbackServer:
    if case == "wrong hostname":
        return await serve(cert=ca.issue("other.probe.test"))
    if case == "expired certificate":
        return await serve(cert=ca.issue_expired(HOST))
    if case == "unknown CA":
        return await serve(cert=untrusted_ca.issue(HOST))
    if case == "plain TCP, no TLS":
        return await serve(mode="plain")
    if case == "stalls after accepting TCP":
        return await serve(mode="stall")
    if case == "closes during the handshake":
        return await serve(mode="close")
    assert case == "nothing listening"
    placeholder = await serve(mode="stall")
    await placeholder.aclose()  # the port is now closed: connections are refused
    return placeholder


@pytest.mark.parametrize("case", list(FAILURES))
async def test_each_failure_is_not_ready_with_its_own_reason_within_the_timeout(
    case: str, serve: StartServer, ca: LocalCA, untrusted_ca: LocalCA
) -> None:
    server = await start_failing_server(case, serve, ca, untrusted_ca)
    reason, says = FAILURES[case]
    timeout = DEADLINE if reason is Reason.TIMEOUT else TIMEOUT
    started = time.monotonic()
    result, prober = await probe_server(server, ca_bundle=ca.cert_pem, timeout=timeout)
    elapsed = time.monotonic() - started
    print(f"{case}: {result.reason} after {elapsed:.2f}s: {result.message}")
    assert not result.ready
    assert result.reason is reason, result.message
    assert says in result.message
    assert result.to_status()["ready"] is False
    # Bounded by the probe's own deadline (for the stalling server: 2 s, far below GUARD).
    assert elapsed < timeout + 3
    assert prober.stats.open == 0  # no socket left behind, even after a timeout


def test_failure_reasons_are_distinct() -> None:
    reasons = [reason for reason, _ in FAILURES.values()]
    assert len(set(reasons)) == len(reasons)


async def test_private_ca_bundle_as_configmap_text_makes_the_server_ready(
    serve: StartServer, untrusted_ca: LocalCA
) -> None:
    server = await serve(cert=untrusted_ca.issue(HOST))
    without, _ = await probe_server(server, ca_bundle=None)
    assert without.reason is Reason.UNKNOWN_CA
    configmap_text = "# corp-ca, key ca.crt\n" + untrusted_ca.cert_pem
    with_bundle, _ = await probe_server(server, ca_bundle=configmap_text)
    assert with_bundle.ready, with_bundle.message


async def test_a_ca_bundle_without_certificates_is_reported_not_raised(
    serve: StartServer, good_cert: PemCert
) -> None:
    server = await serve(cert=good_cert)
    result, _ = await probe_server(server, ca_bundle="not a certificate")
    assert not result.ready and result.reason is Reason.INVALID_CA_BUNDLE
    assert "BEGIN CERTIFICATE" in result.message
    assert server.stats.accepted == 0


async def test_dns_failure_is_reported(prober: Prober) -> None:
    async with asyncio.timeout(GUARD):
        result = await prober.probe(ProbeTarget("no-such-endpoint.invalid", timeout=TIMEOUT))
    assert not result.ready
    assert result.reason is Reason.DNS_FAILURE, result.message


async def test_injected_resolver_failure_is_dns_failure() -> None:
    async def resolver(host: str, port: int) -> Sequence[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async with Prober(resolver=resolver) as prober:
        result = await prober.probe(ProbeTarget("vpce.example.com", timeout=TIMEOUT))
    assert result.reason is Reason.DNS_FAILURE
    assert "Name or service not known" in result.message


async def test_system_resolver_is_used_without_override(serve: StartServer, ca: LocalCA) -> None:
    server = await serve(cert=ca.issue("localhost"))
    async with Prober() as prober, asyncio.timeout(GUARD):
        result = await prober.probe(
            ProbeTarget("localhost", server.port, timeout=TIMEOUT, ca_bundle=ca.cert_pem)
        )
    assert result.ready, result.message
    assert "127.0.0.1" in result.resolved_addresses and not result.resolve_override


async def test_override_addresses_are_tried_in_order(
    serve: StartServer, ca: LocalCA, good_cert: PemCert
) -> None:
    server = await serve(cert=good_cert)
    # 127.0.0.2 is loopback too, but nothing listens there: refused, then the next address.
    rule = f"{HOST}:{server.port}:127.0.0.2,127.0.0.1"
    async with Prober(resolve=[rule]) as prober, asyncio.timeout(GUARD):
        result = await prober.probe(
            ProbeTarget(HOST, server.port, timeout=TIMEOUT, ca_bundle=ca.cert_pem)
        )
    assert result.ready, result.message
    assert result.resolved_addresses == ("127.0.0.2", "127.0.0.1")
    assert result.peer_address == ("127.0.0.1", server.port)


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback")
async def test_ipv6_override_address(serve: StartServer, ca: LocalCA, good_cert: PemCert) -> None:
    server = await serve(cert=good_cert, host="::1")
    async with Prober(resolve=[f"{HOST}:{server.port}:[::1]"]) as prober, asyncio.timeout(GUARD):
        result = await prober.probe(
            ProbeTarget(HOST, server.port, timeout=TIMEOUT, ca_bundle=ca.cert_pem)
        )
    assert result.ready, result.message
    assert result.peer_address is not None and result.peer_address[0] == "::1"


async def test_a_server_that_never_answers_the_request_times_out(
    serve: StartServer, ca: LocalCA, good_cert: PemCert
) -> None:
    # The response would come after a minute; the 2 s deadline leaves ample time for TCP and TLS
    # even on a loaded machine, so the timeout hits the HTTP exchange.
    server = await serve(cert=good_cert, response_delay=60)
    result, prober = await probe_server(server, ca_bundle=ca.cert_pem, timeout=DEADLINE)
    assert result.reason is Reason.TIMEOUT
    assert "sent no HTTP response" in result.message
    assert result.alpn == "h2" and result.certificate is not None  # TLS details kept
    assert prober.stats.open == 0


async def test_every_probe_makes_a_fresh_connection_and_closes_it(
    serve: StartServer, ca: LocalCA, good_cert: PemCert
) -> None:
    server = await serve(cert=good_cert)
    async with Prober(resolve=[f"{HOST}:{server.port}:127.0.0.1"]) as prober:
        target = ProbeTarget(HOST, server.port, timeout=TIMEOUT, ca_bundle=ca.cert_pem)
        for _ in range(3):
            assert (await prober.probe(target)).ready
        assert prober.stats.opened == 3 and prober.stats.open == 0
    await server.wait_idle(timeout=5)
    assert server.stats.accepted == 3 and server.stats.tls_handshakes == 3


async def test_a_closed_prober_refuses_to_probe() -> None:
    prober = Prober()
    await prober.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await prober.probe(ProbeTarget("h.test"))
