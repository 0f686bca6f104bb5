"""The scheduler that runs every object's passes (privatelink_operator.scheduler)."""

from __future__ import annotations

import asyncio
from typing import Any

from privatelink_operator.scheduler import Entry, Scheduler, pausing_memories

FINALIZER = "example.dev/finalizer"
PLURAL = "widgets"


def body(name: str, *, finalizer: bool = True, deleting: bool = False, uid: str = "") -> Any:
    metadata: dict[str, Any] = {"name": name, "namespace": "ns", "uid": uid or f"uid-{name}"}
    if finalizer:
        metadata["finalizers"] = [FINALIZER]
    if deleting:
        metadata["deletionTimestamp"] = "2026-11-29T00:00:00Z"
    return {"metadata": metadata}


class Passes:
    """A pass function that records its calls and how many ran at once."""

    def __init__(self, delay: float = 60.0, duration: float = 0.0) -> None:
        self.delay = delay
        self.duration = duration
        self.calls: list[str] = []
        self.woken: list[bool] = []
        self.now = 0
        self.most = 0

    async def __call__(self, entry: Entry) -> float:
        self.calls.append(entry.name)
        self.woken.append(entry.woken)
        entry.woken = False
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(self.duration)
        finally:
            self.now -= 1
        return self.delay


async def settle(seconds: float = 0.05) -> None:
    await asyncio.sleep(seconds)


async def test_a_new_object_with_the_finalizer_gets_a_pass_at_once_and_then_at_its_delay() -> None:
    passes = Passes(delay=0.2)
    scheduler = Scheduler(passes, FINALIZER)
    scheduler.observe(PLURAL, body("a"))
    await settle()
    assert passes.calls == ["a"]
    await settle(0.1)
    assert passes.calls == ["a"]  # not before its delay
    await settle(0.2)
    assert passes.calls == ["a", "a"]
    await scheduler.close()


async def test_nothing_runs_before_the_finalizer_is_on_the_object() -> None:
    passes = Passes()
    scheduler = Scheduler(passes, FINALIZER)
    scheduler.observe(PLURAL, body("a", finalizer=False))
    scheduler.wake(PLURAL, "ns", "a")
    await settle()
    assert passes.calls == []
    scheduler.observe(PLURAL, body("a"))  # kopf added its finalizer: the next event
    await settle()
    assert passes.calls == ["a"]
    scheduler.observe(PLURAL, body("a"))  # more events of a scheduled object: no extra pass
    await settle()
    assert passes.calls == ["a"]
    await scheduler.close()


async def test_one_pass_at_a_time_per_object_and_a_wake_during_it_runs_the_next_at_once() -> None:
    passes = Passes(delay=60.0, duration=0.2)
    scheduler = Scheduler(passes, FINALIZER)
    scheduler.observe(PLURAL, body("a"))
    scheduler.observe(PLURAL, body("b"))
    await settle()
    for _ in range(3):
        scheduler.wake(PLURAL, "ns", "a")  # during a's first pass
    await settle(0.1)
    assert passes.calls == ["a", "b"] and passes.most == 2  # objects run side by side
    await settle(0.25)
    assert passes.calls == ["a", "b", "a"]  # woken: due as soon as its pass ended, once
    assert passes.woken == [False, False, True]
    await settle(0.3)
    assert passes.calls == ["a", "b", "a"]  # then its delay again
    await scheduler.close()


async def test_an_object_being_deleted_or_gone_gets_no_more_passes() -> None:
    passes = Passes(delay=0.05)
    forgotten: list[str] = []
    scheduler = Scheduler(passes, FINALIZER)
    scheduler.on_forget(lambda entry: forgotten.append(entry.name))
    scheduler.observe(PLURAL, body("a"))
    scheduler.observe(PLURAL, body("b"))
    await settle(0.02)
    scheduler.observe(PLURAL, body("a", deleting=True))  # its deletion handler's turn
    scheduler.forget(PLURAL, "ns", "b")  # its DELETED event
    scheduler.wake(PLURAL, "ns", "a")
    scheduler.wake(PLURAL, "ns", "b")
    await settle(0.2)
    assert sorted(passes.calls) == ["a", "b"]
    assert forgotten == ["b"]
    assert list(scheduler.entries) == [(PLURAL, "ns", "a")]
    await scheduler.close()


