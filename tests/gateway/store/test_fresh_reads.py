"""FreshReads: reads are shared, but never one that began before the caller asked."""

from __future__ import annotations

import asyncio

import pytest

from gateway.store.agreements import FreshReads


class Counter:
    """A store whose value moves when told; each read is held until released."""

    def __init__(self) -> None:
        self.value = 0
        self.reads = 0
        self.gates: list[asyncio.Event] = []

    async def read(self) -> int:
        self.reads += 1
        seen = self.value  # the value when the read began
        gate = asyncio.Event()
        self.gates.append(gate)
        await gate.wait()
        return seen

    async def release_all(self) -> None:
        while any(not g.is_set() for g in self.gates):
            for gate in self.gates:
                gate.set()
            await asyncio.sleep(0)


async def test_a_caller_arriving_during_a_read_gets_a_later_one() -> None:
    store = Counter()
    reads = FreshReads(store.read)
    first = asyncio.create_task(reads.read())
    while store.reads == 0:
        await asyncio.sleep(0)  # until the first read has begun, seeing 0
    store.value = 1  # a revocation commits while that read is in flight
    second = asyncio.create_task(reads.read())
    third = asyncio.create_task(reads.read())
    await asyncio.sleep(0)
    while not (first.done() and second.done() and third.done()):
        await store.release_all()
        await asyncio.sleep(0)
    assert await first == 0
    assert await second == 1 and await third == 1  # never the read that began before them
    assert store.reads == 2  # the two late callers shared one read


async def test_sequential_callers_each_read() -> None:
    store = Counter()
    reads = FreshReads(store.read)
    for expected in range(3):
        store.value = expected
        task = asyncio.create_task(reads.read())
        while not task.done():
            await store.release_all()
            await asyncio.sleep(0)
        assert await task == expected
    assert store.reads == 3


async def test_a_failed_read_fails_its_waiters_and_the_next_read_is_fresh() -> None:
    calls = 0

    async def flaky() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        if calls == 1:
            raise OSError("store down")
        return 7

    reads = FreshReads(flaky)
    first = asyncio.create_task(reads.read())
    await asyncio.sleep(0)
    second = asyncio.create_task(reads.read())
    with pytest.raises(OSError):
        await first
    assert await second == 7  # the queued read ran after the failure
    assert await reads.read() == 7


async def test_a_cancelled_waiter_does_not_cancel_the_shared_read() -> None:
    store = Counter()
    reads = FreshReads(store.read)
    first = asyncio.create_task(reads.read())
    while store.reads == 0:
        await asyncio.sleep(0)
    second = asyncio.create_task(reads.read())
    third = asyncio.create_task(reads.read())
    await asyncio.sleep(0)
    second.cancel()
    while not (first.done() and third.done()):
        await store.release_all()
        await asyncio.sleep(0)
    assert await first == 0 and await third == 0
    assert second.cancelled()
