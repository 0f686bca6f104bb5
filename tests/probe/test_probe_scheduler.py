"""Periodic probing: delay functions (pure), then the scheduler with a fake prober."""

from __future__ import annotations

import asyncio

import pytest

from privatelink_operator.probe import (
    ProbeResult,
    ProbeScheduler,
    ProbeTarget,
    Reason,
    initial_probe_delay,
    next_probe_delay,
)


class FakeProber:
    """Answers from a script of ready flags (the last one repeats)."""

    def __init__(self, script: list[bool]) -> None:
        self.script = script
        self.calls: list[ProbeTarget] = []

    async def probe(self, target: ProbeTarget) -> ProbeResult:
        ready = self.script[min(len(self.calls), len(self.script) - 1)]
        self.calls.append(target)
        return ProbeResult(
            ready=ready,
            reason=Reason.H2_NEGOTIATED if ready else Reason.TIMEOUT,
            message="",
            host=target.host,
            port=target.port,
        )


class Recorder:
    def __init__(self, scheduler_box: list[ProbeScheduler], wanted: int) -> None:
        self.box = scheduler_box
        self.results: list[tuple[str, bool, float | None]] = []
        self.done = asyncio.Event()
        self.wanted = wanted

    async def __call__(self, key: str, result: ProbeResult) -> None:
        # next_delay() still holds the delay chosen after the previous probe
        self.results.append((key, result.ready, self.box[0].next_delay(key)))
        if len(self.results) >= self.wanted:
            self.done.set()


def make(script: list[bool], wanted: int, **kwargs: float) -> tuple[ProbeScheduler, Recorder]:
    box: list[ProbeScheduler] = []
    recorder = Recorder(box, wanted)
    scheduler = ProbeScheduler(
        FakeProber(script), recorder, first_spread=0, rand=lambda: 0.5, **kwargs
    )
    box.append(scheduler)
    return scheduler, recorder


async def test_failures_back_off_exponentially_and_success_resets() -> None:
    scheduler, recorder = make([False, False, False, False, True, True], wanted=6)
    scheduler.schedule("ns/orders", ProbeTarget("h.test"), interval=0.01)
    async with asyncio.timeout(10):
        await recorder.done.wait()
    await scheduler.aclose()
    ready = [r for _, r, _ in recorder.results[:6]]
    delays = [d for _, _, d in recorder.results[:6]]
    assert ready == [False, False, False, False, True, True]
    assert delays[0] is None
    assert delays[1:] == pytest.approx([0.01, 0.02, 0.04, 0.08, 0.01])


async def test_backoff_is_capped() -> None:
    scheduler, recorder = make([False], wanted=5, max_backoff=0.02)
    scheduler.schedule("k", ProbeTarget("h.test"), interval=0.01)
    async with asyncio.timeout(10):
        await recorder.done.wait()
    await scheduler.aclose()
    delays = [d for _, _, d in recorder.results[:5]]
    assert delays[0] is None
    assert delays[1:] == pytest.approx([0.01, 0.02, 0.02, 0.02])


async def test_trigger_probes_now_instead_of_after_the_interval() -> None:
    scheduler, recorder = make([True], wanted=2)
    scheduler.schedule("k", ProbeTarget("h.test"), interval=3600)
    async with asyncio.timeout(5):
        while not recorder.results:
            await asyncio.sleep(0.01)
        scheduler.trigger("k")
        await recorder.done.wait()
    await scheduler.aclose()
    assert scheduler.last_result("k") is None  # cancelled keys are forgotten
    assert len(recorder.results) == 2


async def test_a_changed_target_is_probed_right_away() -> None:
    scheduler, recorder = make([True], wanted=2)
    scheduler.schedule("k", ProbeTarget("old.test"), interval=3600)
    async with asyncio.timeout(5):
        while not recorder.results:
            await asyncio.sleep(0.01)
        scheduler.schedule("k", ProbeTarget("old.test"), interval=3600)  # unchanged: no probe
        scheduler.schedule("k", ProbeTarget("new.test"), interval=3600)
        await recorder.done.wait()
    prober = scheduler._prober
    assert isinstance(prober, FakeProber)
    assert [t.host for t in prober.calls] == ["old.test", "new.test"]
    assert scheduler.last_result("k") is not None
    await scheduler.aclose()
    assert len(scheduler) == 0


async def test_a_failing_result_handler_does_not_stop_the_schedule() -> None:
    calls: list[str] = []

    async def handler(key: str, result: ProbeResult) -> None:
        calls.append(key)
        raise RuntimeError("status patch failed")

    scheduler = ProbeScheduler(FakeProber([True]), handler, first_spread=0)
    scheduler.schedule("k", ProbeTarget("h.test"), interval=0.01)
    async with asyncio.timeout(5):
        while len(calls) < 3:
            await asyncio.sleep(0.01)
    await scheduler.cancel("k")
    assert "k" not in scheduler


def test_interval_must_be_positive() -> None:
    scheduler = ProbeScheduler(FakeProber([True]), Recorder([], 1))
    with pytest.raises(ValueError):
        scheduler.schedule("k", ProbeTarget("h.test"), interval=0)


def test_delay_after_success_is_the_interval_with_jitter() -> None:
    assert next_probe_delay(30, 0, rand=lambda: 0.5) == pytest.approx(30)
    assert next_probe_delay(30, 0, rand=lambda: 0.0) == pytest.approx(27)
    assert next_probe_delay(30, 0, rand=lambda: 0.999999) == pytest.approx(33, rel=1e-4)


def test_delay_after_failures_doubles_up_to_the_cap() -> None:
    delays = [next_probe_delay(30, n, rand=lambda: 0.5, max_backoff=300) for n in range(1, 8)]
    assert delays == pytest.approx([30, 60, 120, 240, 300, 300, 300])
    assert next_probe_delay(30, 10_000, rand=lambda: 0.5) == pytest.approx(300)


def test_cap_never_shortens_a_long_interval() -> None:
    assert next_probe_delay(600, 3, rand=lambda: 0.5, max_backoff=300) == pytest.approx(600)


def test_first_probe_is_spread_over_at_most_the_spread_window() -> None:
    assert initial_probe_delay(30, rand=lambda: 0.5) == pytest.approx(5)
    assert initial_probe_delay(4, rand=lambda: 0.5) == pytest.approx(2)
    assert initial_probe_delay(30, first_spread=0, rand=lambda: 0.9) == 0
