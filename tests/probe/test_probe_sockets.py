"""Many endpoints, one prober: the number of open sockets stays bounded.

Counted at the server side (connections accepted and open at once), not trusted from the
client. Figures are printed (run with -s); only the bound is asserted, no timings.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from privatelink_operator.probe import Prober, ProbeResult, ProbeTarget
from privatelink_operator.testing.tlsserver import LocalCA, LoopbackServer

StartServer = Callable[..., Awaitable[LoopbackServer]]

ENDPOINTS = 200
LIMIT = 8


async def test_200_endpoints_probed_by_one_prober_stay_within_the_socket_bound(
    serve: StartServer, ca: LocalCA
) -> None:
    # One wildcard certificate, 200 distinct endpoint names, all pointed at one server that
    # holds every response for 50 ms so probes overlap.
    server = await serve(cert=ca.issue("*.probe.test"), response_delay=0.05)
    targets = [
        ProbeTarget(f"ep{i:03d}.probe.test", server.port, timeout=10, ca_bundle=ca.cert_pem)
        for i in range(ENDPOINTS)
    ]
    started = time.monotonic()
    async with Prober(max_connections=LIMIT, resolve=[f"*:{server.port}:127.0.0.1"]) as prober:
        async with asyncio.timeout(60):
            results = await prober.probe_many(targets)
        client = prober.stats
    elapsed = time.monotonic() - started
    await server.wait_idle(timeout=5)
    stats = server.stats
    print(
        f"\n{ENDPOINTS} endpoints, limit {LIMIT}: server accepted {stats.accepted} connections, "
        f"at most {stats.max_open} open at once (client saw {client.max_open}); "
        f"{sum(r.ready for r in results)} ready in {elapsed:.2f}s"
    )
    assert all(r.ready for r in results), {r.reason for r in results}
    assert {r.host for r in results} == {t.host for t in targets}
    assert stats.accepted == ENDPOINTS  # one fresh connection per probe, no retries
    assert stats.max_open <= LIMIT
    assert client.max_open <= LIMIT
    assert stats.max_open > 1  # the probes did overlap, so the bound was exercised
    assert stats.open == 0 and client.open == 0  # nothing left open afterwards
    assert len({r.request_headers for r in results}) == ENDPOINTS  # own Host per endpoint


async def test_failing_endpoints_release_their_sockets_too(serve: StartServer, ca: LocalCA) -> None:
    stalled = await serve(mode="stall")
    targets = [ProbeTarget(f"s{i}.probe.test", stalled.port, timeout=0.3) for i in range(12)]
    async with Prober(max_connections=4, resolve=[f"*:{stalled.port}:127.0.0.1"]) as prober:
        async with asyncio.timeout(20):
            results = await prober.probe_many(targets)
        assert prober.stats.open == 0
    await stalled.wait_idle(timeout=5)
    print(
        f"\n12 stalled endpoints, limit 4: accepted {stalled.stats.accepted}, "
        f"max open {stalled.stats.max_open}"
    )
    assert {r.reason for r in results} == {"Timeout"}
    assert stalled.stats.accepted == 12
    assert stalled.stats.max_open <= 4


async def test_a_probe_starting_right_after_anothers_tls_handshake_leaves_its_connection_alone(
    serve: StartServer, ca: LocalCA
) -> None:
    # Regression: with one httpcore pool per trust bundle and max_keepalive_connections=0, a new
    # HTTP/2 connection counts as idle for one event-loop turn between its TLS handshake and its
    # first request; a probe entering (or leaving) the pool in that turn closed it, and the first
    # probe failed with ProtocolError ("SEND_SETTINGS in state CLOSED", WriteError) or silently
    # opened a second connection. Under CPU load that turn is shared by many probes, so 200
    # probes through one prober lost a few. Here the second probe starts exactly in that turn,
    # from httpcore's trace hook on the first probe's request.
    server = await serve(cert=ca.issue("*.probe.test"))
    first = ProbeTarget("first.probe.test", server.port, timeout=10, ca_bundle=ca.cert_pem)
    second = ProbeTarget("second.probe.test", server.port, timeout=10, ca_bundle=ca.cert_pem)
    async with Prober(resolve=[f"*:{server.port}:127.0.0.1"]) as prober:
        started: list[asyncio.Task[ProbeResult]] = []

        async def trace(event: str, info: dict[str, Any]) -> None:
            if event == "connection.start_tls.complete" and not started:
                started.append(asyncio.create_task(prober.probe(second)))

        async def add_trace(request: httpx.Request) -> None:
            if request.url.host == first.host:
                request.extensions["trace"] = trace

        # The prober's httpx client is private; its request hooks are the way in for the trace.
        prober._client.event_hooks["request"].append(add_trace)
        async with asyncio.timeout(30):
            results = [await prober.probe(first), await started[0]]
        client = prober.stats
    await server.wait_idle(timeout=5)
    assert [r.reason for r in results] == ["H2Negotiated", "H2Negotiated"], [
        r.message for r in results
    ]
    assert server.stats.accepted == 2 and client.opened == 2  # one connection each, no retry
    assert sorted(r.sni or "" for r in server.stats.requests) == [first.host, second.host]


async def test_concurrent_probes_of_one_endpoint_each_make_their_own_connection(
    serve: StartServer, ca: LocalCA
) -> None:
    # A pool would multiplex them over one HTTP/2 connection; each probe must see its own TCP
    # and TLS handshake. The server holds the responses so that the probes overlap.
    server = await serve(cert=ca.issue("ep.probe.test"), response_delay=0.2)
    target = ProbeTarget("ep.probe.test", server.port, timeout=10, ca_bundle=ca.cert_pem)
    async with Prober(resolve=[f"*:{server.port}:127.0.0.1"]) as prober:
        async with asyncio.timeout(30):
            results = await prober.probe_many([target] * 3)
        client = prober.stats
    await server.wait_idle(timeout=5)
    assert all(r.ready for r in results), [r.message for r in results]
    assert server.stats.accepted == 3 and server.stats.tls_handshakes == 3
    assert client.opened == 3 and client.open == 0
