"""Webhook delivery of the outbox: signed JSON POSTs, retried with backoff.

Each event is POSTed as JSON to every webhook subscribed to it::

    POST <webhook url>
    Content-Type: application/json
    X-Catalogue-Event: access_request.approved
    X-Catalogue-Delivery: 42                      (the outbox id: the same on every retry)
    X-Catalogue-Timestamp: 1764750000             (Unix seconds of this try)
    X-Catalogue-Signature: sha256=<hex>

    {"id": 42, "event": "access_request.approved", "subject": "...",
     "created_at": "2026-12-03T09:00:00Z", "data": {...}}

The signature is HMAC-SHA256 with the webhook's secret over ``<timestamp>.<body bytes>``;
a receiver recomputes it, compares in constant time and refuses old timestamps (replays).
Any 2xx answer acknowledges; anything else (or no answer within the timeout) is retried
later, to that webhook only. docs/store.md has a receiver example.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from gateway.store import OutboxEvent, OutboxRepository, StoreError

log = logging.getLogger("gateway.webhooks")

SIGNATURE_HEADER = "X-Catalogue-Signature"
TIMESTAMP_HEADER = "X-Catalogue-Timestamp"
EVENT_HEADER = "X-Catalogue-Event"
DELIVERY_HEADER = "X-Catalogue-Delivery"


@dataclass(frozen=True, slots=True)
class Webhook:
    """A subscriber: ``events`` are names or shell patterns (``access_request.*``); empty
    means every event."""

    url: str
    secret: bytes
    events: tuple[str, ...] = ()

    def wants(self, event: str) -> bool:
        return not self.events or any(fnmatch.fnmatchcase(event, p) for p in self.events)


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Catalogue-Signature`` value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: bytes, timestamp: str, body: bytes, signature: str, *, now: float, tolerance: int = 300
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def event_body(event: OutboxEvent) -> bytes:
    created = event.created_at.isoformat().replace("+00:00", "Z")
    document = {
        "id": event.id,
        "event": event.event,
        "subject": event.subject,
        "created_at": created,
        "data": event.payload,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookDispatcher:
    """Delivers the outbox to the webhooks, in the background (``run``) or one round at a
    time (``dispatch_once``, which the tests drive)."""

    def __init__(
        self,
        outbox: OutboxRepository,
        webhooks: tuple[Webhook, ...],
        client: httpx.AsyncClient,
        *,
        poll_seconds: float = 1.0,
        timeout_seconds: float = 10.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox = outbox
        self.webhooks = webhooks
        self.client = client
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.wall_clock = wall_clock
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll (after a commit)."""
        self._wakeup.set()

    async def dispatch_once(self, limit: int = 20) -> int:
        """Claim due events and try each once; the number fully delivered."""
        delivered = 0
        for event in await self.outbox.claim_due(limit):
            done = list(event.delivered_to)
            errors = []
            body = event_body(event)
            for webhook in self.webhooks:
                if webhook.url in done or not webhook.wants(event.event):
                    continue
                error = await self._post(webhook, event, body)
                if error is None:
                    done.append(webhook.url)
                else:
                    errors.append(f"{webhook.url}: {error}")
            if errors:
                due = await self.outbox.mark_failed(event, tuple(done), "; ".join(errors))
                log.warning(
                    "outbox event %d (%s) not delivered, retry at %s: %s",
                    event.id,
                    event.event,
                    due.isoformat(),
                    "; ".join(errors),
                )
            else:
                await self.outbox.mark_delivered(event, tuple(done))
                delivered += 1
        return delivered

    async def _post(self, webhook: Webhook, event: OutboxEvent, body: bytes) -> str | None:
        timestamp = int(self.wall_clock())
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: event.event,
            DELIVERY_HEADER: str(event.id),
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(webhook.secret, timestamp, body),
        }
        try:
            response = await self.client.post(
                webhook.url, content=body, headers=headers, timeout=self.timeout_seconds
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if 200 <= response.status_code < 300:
            return None
        return f"answered {response.status_code}"

    async def run(self) -> None:
        """Deliver until cancelled. A store outage is logged and retried, never fatal."""
        while True:
            self._wakeup.clear()  # before looking: a wake during the round is not lost
            try:
                while await self.dispatch_once() > 0:
                    pass
            except StoreError as exc:
                log.error("outbox dispatch paused: %s", exc)
            except Exception:
                log.exception("outbox dispatch failed; retrying")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wakeup.wait()
