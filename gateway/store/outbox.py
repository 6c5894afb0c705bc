"""The outbox: events written with the state change they announce, delivered later.

A workflow appends its event in the *same* transaction as its state change, so an event
exists if and only if the change was committed::

    async with store.transaction() as conn:
        await conn.execute(access_requests.update()...)          # the state change
        await append_event(conn, "access_request.approved", request_id, {"state": "APPROVED"})

The dispatcher (``gateway.http.WebhookDispatcher``) claims due events with
``OutboxRepository.claim_due``: one statement that moves their ``next_attempt_at`` a lease
ahead (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas never claim the same row; SQLite
has one writer at a time). A claimed event is delivered, or retried after ``retry_delay``;
an event whose dispatcher died is claimed again once its lease runs out. Nothing is ever
dropped: an undelivered event keeps being retried, at most ``MAX_RETRY_DELAY`` apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.engine import Store
from gateway.store.tables import outbox

FIRST_RETRY_DELAY = timedelta(seconds=2)
MAX_RETRY_DELAY = timedelta(hours=1)
CLAIM_LEASE = timedelta(minutes=2)
_ERROR_LIMIT = 1000


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One claimed event. ``delivered_to``: the webhook URLs that already have it."""

    id: int
    event: str
    subject: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    delivered_to: tuple[str, ...]


async def append_event(
    conn: AsyncConnection,
    event: str,
    subject: str,
    payload: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> int:
    """Add ``event`` about ``subject`` to the outbox, in the caller's transaction; its id.

    ``payload`` must be JSON-serialisable (ids, states, ISO dates), never a secret: it is
    sent to every webhook subscribed to ``event``.
    """
    moment = now or _utc_now()
    result = await conn.execute(
        outbox.insert()
        .values(
            event=event,
            subject=subject,
            payload=dict(payload),
            created_at=moment,
            attempts=0,
            next_attempt_at=moment,
            delivered_to=[],
        )
        .returning(outbox.c.id)
    )
    return int(result.scalar_one())


def retry_delay(attempts: int) -> timedelta:
    """The wait before the next try after ``attempts`` failures: 2 s, 4 s, 8 s… up to 1 h."""
    if attempts <= 0:
        return timedelta(0)
    exponent = min(attempts - 1, 20)
    delay: timedelta = FIRST_RETRY_DELAY * (2**exponent)
    return min(delay, MAX_RETRY_DELAY)


class OutboxRepository:
    """The dispatcher's view of the outbox: claim due events, record each outcome."""

    def __init__(
        self,
        store: Store,
        *,
        lease: timedelta = CLAIM_LEASE,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.lease = lease
        self.clock = clock

    async def claim_due(self, limit: int = 20) -> list[OutboxEvent]:
        """Claim up to ``limit`` undelivered events that are due, oldest first."""
        now = self.clock()
        due = (
            sa.select(outbox.c.id)
            .where(outbox.c.delivered_at.is_(None), outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            outbox.update()
            .where(outbox.c.id.in_(due.scalar_subquery()))
            .values(next_attempt_at=now + self.lease)
            .returning(
                outbox.c.id,
                outbox.c.event,
                outbox.c.subject,
                outbox.c.payload,
                outbox.c.created_at,
                outbox.c.attempts,
                outbox.c.delivered_to,
            )
        )
        async with self.store.transaction() as conn:
            rows = (await conn.execute(claim)).all()
        events = [
            OutboxEvent(
                id=row.id,
                event=row.event,
                subject=row.subject,
                payload=row.payload,
                created_at=row.created_at,
                attempts=row.attempts,
                delivered_to=tuple(row.delivered_to or ()),
            )
            for row in rows
        ]
        return sorted(events, key=lambda e: e.id)

    async def mark_delivered(self, event: OutboxEvent, delivered_to: tuple[str, ...]) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                outbox.update()
                .where(outbox.c.id == event.id)
                .values(
                    delivered_at=self.clock(),
                    delivered_to=list(delivered_to),
                    attempts=event.attempts + 1,
                    last_error=None,
                )
            )

    async def mark_failed(
        self, event: OutboxEvent, delivered_to: tuple[str, ...], error: str
    ) -> datetime:
        """Record a failed try; the event is due again after ``retry_delay``. When."""
        attempts = event.attempts + 1
        due = self.clock() + retry_delay(attempts)
        async with self.store.transaction() as conn:
            await conn.execute(
                outbox.update()
                .where(outbox.c.id == event.id)
                .values(
                    attempts=attempts,
                    next_attempt_at=due,
                    delivered_to=list(delivered_to),
                    last_error=error[:_ERROR_LIMIT],
                )
            )
        return due

    async def pending(self) -> int:
        """How many events are not delivered yet (for metrics and tests)."""
        async with self.store.connect() as conn:
            count = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(outbox)
                .where(outbox.c.delivered_at.is_(None))
            )
        return int(count or 0)
