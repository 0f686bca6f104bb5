"""Periodic probing: pure delay functions and a small scheduler built on them.

- After a ready result the next probe comes after ``interval`` (+/- ``jitter``).
- After ``n`` consecutive failures it comes after ``interval * 2**(n-1)``, capped at
  ``max(max_backoff, interval)`` (+/- jitter): a broken endpoint is not hammered, and the first
  retry still comes one interval later.
- The first probe of a new endpoint is spread over ``min(interval, first_spread)`` seconds so an
  operator restart with many endpoints does not probe them all in the same instant.
- ``trigger(key)`` probes now (the controller calls it when the endpoint or its spec changed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from .result import ProbeResult, ProbeTarget

__all__ = ["ProbeScheduler", "SupportsProbe", "initial_probe_delay", "next_probe_delay"]

log = logging.getLogger(__name__)


def next_probe_delay(
    interval: float,
    consecutive_failures: int,
    *,
    jitter: float = 0.1,
    max_backoff: float = 300.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds until the next probe. ``rand`` returns a float in [0, 1) (injectable for tests)."""
    if interval <= 0:
        raise ValueError("interval must be positive")
    if consecutive_failures <= 0:
        base = interval
    else:
        exponent = min(consecutive_failures - 1, 32)
        base = min(interval * 2.0**exponent, max(max_backoff, interval))
    return base * (1.0 + jitter * (2.0 * rand() - 1.0))


def initial_probe_delay(
    interval: float, *, first_spread: float = 10.0, rand: Callable[[], float] = random.random
) -> float:
    """Seconds until the first probe of a newly scheduled endpoint."""
    return rand() * min(interval, first_spread)


class SupportsProbe(Protocol):
    async def probe(self, target: ProbeTarget) -> ProbeResult: ...


ResultCallback = Callable[[str, ProbeResult], Awaitable[None]]


@dataclass
class _Entry:
    target: ProbeTarget
    interval: float
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    failures: int = 0
    last: ProbeResult | None = None
    next_delay: float | None = None
    task: asyncio.Task[None] | None = None


class ProbeScheduler:
    """Probe many endpoints periodically with one shared prober.

    ``on_result(key, result)`` is awaited after every probe (for example to patch
    ``status.h2``); its exceptions are logged and do not stop the schedule.
    """

    def __init__(
        self,
        prober: SupportsProbe,
        on_result: ResultCallback,
        *,
        jitter: float = 0.1,
        max_backoff: float = 300.0,
        first_spread: float = 10.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._prober = prober
        self._on_result = on_result
        self._jitter = jitter
        self._max_backoff = max_backoff
        self._first_spread = first_spread
        self._rand = rand
        self._entries: dict[str, _Entry] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def schedule(self, key: str, target: ProbeTarget, interval: float) -> None:
        """Start probing ``target`` under ``key``, or update it (a changed target probes now)."""
        if interval <= 0:
            raise ValueError("interval must be positive")
        entry = self._entries.get(key)
        if entry is not None:
            if entry.target != target or entry.interval != interval:
                entry.target, entry.interval, entry.failures = target, interval, 0
                entry.wake.set()
            return
        entry = _Entry(target=target, interval=interval)
        self._entries[key] = entry
        entry.task = asyncio.create_task(self._run(key, entry), name=f"h2-probe:{key}")

    def trigger(self, key: str) -> None:
        """Probe ``key`` now instead of waiting for its next turn."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.wake.set()

    def last_result(self, key: str) -> ProbeResult | None:
        entry = self._entries.get(key)
        return entry.last if entry is not None else None

    def next_delay(self, key: str) -> float | None:
        """The delay chosen after the last probe of ``key`` (None before the first)."""
        entry = self._entries.get(key)
        return entry.next_delay if entry is not None else None

    async def cancel(self, key: str) -> None:
        """Stop probing ``key`` (waits for a probe in flight to be cancelled)."""
        entry = self._entries.pop(key, None)
        if entry is not None and entry.task is not None:
            entry.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await entry.task

    async def aclose(self) -> None:
        """Stop every schedule. The prober is not closed (it is shared)."""
        for key in list(self._entries):
            await self.cancel(key)

    async def _run(self, key: str, entry: _Entry) -> None:
        delay = initial_probe_delay(
            entry.interval, first_spread=self._first_spread, rand=self._rand
        )
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(entry.wake.wait(), timeout=delay)
            entry.wake.clear()
            target = entry.target
            try:
                result = await self._prober.probe(target)
            except Exception:
                log.exception("h2 probe of %s (%s) raised", key, target.url)
                entry.failures += 1
            else:
                entry.last = result
                entry.failures = 0 if result.ready else entry.failures + 1
                try:
                    await self._on_result(key, result)
                except Exception:
                    log.exception("h2 probe result handler for %s raised", key)
            delay = next_probe_delay(
                entry.interval,
                entry.failures,
                jitter=self._jitter,
                max_backoff=self._max_backoff,
                rand=self._rand,
            )
            entry.next_delay = delay
