"""Throughput of the emulator: create + status-patch pairs per second, with a watch open.

``python -m privatelink_operator.testing.kube.bench [N ...]`` prints pairs/s for each N. The
client runs in this process (one aiohttp session, a few concurrent workers), the emulator in a
background thread, so the figure includes the client's own cost, as a kopf operator's would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import aiohttp

from .server import KubeEmulator

__all__ = ["BENCH_CRD", "measure_pairs_per_second"]

BENCH_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "benches.example.dev"},
    "spec": {
        "group": "example.dev",
        "scope": "Namespaced",
        "names": {"plural": "benches", "singular": "bench", "kind": "Bench"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {"n": {"type": "integer", "minimum": 0}},
                            },
                            "status": {
                                "type": "object",
                                "properties": {"phase": {"type": "string"}},
                            },
                        },
                    }
                },
            }
        ],
    },
}


async def _run(url: str, prefix: str, n: int, concurrency: int) -> tuple[float, int]:
    path = f"{url}/apis/example.dev/v1/namespaces/default/benches"
    seen = 0
    async with aiohttp.ClientSession() as session:

        async def watch() -> None:
            nonlocal seen
            async with session.get(path, params={"watch": "true"}) as response:
                async for _line in response.content:
                    seen += 1

        watcher = asyncio.create_task(watch())
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(n):
            queue.put_nowait(i)

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                body = {
                    "apiVersion": "example.dev/v1",
                    "kind": "Bench",
                    "metadata": {"name": f"{prefix}-{i}"},
                    "spec": {"n": i},
                }
                async with session.post(path, json=body) as response:
                    assert response.status == 201, await response.text()
                async with session.patch(
                    f"{path}/{prefix}-{i}/status",
                    data=json.dumps({"status": {"phase": "Done"}}),
                    headers={"Content-Type": "application/merge-patch+json"},
                ) as response:
                    assert response.status == 200, await response.text()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
            await watcher
    return n / elapsed, seen


def measure_pairs_per_second(
    emulator: KubeEmulator, n: int, *, concurrency: int = 8, prefix: str = "b"
) -> tuple[float, int]:
    """(pairs/s, watch events seen) for ``n`` create+status pairs against ``emulator``."""
    if emulator.get_or_none("apiextensions.k8s.io/v1", "CustomResourceDefinition",
                            "benches.example.dev") is None:  # fmt: skip
        emulator.register_crd(BENCH_CRD)
    return asyncio.run(_run(emulator.url, prefix, n, concurrency))


def main(argv: Sequence[str] | None = None) -> int:
    sizes = [int(a) for a in (argv if argv is not None else sys.argv[1:])] or [100, 1000]
    for n in sizes:
        with KubeEmulator(name="bench") as emulator:
            rate, _ = measure_pairs_per_second(emulator, n)
        print(f"N={n}: {rate:.0f} create+status pairs/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
