"""The export endpoints: the caller's visible catalogue, streamed, audited."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway.access import Caller, GrantSet
from gateway.audit import AuditEvent, AuditLog, AuditUnavailable, Outcome
from gateway.federation import FederatedSearch
from gateway.quality.exports import EXPORTS, CatalogueInfo, Walk, export_chunks, visible_pages
from schema.model import Dataset

log = logging.getLogger("gateway.quality.exports")


@dataclass(frozen=True, slots=True)
class Admitted:
    """A request the gateway will answer: who asks, what they may see, for what purpose."""

    caller: Caller
    grants: GrantSet
    purpose: str | None


# Authenticates and rate-limits a request: ``Admitted``, or the error response to send.
Admit = Callable[[Request], Awaitable[Admitted | Response]]


@dataclass(frozen=True, slots=True)
class CatalogueExports:
    engine: FederatedSearch
    admit: Admit
    audit: Callable[[], AuditLog | None]
    info: CatalogueInfo = CatalogueInfo()

    async def respond(self, request: Request, kind: str) -> Response:
        started = time.perf_counter()
        request_id = (request.headers.get("x-request-id") or uuid.uuid4().hex)[:64]
        admitted = await self.admit(request)
        if isinstance(admitted, Response):
            return admitted
        event = AuditEvent(request_id)
        event.set_caller(admitted.caller)
        event.purpose = admitted.purpose
        event.operation = "export " + EXPORTS[kind].path
        walk = Walk()
        pages = visible_pages(self.engine, admitted.grants, walk)
        first = await anext(pages, None)  # a failing source shows in the headers
        headers = {"X-Request-Id": request_id}
        if walk.failed_sources:
            headers["X-Catalogue-Incomplete"] = ",".join(walk.failed_sources)
        base = str(request.base_url).rstrip("/")

        async def replay() -> AsyncIterator[list[Dataset]]:
            if first is not None:
                yield first
                async for page in pages:
                    yield page

        async def body() -> AsyncIterator[bytes]:
            finished = False
            try:
                async for chunk in export_chunks(kind, replay(), base, self.info):
                    yield chunk.encode("utf-8")
                finished = True
            finally:
                await self._record(event, walk, finished, started)

        return StreamingResponse(body(), media_type=EXPORTS[kind].media_type, headers=headers)

    async def _record(self, event: AuditEvent, walk: Walk, finished: bool, started: float) -> None:
        """The audit record, written when the export ends (it lists every id sent)."""
        audit = self.audit()
        if audit is None:
            return
        event.dataset_ids = walk.dataset_ids
        event.withheld = walk.withheld
        event.add_sources(walk.reports)
        event.outcome = Outcome.of(
            executed=True, has_data=finished, has_errors=bool(walk.failed_sources)
        )
        event.http_status = 200
        event.latency_ms = (time.perf_counter() - started) * 1000
        try:
            await audit.record(event)
        except AuditUnavailable as exc:  # the body is already sent: log it loudly
            log.error("export %s was sent but not audited: %s", event.request_id, exc)
