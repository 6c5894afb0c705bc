from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from gateway.http import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Webhook,
    WebhookDispatcher,
    sign,
    verify_signature,
)
from gateway.store import OutboxRepository, Store, append_event, open_store, outbox, retry_delay
from tests.gateway.http.webhook_receiver import Receiver, webhook_receiver

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SECRET = b"a-webhook-secret-of-some-length"
WALL = 1_764_752_400.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with webhook_receiver() as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def dispatcher(
    store: Store, webhooks: tuple[Webhook, ...], client: httpx.AsyncClient, clock: Clock
) -> WebhookDispatcher:
    return WebhookDispatcher(
        OutboxRepository(store, clock=clock), webhooks, client, wall_clock=lambda: WALL
    )


async def add(store: Store, event: str, subject: str, payload: dict[str, object]) -> int:
    async with store.transaction() as conn:
        return await append_event(conn, event, subject, payload, now=T0)


async def test_an_event_arrives_as_a_signed_json_post(
    store: Store, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    event_id = await add(store, "access_request.approved", "AR:7", {"state": "APPROVED"})
    hook = Webhook(f"{receiver.url}/hooks/catalogue", SECRET)
    assert await dispatcher(store, (hook,), client, Clock()).dispatch_once() == 1
    (got,) = receiver.received
    assert got.path == "/hooks/catalogue"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers[EVENT_HEADER] == "access_request.approved"
    assert got.headers[DELIVERY_HEADER] == str(event_id)
    assert got.headers[TIMESTAMP_HEADER] == str(int(WALL))
    assert got.headers[SIGNATURE_HEADER] == sign(SECRET, int(WALL), got.body)
    assert verify_signature(
        SECRET, got.headers[TIMESTAMP_HEADER], got.body, got.headers[SIGNATURE_HEADER], now=WALL
    )
    assert json.loads(got.body) == {
        "id": event_id,
        "event": "access_request.approved",
        "subject": "AR:7",
        "created_at": "2026-12-03T09:00:00Z",
        "data": {"state": "APPROVED"},
    }
    assert await OutboxRepository(store).pending() == 0


def test_a_signature_fails_for_another_secret_body_or_an_old_timestamp() -> None:
    body = b'{"id":1}'
    good = sign(SECRET, int(WALL), body)
    assert verify_signature(SECRET, str(int(WALL)), body, good, now=WALL + 10)
    assert not verify_signature(b"another-secret-entirely", str(int(WALL)), body, good, now=WALL)
    assert not verify_signature(SECRET, str(int(WALL)), body + b" ", good, now=WALL)
    assert not verify_signature(SECRET, str(int(WALL) + 1), body, good, now=WALL)
    assert not verify_signature(SECRET, str(int(WALL)), body, good, now=WALL + 301)
    assert not verify_signature(SECRET, "soon", body, good, now=WALL)


async def test_a_refused_delivery_is_retried_with_backoff_only_where_it_failed(
    store: Store, client: httpx.AsyncClient
) -> None:
    async with webhook_receiver() as up, webhook_receiver() as down:
        down.answer(503, 500)
        hooks = (Webhook(up.url, SECRET), Webhook(down.url, SECRET))
        clock = Clock()
        await add(store, "data_demand.answered", "DD:1", {})
        sender = dispatcher(store, hooks, client, clock)
        assert await sender.dispatch_once() == 0
        assert (len(up.received), len(down.received)) == (1, 1)
        assert await sender.dispatch_once() == 0  # not due yet: nothing is sent
        assert len(down.received) == 1
        clock.now = T0 + retry_delay(1)
        assert await sender.dispatch_once() == 0  # 500 this time
        clock.now += retry_delay(2)
        assert await sender.dispatch_once() == 1
        assert (len(up.received), len(down.received)) == (1, 3)  # never sent twice to `up`
        async with store.connect() as conn:
            row = (await conn.execute(sa.select(outbox))).one()
        assert row.attempts == 3 and row.delivered_at == clock.now
        assert sorted(row.delivered_to) == sorted([up.url, down.url])


async def test_an_unreachable_webhook_is_an_error_kept_on_the_event(
    store: Store, client: httpx.AsyncClient
) -> None:
    async with webhook_receiver() as gone:
        url = gone.url
    await add(store, "e.x", "s", {})
    await dispatcher(store, (Webhook(url, SECRET),), client, Clock()).dispatch_once()
    async with store.connect() as conn:
        row = (await conn.execute(sa.select(outbox))).one()
    assert row.delivered_at is None and row.attempts == 1
    assert url in row.last_error and "Connect" in row.last_error


async def test_webhooks_get_only_the_events_they_subscribe_to(
    store: Store, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    hooks = (
        Webhook(f"{receiver.url}/requests", SECRET, ("access_request.*",)),
        Webhook(f"{receiver.url}/demands", SECRET, ("data_demand.submitted",)),
        Webhook(f"{receiver.url}/all", SECRET),
    )
    await add(store, "access_request.revoked", "AR:1", {})
    await add(store, "data_demand.answered", "DD:1", {})
    assert await dispatcher(store, hooks, client, Clock()).dispatch_once() == 2
    got = sorted((r.path, r.headers[EVENT_HEADER]) for r in receiver.received)
    assert got == [
        ("/all", "access_request.revoked"),
        ("/all", "data_demand.answered"),
        ("/requests", "access_request.revoked"),
    ]


async def test_undelivered_events_resume_after_a_restart(
    tmp_path: Path, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    first = await open_store(url, upgrade_schema=True)
    await add(first, "access_request.submitted", "AR:1", {})
    await add(first, "access_request.submitted", "AR:2", {})
    receiver.answer(503, 503)
    clock = Clock()
    await dispatcher(first, (Webhook(receiver.url, SECRET),), client, clock).dispatch_once()
    await first.aclose()  # the gateway stops with both events undelivered

    second = await open_store(url, upgrade_schema=True)
    try:
        clock.now = T0 + timedelta(hours=2)
        sender = dispatcher(second, (Webhook(receiver.url, SECRET),), client, clock)
        assert await sender.dispatch_once() == 2
        subjects = [json.loads(r.body)["subject"] for r in receiver.received]
        assert sorted(subjects[-2:]) == ["AR:1", "AR:2"]
        assert await OutboxRepository(second).pending() == 0
    finally:
        await second.aclose()


async def test_the_background_dispatcher_delivers_when_woken(
    store: Store, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    sender = WebhookDispatcher(
        OutboxRepository(store), (Webhook(receiver.url, SECRET),), client, poll_seconds=3600
    )
    task = asyncio.create_task(sender.run())
    try:
        async with store.transaction() as conn:
            await append_event(conn, "access_request.expiring", "AR:9", {})
        sender.wake()
        async with asyncio.timeout(30):
            await receiver.arrived.wait()
        assert json.loads(receiver.received[0].body)["subject"] == "AR:9"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
