"""Worker slots for reconcile passes, handed out by priority: finish what was started first.

Passes run in threads (boto3 blocks) and may wait there for rate-limit tokens. When 500
objects are applied at once, every one's first pass is queued at once; with a first-come queue
the second pass of an object (its endpoint service, once the NLB is active) would wait behind
all 500 first passes, so EC2's writes would start only after every NLB was created, and the
slowest rate limit would be used for half the time. :class:`Slots` lets a pass of an object
that is already converging go before the first pass of a new one: the chain of each object
flows on, and every service's rate limit is busy at once.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Priorities: lower goes first.
CONVERGING = 0  # an object whose last pass wrote or waits for AWS
OTHER = 1  # first passes, drift checks


class Slots:
    """At most ``size`` passes in threads at once; the others wait by (priority, arrival)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.free = size
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrival = itertools.count()

    @property
    def waiting(self) -> int:
        return sum(1 for _, _, f in self._waiting if not f.done())

    async def run(self, priority: int, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a thread once a slot is free for ``priority``."""
        await self._acquire(priority)
        try:
            return await asyncio.to_thread(fn)
        finally:
            self._release()

    async def _acquire(self, priority: int) -> None:
        if self.free > 0 and not self.waiting:
            self.free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._arrival), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # handed a slot, but cancelled before it could use it
            raise

    def _release(self) -> None:
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)
                return
        self.free += 1
