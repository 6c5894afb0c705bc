"""The data demands' repository on SQLite and PostgreSQL: stale writes refused, one support
per caller even when sent twice at once, the anonymous window forgets old addresses."""

from __future__ import annotations

import asyncio
from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from gateway.store import (
    DemandRecord,
    DemandRepository,
    NewDemand,
    StaleDemand,
    Store,
    client_hash,
    receipt_hash,
)
from gateway.store.tables import data_demand_anonymous_submissions, data_demands

NOW = datetime(2026, 9, 29, 2, 0, tzinfo=UTC)


async def new_demand(repository: DemandRepository, **overrides: object) -> int:
    values: dict[str, object] = {
        "kind": "OPEN_DATA",
        "state": "ASSIGNED",
        "title": "Bus stops",
        "description": "step-free access",
        "dataset_id": None,
        "department": "transport",
        "department_name": "Transport Bureau",
        "themes": ("transport", "accessibility"),
        "purpose": None,
        "contact": {"name": None, "email": "a@example.cn", "phone": None},
        "submitter_id": None,
        "receipt_sha256": receipt_hash("ddr_x"),
        "due_at": NOW + timedelta(days=3),
        "assigned_at": NOW,
        "now": NOW,
    }
    values.update(overrides)
    async with repository.store.transaction() as conn:
        return await repository.insert(conn, NewDemand(**values))  # type: ignore[arg-type]


def test_a_record_has_one_field_per_column_and_its_themes() -> None:
    # The repository maps rows by name: a column without a field (or the reverse) fails here.
    names = {f.name for f in fields(DemandRecord)}
    assert names - {"themes"} == set(data_demands.c.keys())
    assert {f.name for f in fields(NewDemand)} - {"now"} < names


async def test_a_demand_reads_back_as_it_was_submitted(store: Store) -> None:
    repository = DemandRepository(store)
    demand_id = await new_demand(repository, purpose="a survey", dataset_id="ds-1")
    record = await repository.get(demand_id)
    assert record is not None
    submitted = {
        "kind": "OPEN_DATA",
        "state": "ASSIGNED",
        "title": "Bus stops",
        "description": "step-free access",
        "dataset_id": "ds-1",
        "department": "transport",
        "department_name": "Transport Bureau",
        "themes": ("accessibility", "transport"),  # read back sorted
        "purpose": "a survey",
        "contact": {"name": None, "email": "a@example.cn", "phone": None},
        "submitter_id": None,
        "receipt_sha256": receipt_hash("ddr_x"),
        "due_at": NOW + timedelta(days=3),
        "assigned_at": NOW,
        "id": demand_id,
        "support_count": 1,
        "answer_decision": None,
        "answer_reason": None,
        "answer_planned_date": None,
        "answer_dataset_ids": (),
        "answered_at": None,
        "answered_by": None,
        "answer_late": None,
        "close_reason": None,
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
    }
    assert {f.name: getattr(record, f.name) for f in fields(record)} == submitted


async def test_a_change_based_on_a_stale_read_is_refused(store: Store) -> None:
    repository = DemandRepository(store)
    demand_id = await new_demand(repository)
    first = await repository.get(demand_id)
    second = await repository.get(demand_id)
    assert first is not None and second is not None
    assert first.themes == ("accessibility", "transport")
    async with store.transaction() as conn:
        await repository.update(conn, first, NOW, state="ANSWERED", answer_decision="DECLINED")
    with pytest.raises(StaleDemand):
        async with store.transaction() as conn:
            await repository.update(conn, second, NOW, state="CLOSED")
    after = await repository.get(demand_id)
    assert after is not None
    assert (after.state, after.answer_decision, after.version) == ("ANSWERED", "DECLINED", 2)


async def test_one_support_per_caller_even_sent_twice_at_once(store: Store) -> None:
    repository = DemandRepository(store)
    demand_id = await new_demand(repository)

    async def support(caller: str) -> bool:
        async with store.transaction() as conn:
            return await repository.add_supporter(conn, demand_id, caller, NOW)

    added = await asyncio.gather(support("citizen-a"), support("citizen-a"), support("citizen-b"))
    assert sorted(added) == [False, True, True]
    record = await repository.get(demand_id)
    assert record is not None and record.support_count == 3
    assert await repository.has_supported(demand_id, "citizen-a")
    assert not await repository.has_supported(demand_id, "citizen-c")


async def test_the_anonymous_window_keeps_only_the_last_hour(store: Store) -> None:
    repository = DemandRepository(store)
    key, other = client_hash("203.0.113.7"), client_hash("198.51.100.1")
    hour = timedelta(hours=1)
    async with store.transaction() as conn:
        for minutes in (0, 30, 50):
            await repository.add_anonymous_submission(conn, key, NOW + timedelta(minutes=minutes))
        await repository.add_anonymous_submission(conn, other, NOW)
    async with store.transaction() as conn:
        seen = await repository.anonymous_submissions(conn, key, NOW + timedelta(minutes=70), hour)
    assert seen == [NOW + timedelta(minutes=30), NOW + timedelta(minutes=50)]
    async with store.connect() as conn:
        left = await conn.scalar(
            sa.select(sa.func.count()).select_from(data_demand_anonymous_submissions)
        )
    assert left == 2  # the other client's old row went too: no address outlives the hour
    assert key != client_hash("203.0.113.8") and len(key) == 64
