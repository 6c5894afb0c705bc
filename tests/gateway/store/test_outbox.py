from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from gateway.store import OutboxRepository, Store, append_event, outbox, retry_delay

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def test_an_event_is_written_with_its_transaction_and_only_then(store: Store) -> None:
    async with store.transaction() as conn:
        first = await append_event(conn, "access_request.submitted", "AR:1", {"n": 1}, now=T0)
    with pytest.raises(RuntimeError):
        async with store.transaction() as conn:
            await append_event(conn, "access_request.approved", "AR:1", {"n": 2}, now=T0)
            raise RuntimeError("the state change failed")
    async with store.connect() as conn:
        rows = (await conn.execute(sa.select(outbox.c.id, outbox.c.event))).all()
    assert [tuple(r) for r in rows] == [(first, "access_request.submitted")]


async def test_due_events_are_claimed_once_oldest_first(store: Store) -> None:
    clock = Clock()
    repo = OutboxRepository(store, clock=clock, lease=timedelta(minutes=2))
    async with store.transaction() as conn:
        ids = [await append_event(conn, "e", f"s{i}", {"i": i}, now=T0) for i in range(3)]
    claimed = await repo.claim_due(limit=2)
    assert [e.id for e in claimed] == ids[:2]
    assert claimed[0].payload == {"i": 0} and claimed[0].created_at == T0
    assert [e.id for e in await repo.claim_due()] == ids[2:]
    assert await repo.claim_due() == []  # all leased
    clock.now = T0 + timedelta(minutes=2)  # a dispatcher died: the lease runs out
    assert [e.id for e in await repo.claim_due()] == ids


async def test_a_failure_is_retried_after_a_growing_delay_and_kept(store: Store) -> None:
    clock = Clock()
    repo = OutboxRepository(store, clock=clock)
    async with store.transaction() as conn:
        await append_event(conn, "e", "s", {}, now=T0)
    (event,) = await repo.claim_due()
    due = await repo.mark_failed(event, ("http://a",), "answered 503")
    assert due == T0 + retry_delay(1)
    clock.now = due - timedelta(seconds=1)
    assert await repo.claim_due() == []
    clock.now = due
    (again,) = await repo.claim_due()
    assert again.attempts == 1 and again.delivered_to == ("http://a",)
    await repo.mark_failed(again, ("http://a",), "answered 500")
    async with store.connect() as conn:
        row = (await conn.execute(sa.select(outbox))).one()
    assert row.attempts == 2 and row.last_error == "answered 500"
    assert row.next_attempt_at == due + retry_delay(2)
    assert await repo.pending() == 1
    await repo.mark_delivered(again, ("http://a", "http://b"))
    assert await repo.pending() == 0
    clock.now = T0 + timedelta(days=1)
    assert await repo.claim_due() == []


def test_retry_delays_double_up_to_an_hour() -> None:
    assert [retry_delay(n).total_seconds() for n in range(1, 6)] == [2, 4, 8, 16, 32]
    assert retry_delay(12) == timedelta(hours=1)
    assert retry_delay(10_000) == timedelta(hours=1)


async def test_two_dispatchers_never_claim_the_same_event(store_url: str, store: Store) -> None:
    # Two stores on one database stand for two replicas (on SQLite, two processes).
    other = Store(store_url)
    try:
        async with store.transaction() as conn:
            for i in range(40):
                await append_event(conn, "e", f"s{i}", {}, now=T0)
        clock = Clock()
        repos = [OutboxRepository(s, clock=clock) for s in (store, other) for _ in range(2)]
        rounds = await asyncio.gather(*(r.claim_due(limit=7) for r in repos * 3))
        claimed = [e.id for batch in rounds for e in batch]
        assert len(claimed) == len(set(claimed))
        assert len(claimed) == 40
    finally:
        await other.aclose()
