"""Probe sockets and probe CPU for N endpoints: the operator's shared HTTP/2 prober, one round.

N endpoints (``svc-<i>.vpce.example.com``, one wildcard certificate) are probed at once, as
when every endpoint's interval comes due together, through one :class:`Prober` with the
operator's default ``--probe-max-connections``. The HTTP/2 server (the project's loopback
h2 server) runs on its own thread and loop, so the CPU measured is the prober's thread's only.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

from ..testing.tlsserver import LocalCA, LoopbackServer

DOMAIN = "vpce.example.com"


class _ServerThread:
    def __init__(self, ca: LocalCA) -> None:
        self._cert = ca.issue(f"*.{DOMAIN}")
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._run, name="probe-bench-server", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with LoopbackServer(cert=self._cert, alpn=["h2", "http/1.1"]) as server:
                self.port = server.port
                self._ready.set()
                await self._stop.wait()

        asyncio.run(main())

    def __enter__(self) -> _ServerThread:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


async def _round(n: int, port: int, ca_pem: str, max_connections: int) -> dict[str, Any]:
    from ..probe import ProbeTarget
    from ..probe.prober import Prober

    async def loopback(host: str, port: int) -> Sequence[str]:
        return ["127.0.0.1"]

    targets = [
        ProbeTarget(f"svc-{i}.{DOMAIN}", port=port, ca_bundle=ca_pem, timeout=30.0)
        for i in range(n)
    ]
    async with Prober(max_connections=max_connections, resolver=loopback) as prober:
        await prober.probe(targets[0])  # warm up: imports, SSL context for the bundle
        cpu, wall = time.thread_time(), time.perf_counter()
        results = await prober.probe_many(targets)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        stats = prober.stats
    return {
        "endpoints": n,
        "h2_ready": sum(1 for r in results if r.ready),
        "max_connections": max_connections,
        "max_open_sockets": stats.max_open,
        "seconds": round(wall, 3),
        "prober_cpu_seconds": round(cpu, 3),
        "cpu_ms_per_probe": round(1000 * cpu / max(n, 1), 2),
    }


def measure_probes(n: int, max_connections: int = 20) -> dict[str, Any]:
    ca = LocalCA()
    with _ServerThread(ca) as server:
        return asyncio.run(_round(n, server.port, ca.cert_pem, max_connections))
