"""The access request and agreement tables walked through the repositories: every
(state, event, actor) the table allows works and lands where it says; every other is
refused and changes nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from gateway.store import (
    AccessRequestRepository,
    AgreementRepository,
    Change,
    NewAccessRequest,
    NewAgreement,
    Store,
    outbox,
)
from gateway.store.tables import access_requests, operation_agreements
from gateway.workflows import (
    AccessActor,
    AccessRequestState,
    AgreementActor,
    AgreementStatus,
    TransitionRefused,
)
from gateway.workflows import access_requests as access_flow
from gateway.workflows import agreements as agreement_flow
from schema.model import Sensitivity

NOW = datetime(2026, 12, 3, 2, tzinfo=UTC)


def test_every_state_is_reached_and_every_event_is_announced() -> None:
    table = access_flow.MACHINE.table
    assert {row.target for row in table} | {AccessRequestState.SUBMITTED} == set(AccessRequestState)
    assert set(access_flow.EVENTS) == access_flow.MACHINE.events
    assert {row.target for row in agreement_flow.MACHINE.table} | {AgreementStatus.ACTIVE} == set(
        AgreementStatus
    )
    assert set(agreement_flow.EVENTS) == agreement_flow.MACHINE.events
    targets = {
        agreement_flow.MACHINE.transition(s, e, set(AgreementActor))
        for s in AgreementStatus
        for e in agreement_flow.MACHINE.events
        if (s, e) in {(r.source, r.event) for r in agreement_flow.MACHINE.table}
    }
    assert set(agreement_flow.EVENT_FOR_TARGET) == targets


async def _request_in(store: Store, state: AccessRequestState) -> int:
    (record,) = await AccessRequestRepository(store).submit(
        [
            NewAccessRequest(
                requester_id="analyst",
                requester_department="health",
                provider_department="transport",
                dataset_ids=("x",),
                purpose="p",
                legal_basis="b",
                fields=None,
                privilege="use",
                valid_from=date(2026, 12, 3),
                valid_until=date(2027, 1, 1),
            )
        ],
        NOW,
        NOW,
    )
    async with store.transaction() as conn:  # the test puts it there; code never does
        await conn.execute(
            access_requests.update()
            .where(access_requests.c.id == record.id)
            .values(state=state.value)
        )
    return record.id


async def _events(store: Store) -> int:
    async with store.connect() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(outbox))).scalar_one()
        )


async def test_the_access_request_table_walked_through_the_repository(store: Store) -> None:
    repository = AccessRequestRepository(store)
    rows = {(r.source, r.event): r for r in access_flow.MACHINE.table}
    for state in AccessRequestState:
        for event in sorted(access_flow.MACHINE.events):
            for actor in AccessActor:
                pk = await _request_in(store, state)
                events_before = await _events(store)
                row = rows.get((state, event))
                change = Change(actor=actor.name, decision=event.upper())
                if row is not None and actor in row.by:
                    moved = await repository.transition(
                        pk, event, lambda _r, a=actor: {a}, change, NOW
                    )
                    assert moved is not None and moved.state is row.target, (state, event, actor)
                    assert moved.steps[-1]["decision"] == event.upper()
                    assert await _events(store) == events_before + 1
                    continue
                with pytest.raises(TransitionRefused):
                    await repository.transition(pk, event, lambda _r, a=actor: {a}, change, NOW)
                unchanged = await repository.get(pk)
                assert unchanged is not None and unchanged.state is state, (state, event, actor)
                assert await _events(store) == events_before


async def test_the_agreement_table_walked_through_the_repository(store: Store) -> None:
    repository = AgreementRepository(store)
    rows = {(r.source, r.event): r for r in agreement_flow.MACHINE.table}
    for status in AgreementStatus:
        for event in sorted(agreement_flow.MACHINE.events):
            for actor in AgreementActor:
                made = await repository.create(
                    NewAgreement(
                        operator="ops",
                        mode="OVERALL",
                        departments=(),
                        themes=(),
                        dataset_ids=(),
                        max_sensitivity=Sensitivity.L2,
                        scenarios=(),
                        valid_from=date(2026, 1, 1),
                        valid_until=date(2027, 1, 1),
                        obligations="o",
                        created_by="bureau",
                    ),
                    NOW,
                )
                async with store.transaction() as conn:
                    await conn.execute(
                        operation_agreements.update()
                        .where(operation_agreements.c.id == made.id)
                        .values(status=status.value)
                    )
                row = rows.get((status, event))
                if row is not None and actor in row.by:
                    moved = await repository.set_status(
                        made.id, event, frozenset({actor}), "r", NOW
                    )
                    assert moved is not None and moved.status is row.target
                    assert moved.status_reason == "r"
                    continue
                with pytest.raises(TransitionRefused):
                    await repository.set_status(made.id, event, frozenset({actor}), "r", NOW)
                unchanged = await repository.get(made.id)
                assert unchanged is not None and unchanged.status is status


async def test_two_sweeps_at_once_expire_a_request_once(store: Store) -> None:
    pk = await _request_in(store, AccessRequestState.APPROVED)
    repository = AccessRequestRepository(store)
    later = date(2027, 1, 2)  # the request's last day was 1 January
    results = await asyncio.gather(
        repository.sweep(later, later, NOW), repository.sweep(later, later, NOW)
    )
    assert sorted(expired for expired, _ in results) == [0, 1]
    record = await repository.get(pk)
    assert record is not None and record.state is AccessRequestState.EXPIRED
    async with store.connect() as conn:
        events = (await conn.execute(sa.select(outbox.c.event))).scalars().all()
    assert list(events).count("access_request.expired") == 1
