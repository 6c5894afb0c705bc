"""Calling the sources: each call through the source's guard, under its deadline.

``SourceAccess`` runs one upstream call (``_call``) through the source's ``SourceGuard``
(cache, coalescing, concurrency limit, breaker) before the source's deadline, never past
the whole request's (``request_deadline``), and records the outcome in a
``SourceReport``. Platform failures become a report status and a message safe to show a
client (``_public``); the log keeps the whole story. The by-id lookups and the
department list are built on it; ``FederatedSearch`` adds search, merge and paging.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from connectors.sdk import (
    Connector,
    ConnectorError,
    Health,
    HealthStatus,
    NotSupported,
    Origins,
    QueryRejected,
    SearchPage,
    SearchQuery,
    SourceUnavailable,
    source_deadline,
    source_origins,
)
from gateway.federation.reasons import reason, safe_details
from gateway.federation.screening import RecordScreen
from gateway.federation.upstream import CircuitOpen, SourceGuard
from schema.model import Dataset, Department

log = logging.getLogger("gateway.federation")

T = TypeVar("T")

# Loop time by which the whole GraphQL request must be answered (set by the HTTP layer).
REQUEST_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "request_deadline", default=None
)


@contextlib.contextmanager
def request_deadline(seconds: float) -> Iterator[None]:
    """Bound every source call made inside the block by one overall deadline."""
    token = REQUEST_DEADLINE.set(asyncio.get_running_loop().time() + seconds)
    try:
        yield
    finally:
        REQUEST_DEADLINE.reset(token)


class SourceStatus(enum.Enum):
    OK = "OK"
    TIMEOUT = "TIMEOUT"
    ERROR = "ERROR"
    CIRCUIT_OPEN = "CIRCUIT_OPEN"
    SKIPPED = "SKIPPED"


@dataclass(slots=True)
class SourceReport:
    """What happened at one source during one request."""

    source_id: str
    status: SourceStatus = SourceStatus.SKIPPED
    latency_ms: float | None = None
    matched: int | None = None
    message: str | None = None
    stale: bool = False  # answered from the cache because the platform failed
    rejected: bool = False  # the platform refused the caller's query (QueryRejected)

    @property
    def failed(self) -> bool:
        return self.status in (SourceStatus.TIMEOUT, SourceStatus.ERROR)


class SourceAccess:
    """Calls to the configured sources, each through its guard and under its deadline."""

    def __init__(
        self,
        connectors: Sequence[Connector],
        *,
        clock: Callable[[], float] = time.perf_counter,
        guards: Mapping[str, SourceGuard] | None = None,
    ) -> None:
        self.connectors = tuple(connectors)
        self._guards: dict[str, SourceGuard] = dict(guards or {})
        self._by_id = {c.source_id: c for c in self.connectors}
        self._screens = {c.source_id: RecordScreen(c.settings) for c in self.connectors}
        # Where each source's requests may go (its credentials only to its own origin).
        self._origins = {c.source_id: Origins.of(c.settings) for c in self.connectors}
        self._clock = clock

    def connector(self, source_id: str) -> Connector | None:
        return self._by_id.get(source_id)

    def _deadline(self, connector: Connector) -> float:
        """The source's own deadline, never past the whole request's (``request_deadline``)."""
        own = asyncio.get_running_loop().time() + connector.settings.timeout_seconds
        overall = REQUEST_DEADLINE.get()
        return own if overall is None else min(own, overall)

    # What a connector answers is screened (screening.py) inside the guard: what is cached
    # is already clean.

    async def _search(self, connector: Connector, query: SearchQuery) -> SearchPage:
        return self._screens[connector.source_id].page(await connector.search(query))

    async def _get(self, connector: Connector, local_id: str) -> Dataset | None:
        return self._screens[connector.source_id].dataset(await connector.get(local_id))

    async def _get_many(
        self, connector: Connector, local_ids: Sequence[str]
    ) -> dict[str, Dataset | None]:
        found = await connector.get_many(local_ids)
        return self._screens[connector.source_id].datasets(found)

    def _origins_of(self, connector: Connector) -> Origins:
        found = self._origins.get(connector.source_id)
        return found if found is not None else Origins.of(connector.settings)

    def guard(self, source_id: str) -> SourceGuard:
        guard = self._guards.get(source_id)
        if guard is None:
            guard = self._guards[source_id] = SourceGuard(source_id)
        return guard

    def _hit(self, connector: Connector, report: SourceReport, key: Hashable) -> tuple[bool, Any]:
        """``(True, answer)`` when the source's guard holds a fresh answer to ``key``,
        recorded in ``report`` as a call answered at once; else ``(False, None)``."""
        hit, cached = self.guard(connector.source_id).cached(key)
        if hit:
            report.latency_ms = report.latency_ms or 0.0
            if report.status is SourceStatus.SKIPPED:
                report.status = SourceStatus.OK
        return hit, cached

    async def _call(
        self,
        connector: Connector,
        report: SourceReport,
        key: Hashable | None,
        make_call: Callable[[], Awaitable[T]],
        deadline_at: float | None = None,
    ) -> T | None:
        """Run one upstream call (through the source's guard) before the source's deadline;
        record the outcome.

        ``deadline_at`` is shared by every call to this source in one request, so refills
        never stretch a request past the source's ``timeout_seconds``. When the platform
        fails and the guard still holds an earlier answer, that answer is served, and the
        report says so.
        """
        guard = self.guard(connector.source_id)
        if key is not None:
            hit, cached = self._hit(connector, report, key)
            if hit:  # a fresh answer: no deadline to arm, nothing to wait for
                found: T = cached
                return found
        deadline = connector.settings.timeout_seconds
        started = self._clock()
        deadline_at = deadline_at or self._deadline(connector)
        failure: SourceStatus | None = None
        try:
            # The deadline is enforced here; source_deadline lets retries inside the
            # connector know it, so they never plan a sleep past it.
            with source_deadline(deadline_at), source_origins(self._origins_of(connector)):
                async with asyncio.timeout_at(deadline_at):
                    result = await guard.run(key, make_call)
        except TimeoutError as exc:
            if connector.loading:
                # Its first load is still running (e.g. right after start): not the
                # platform's failure, so the breaker does not count it.
                failure, message = SourceStatus.ERROR, _STILL_LOADING
                log.info("source %s: still loading at the deadline", connector.source_id)
            else:
                guard.timed_out(exc)
                failure = SourceStatus.TIMEOUT
                message = f"no answer within the {deadline:g}s deadline"
                log.warning("source %s: timed out after %.1fs", connector.source_id, deadline)
        except CircuitOpen as exc:
            failure, message = SourceStatus.CIRCUIT_OPEN, exc.message
        except SourceUnavailable as exc:
            timed_out = "timed out" in exc.message
            failure = SourceStatus.TIMEOUT if timed_out else SourceStatus.ERROR
            message = _public("the platform did not answer", exc.message)
            log.warning("source %s: unavailable: %s", connector.source_id, exc.message)
        except QueryRejected as exc:
            # The caller's error, not the platform's: no stale answer stands in for it.
            report.rejected = True
            failure = SourceStatus.ERROR
            message = "the platform rejected the query as invalid"
            log.debug("source %s: rejected the query: %s", connector.source_id, exc.message)
        except NotSupported as exc:
            failure = SourceStatus.ERROR
            message = _public("the platform cannot answer this query", exc.message)
            log.warning("source %s: not supported: %s", connector.source_id, exc.message)
        except ConnectorError as exc:
            failure = SourceStatus.ERROR
            message = _public("the platform's answer could not be used", exc.message)
            log.warning("source %s: %s: %s", connector.source_id, type(exc).__name__, exc.message)
        except Exception:
            failure, message = SourceStatus.ERROR, "internal error in the connector"
            log.exception("source %s: connector crashed", connector.source_id)
        finally:
            elapsed = (self._clock() - started) * 1000
            report.latency_ms = (
                elapsed if report.latency_ms is None else report.latency_ms + elapsed
            )
        if failure is not None:
            stale: T | None = guard.stale(key) if key is not None and not report.rejected else None
            if stale is None:
                report.status, report.message = failure, message
                return None
            report.stale = True
            report.message = f"served an earlier answer: {message}"
            result = stale
        if report.status is SourceStatus.SKIPPED:
            report.status = SourceStatus.OK
        return result

    async def check(self, connector: Connector) -> Health:
        """Probe one platform (``/readyz``) before its deadline, as anyone may read it: a
        classified message, never the platform's own text (the log has that)."""
        try:
            with source_origins(self._origins_of(connector)):
                async with asyncio.timeout(connector.settings.timeout_seconds):
                    health = await connector.check()
        except TimeoutError:
            log.warning("source %s: health check timed out", connector.source_id)
            return Health(HealthStatus.DOWN, message=_probe_timeout(connector))
        except Exception:
            log.exception("source %s: health check crashed", connector.source_id)
            return Health(HealthStatus.DOWN, message=reason(RuntimeError()))
        if health.message is None:
            return health
        if connector.loading:
            return replace(health, message="still loading the catalogue")
        if health.status is HealthStatus.DOWN:
            log.warning("source %s: health check: %s", connector.source_id, health.message)
        return replace(health, message=reason(health.message))

    async def get(self, source_id: str, local_id: str) -> tuple[Dataset | None, SourceReport]:
        """One dataset from its source (the caller's grants are applied by the caller)."""
        report = SourceReport(source_id)
        connector = self._by_id.get(source_id)
        if connector is None:
            return None, report
        dataset = await self._call(
            connector, report, ("get", local_id), functools.partial(self._get, connector, local_id)
        )
        if dataset is not None and dataset.source_id != source_id:
            dataset = replace(dataset, source_id=source_id)
        return dataset, report

    async def get_many(
        self, source_id: str, local_ids: Sequence[str]
    ) -> tuple[dict[str, Dataset | None], SourceReport]:
        """Several datasets of one source in one upstream call (``Connector.get_many``).

        Each id is first looked for in the source's upstream cache, under the key a single
        ``get`` uses, and what the batch answers is cached per id, so single and batched
        lookups share one cache. One id left over goes through ``get`` (and joins an
        identical call in flight).
        """
        report = SourceReport(source_id)
        connector = self._by_id.get(source_id)
        if connector is None:
            return dict.fromkeys(local_ids), report
        guard = self.guard(source_id)
        found: dict[str, Dataset | None] = {}
        missing: list[str] = []
        for local_id in dict.fromkeys(local_ids):
            hit, value = guard.cached(("get", local_id))
            if hit:
                found[local_id] = value
            else:
                missing.append(local_id)
        if len(missing) == 1:
            dataset, report = await self.get(source_id, missing[0])
            found[missing[0]] = dataset
        elif missing:
            answered = await self._call(
                connector,
                report,
                ("get_many", tuple(sorted(missing))),
                functools.partial(self._get_many, connector, missing),
            )
            for local_id in missing:
                dataset = answered.get(local_id) if answered is not None else None
                if dataset is not None and dataset.source_id != source_id:
                    dataset = replace(dataset, source_id=source_id)
                found[local_id] = dataset
                if answered is not None:
                    guard.store(("get", local_id), dataset)
        if report.status is SourceStatus.SKIPPED and not missing:
            report.status = SourceStatus.OK  # every id answered from the cache
        return found, report

    async def departments(self) -> tuple[list[Department], list[SourceReport]]:
        reports = [SourceReport(c.source_id) for c in self.connectors]
        results = await asyncio.gather(
            *(
                self._call(c, r, ("departments",), c.departments)
                for c, r in zip(self.connectors, reports, strict=True)
            )
        )
        merged: dict[str, Department] = {}
        for connector, found in zip(self.connectors, results, strict=True):
            if connector.settings.department is not None:
                merged.setdefault(connector.settings.department.id, connector.settings.department)
            for department in found or ():
                merged.setdefault(department.id, department)
        return sorted(merged.values(), key=lambda d: d.id), reports


_STILL_LOADING = "still loading its catalogue (it answers once loaded); try again shortly"


def _probe_timeout(connector: Connector) -> str:
    return "still loading the catalogue" if connector.loading else "timed out"


def _public(kind: str, message: str) -> str:
    """What a client may read of a connector's error: its kind and a few known, safe
    details (status code, "invalid JSON"...), never the free text, which may quote an
    upstream body or name a record the caller may not see. The log has it all."""
    details = safe_details(message)
    return f"{kind} ({', '.join(details)})" if details else kind