async def test_an_object_created_again_under_its_name_is_a_new_entry() -> None:
    passes = Passes()
    forgotten: list[str] = []
    scheduler = Scheduler(passes, FINALIZER)
    scheduler.on_forget(lambda entry: forgotten.append(entry.uid))
    first = scheduler.observe(PLURAL, body("a", uid="one"))
    first.state = "kept between passes"
    await settle()
    second = scheduler.observe(PLURAL, body("a", uid="two"))  # its DELETED event was missed
    await settle()
    assert forgotten == ["one"] and second is not first and second.state is None
    assert passes.calls == ["a", "a"]
    await scheduler.close()


async def test_paused_nothing_starts_until_a_watch_event_resumes_it() -> None:
    passes = Passes(delay=0.05)
    scheduler = Scheduler(passes, FINALIZER)
    scheduler.observe(PLURAL, body("a"))
    await settle(0.02)
    scheduler.pause()
    before = len(passes.calls)
    scheduler.wake(PLURAL, "ns", "a")
    await settle(0.2)
    assert len(passes.calls) == before  # paused: not even a woken object
    scheduler.observe(PLURAL, body("a"))  # kopf streams events only once resumed
    await settle(0.03)
    assert len(passes.calls) == before + 1
    await scheduler.close()


async def test_close_starts_nothing_more_and_waits_for_the_passes_in_flight() -> None:
    passes = Passes(delay=0.0, duration=0.2)
    scheduler = Scheduler(passes, FINALIZER)
    scheduler.observe(PLURAL, body("a"))
    await settle(0.02)
    assert scheduler.in_flight == 1
    await scheduler.close(timeout=5)
    assert scheduler.in_flight == 0 and passes.now == 0  # ended, not cancelled midway
    scheduler.observe(PLURAL, body("b"))
    await settle(0.1)
    assert passes.calls == ["a"]


async def test_a_pass_that_raises_is_tried_again_later_and_the_others_go_on() -> None:
    calls: list[str] = []

    async def run(entry: Entry) -> float:
        calls.append(entry.name)
        if entry.name == "a":
            raise RuntimeError("boom")
        return 0.05

    scheduler = Scheduler(run, FINALIZER)
    scheduler.observe(PLURAL, body("a"))
    scheduler.observe(PLURAL, body("b"))
    await settle(0.2)
    assert calls.count("a") == 1 and calls.count("b") >= 3
    await scheduler.close()


async def test_kopf_pausing_its_daemons_for_peering_pauses_the_scheduler() -> None:
    """The hook in kopf's resource memories, against the pinned kopf: its daemon killer, given
    the operator's pause toggle, pauses the scheduler when the toggle turns on."""
    import kopf
    from kopf._cogs.aiokits import aiotoggles
    from kopf._core.engines import daemons

    scheduler = Scheduler(Passes(), FINALIZER)
    paused = aiotoggles.ToggleSet(any)
    conflict = await paused.make_toggle(False, name="a peer with a higher priority")
    killer = asyncio.create_task(
        daemons.daemon_killer(
            settings=kopf.OperatorSettings(),
            memories=pausing_memories(scheduler),
            operator_paused=paused,
        )
    )
    await settle()
    assert not scheduler.paused
    await conflict.turn_to(True)
    await settle()
    assert scheduler.paused
    scheduler.observe(PLURAL, body("a"))  # resumed: a watch event
    assert not scheduler.paused
    await conflict.turn_to(False)
    killer.cancel()  # the operator exits: the killer stops every daemon once more
    await asyncio.gather(killer, return_exceptions=True)
    assert scheduler.paused
    await scheduler.close()
