"""Worker slots: passes of converging objects go before first passes of new ones."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from privatelink_operator.slots import CONVERGING, OTHER, Slots


def test_waiting_passes_get_a_slot_by_priority_then_arrival() -> None:
    async def scenario() -> list[str]:
        slots = Slots(1)
        order: list[str] = []
        gate = threading.Event()

        def blocker() -> None:
            gate.wait(5)

        def work(name: str) -> str:
            order.append(name)
            return name

        first = asyncio.create_task(slots.run(OTHER, blocker))
        await asyncio.sleep(0.05)  # the only slot is taken
        waiting = [
            asyncio.create_task(slots.run(OTHER, lambda: work("new-1"))),
            asyncio.create_task(slots.run(OTHER, lambda: work("new-2"))),
            asyncio.create_task(slots.run(CONVERGING, lambda: work("converging-1"))),
            asyncio.create_task(slots.run(CONVERGING, lambda: work("converging-2"))),
        ]
        await asyncio.sleep(0.05)
        assert slots.waiting == 4
        gate.set()
        await first
        await asyncio.gather(*waiting)
        return order

    assert asyncio.run(scenario()) == ["converging-1", "converging-2", "new-1", "new-2"]


def test_no_more_passes_run_at_once_than_there_are_slots() -> None:
    async def scenario() -> int:
        slots = Slots(3)
        running = 0
        most = 0
        lock = threading.Lock()

        def work() -> None:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            threading.Event().wait(0.02)
            with lock:
                running -= 1

        await asyncio.gather(*(slots.run(OTHER, work) for _ in range(20)))
        assert slots.free == 3
        return most

    assert asyncio.run(scenario()) == 3


def test_a_pass_cancelled_while_waiting_does_not_lose_a_slot() -> None:
    async def scenario() -> int:
        slots = Slots(1)
        gate = threading.Event()
        holder = asyncio.create_task(slots.run(OTHER, lambda: gate.wait(5)))
        await asyncio.sleep(0.05)
        waiter = asyncio.create_task(slots.run(OTHER, lambda: None))
        await asyncio.sleep(0.05)
        waiter.cancel()
        gate.set()
        await holder
        await asyncio.sleep(0)
        # The slot came back; a new pass gets it at once.
        await asyncio.wait_for(slots.run(OTHER, lambda: None), 1)
        return slots.free

    assert asyncio.run(scenario()) == 1


def test_an_exception_in_a_pass_gives_its_slot_back() -> None:
    async def scenario() -> int:
        slots = Slots(1)

        def boom() -> None:
            raise ValueError("boom")

        with contextlib.suppress(ValueError):
            await slots.run(OTHER, boom)
        return slots.free

    assert asyncio.run(scenario()) == 1
