"""One scheduler for every object's passes, instead of a kopf daemon each (issue #9, memory).

A kopf daemon per object costs about 16 KB of resident memory an object with nothing in it
(its task, its stopper's threading and asyncio events, kopf's live copy of the body; measured
with a no-op daemon and 500 objects), and the loop the operator ran in it another few KB (a
waiter task and a stopper task for every sleep). Here every object is an :class:`Entry` of a
few slots in one dict, its next pass a place in one heap, and a task exists only while a pass
runs.

What the daemons gave, and how it is kept:

- One pass at a time for an object: an entry is not started again while its pass runs; a
  wake-up during a pass makes the next one due as soon as it ends.
- Nothing before kopf's finalizer: an object is scheduled only once its body carries the
  operator's finalizer (kopf adds it first), so whatever a pass creates in AWS has a deletion
  handler to remove it.
- Stopping before deletion: an object whose body has a ``deletionTimestamp`` gets no new pass;
  the deletion handler takes the object's lock, so it waits for a pass already running.
- kopf peering (two replicas): when kopf pauses the operator (a peer with a higher priority),
  it stops every daemon through its daemon killer, which goes over the operator's resource
  memories. :func:`pausing_memories` are those memories, and tell the scheduler to pause: no
  pass starts until a watch event arrives again (kopf streams events only once resumed, and
  re-lists every object then). The killer asks again every second while paused.
- A prompt exit: kopf's cleanup closes the scheduler, which starts nothing more and waits for
  the passes in flight (each is one reconcile in a thread; it cannot be interrupted anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

logger = logging.getLogger(__name__)

Key = tuple[str, str, str]  # plural, namespace, name


class Entry:
    """One object: its latest body (from its last watch event) and when its next pass is due."""

    __slots__ = ("body", "due", "failures", "key", "ready", "running", "state", "uid", "woken")

    def __init__(self, key: Key, uid: str, body: Mapping[str, Any]) -> None:
        self.key = key
        self.uid = uid
        self.body = body
        self.due = 0.0
        self.running = False
        self.woken = False
        self.failures = 0  # passes in a row that failed (the backoff)
        self.state: Any = None  # what a kind's passes keep between passes
        self.ready = False  # has the finalizer and is not being deleted

    @property
    def plural(self) -> str:
        return self.key[0]

    @property
    def namespace(self) -> str:
        return self.key[1]

    @property
    def name(self) -> str:
        return self.key[2]


def _ready(body: Mapping[str, Any], finalizer: str) -> bool:
    metadata = body.get("metadata") or {}
    return finalizer in (metadata.get("finalizers") or []) and not metadata.get("deletionTimestamp")


class Scheduler:
    """Runs ``run_pass(entry)`` for each object when it is due; ``run_pass`` returns the seconds
    until the object's next pass (it handles its own errors: one that escapes is logged and the
    object is tried again in a minute)."""

    def __init__(self, run_pass: Callable[[Entry], Awaitable[float]], finalizer: str) -> None:
        self.run_pass = run_pass
        self.finalizer = finalizer
        self.entries: dict[Key, Entry] = {}
        self.paused = False
        self.closed = False
        self._heap: list[tuple[float, int, Key]] = []
        self._order = itertools.count()
        self._running: set[asyncio.Task[None]] = set()
        self._changed: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._on_forget: list[Callable[[Entry], None]] = []

    # -- what the watch says ---------------------------------------------------------------

    def observe(self, plural: str, body: Mapping[str, Any]) -> Entry:
        """A watch event (not DELETED) of an object: keep its body; schedule it if it is new."""
        metadata = body.get("metadata") or {}
        key = (plural, str(metadata.get("namespace") or ""), str(metadata.get("name")))
        uid = str(metadata.get("uid"))
        self.resume()
        entry = self.entries.get(key)
        if entry is not None and entry.uid != uid:  # deleted and created again, DELETED unseen
            self.forget(plural, key[1], key[2])
            entry = None
        if entry is None:
            entry = self.entries[key] = Entry(key, uid, body)
        entry.body = body
        was_ready, entry.ready = entry.ready, _ready(body, self.finalizer)
        if entry.ready and not was_ready:
            self._due(entry, 0.0)
        return entry

    def forget(self, plural: str, namespace: str, name: str) -> bool:
        """The object is gone (its DELETED event); whether it had an entry (then the hooks
        of :meth:`on_forget` ran for it)."""
        entry = self.entries.pop((plural, namespace, name), None)
        if entry is None:
            return False
        entry.ready = False
        for hook in self._on_forget:
            hook(entry)
        return True

    def on_forget(self, hook: Callable[[Entry], None]) -> None:
        self._on_forget.append(hook)

    def wake(self, plural: str, namespace: str, name: str) -> None:
        """Its next pass now (a spec change, its Service's endpoints changed)."""
        entry = self.entries.get((plural, namespace, name))
        if entry is None:
            return
        entry.woken = True
        if not entry.running:
            self._due(entry, 0.0)

    # -- kopf peering and exit ---------------------------------------------------------------

    def pause(self) -> None:
        if not self.paused:
            logger.info(
                "passes paused: kopf stops its daemons (peering hands the work to another "
                "replica, or the operator exits)"
            )
        self.paused = True

    def resume(self) -> None:
        if self.paused and not self.closed:
            logger.info("passes resumed: kopf streams watch events again")
            self.paused = False
            self._notify()

    async def close(self, timeout: float = 60.0) -> None:
        """Start nothing more; wait up to ``timeout`` for the passes in flight, then cancel them."""
        self.closed = self.paused = True
        if self._task is not None:
            self._task.cancel()
        running = list(self._running)
        if running:
            _, pending = await asyncio.wait(running, timeout=timeout)
            for task in pending:
                task.cancel()

    # -- the loop --------------------------------------------------------------------------

    def _loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    def _due(self, entry: Entry, delay: float) -> None:
        entry.due = self._loop_time() + delay
        heapq.heappush(self._heap, (entry.due, next(self._order), entry.key))
        if delay <= 0 or (self._heap and self._heap[0][2] == entry.key):
            self._notify()

    def _notify(self) -> None:
        self._ensure_started()
        if self._changed is not None:
            self._changed.set()

    def _ensure_started(self) -> None:
        """The loop's task, started from the first watch event: in kopf's context, where
        ``kopf.event`` finds its queue."""
        if self.closed:
            return
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._changed = asyncio.Event()
            self._task = loop.create_task(self._run(), name="privatelink passes")

    async def _run(self) -> None:
        assert self._changed is not None
        changed = self._changed
        while not self.closed:
            changed.clear()
            timeout: float | None = None
            if not self.paused:
                now = self._loop_time()
                while self._heap and self._heap[0][0] <= now:
                    due, _, key = heapq.heappop(self._heap)
                    entry = self.entries.get(key)
                    if entry is None or entry.due != due or entry.running or not entry.ready:
                        continue  # superseded: forgotten, rescheduled, running or stopping
                    self._start(entry)
                if self._heap:
                    timeout = max(0.0, self._heap[0][0] - now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout)

    def _start(self, entry: Entry) -> None:
        entry.running = True
        task = asyncio.get_running_loop().create_task(self._one(entry))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _one(self, entry: Entry) -> None:
        delay = 60.0
        try:
            delay = await self.run_pass(entry)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("[%s/%s] pass failed; trying again in a minute", *entry.key[1:])
        finally:
            entry.running = False
        if self.entries.get(entry.key) is entry and entry.ready:
            self._due(entry, 0.0 if entry.woken else delay)

    # -- for tests ---------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return len(self._running)


def pausing_memories(scheduler: Scheduler) -> Any:
    """kopf's resource memories (``kopf.operator(memories=...)``), telling ``scheduler`` when
    kopf stops every daemon.

    kopf's daemon killer goes over the daemons of every resource memory when the operator is
    paused by peering (and every second while it stays paused), and once when it exits; that
    is the moment no pass may start any more. kopf has no public hook for it: this one is
    tested against the pinned kopf (tests/unit/test_scheduler.py)."""
    from kopf._core.reactor.inventory import ResourceMemories

    class PausingMemories(ResourceMemories):
        def iter_all_daemon_memories(self) -> Iterator[Any]:
            scheduler.pause()
            yield from super().iter_all_daemon_memories()

    return PausingMemories()
