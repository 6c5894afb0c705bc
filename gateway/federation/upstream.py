"""What stands between the engine and one source: cache, coalescing, limits, a breaker.

``SourceGuard.run(key, call)`` answers an upstream call:

- from a bounded TTL cache of upstream answers (canonical records, before any
  authorization: the engine filters per caller afterwards, so one cached page serves
  every caller safely);
- by joining an identical call already in flight (coalescing), so a burst of the same
  query costs the platform one request;
- under a per-source concurrency limit, so a slow platform is not flooded;
- behind a circuit breaker: after ``failures`` consecutive failures the source is not
  called for ``reset_seconds`` (status CIRCUIT_OPEN), then one probe call decides;
- and, when the platform fails, from a stale cache entry if one is still held
  (serve-stale-on-error), saying so.

Only what says the platform is unwell counts as a failure (timeouts, 5xx, refused
connections, unusable bodies). An answer that blames the request (``QueryRejected``: the
platform refused the caller's query; ``NotSupported``) leaves the breaker, the failure
count and ``last_error`` as they were and is never cached: a caller's bad input never
counts against the platform.
"""

from __future__ import annotations

import asyncio
import enum
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from cachetools import TTLCache
from pydantic import BaseModel, ConfigDict, Field

from connectors.sdk import GatewayError, NotSupported, QueryRejected
from gateway.federation.reasons import reason

T = TypeVar("T")


class GuardConfig(BaseModel):
    """Per-source upstream settings (``sources[].upstream`` in gateway.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cache_ttl_seconds: float = Field(default=30, ge=0, le=86_400)
    stale_ttl_seconds: float = Field(
        default=300, ge=0, le=7 * 86_400, description="how long a failing source is served stale"
    )
    cache_entries: int = Field(default=512, ge=1, le=100_000)
    max_concurrency: int = Field(default=16, ge=1, le=1_000)
    breaker_failures: int = Field(default=5, ge=1, le=1_000)
    breaker_reset_seconds: float = Field(default=30, gt=0, le=3_600)


class CircuitOpen(GatewayError):
    """The source failed repeatedly; it is not called until the breaker's reset time."""

    def __init__(self, source_id: str, retry_in: float, failures: int) -> None:
        super().__init__(
            f"circuit open after {failures} consecutive failures; next try in {retry_in:.0f}s"
        )
        self.message = str(self)
        self.source_id = source_id


class GuardState(enum.Enum):
    UP = "UP"
    DEGRADED = "DEGRADED"  # failing lately, breaker still closed
    CIRCUIT_OPEN = "CIRCUIT_OPEN"


@dataclass(frozen=True, slots=True)
class GuardReport:
    state: GuardState
    consecutive_failures: int
    last_error: str | None
    latency_p50_ms: float | None
    cache_entries: int


@dataclass(slots=True)
class _Entry:
    value: Any
    stored_at: float


class _Key:
    """A call's key, hashed once: the cache hashes a key on each of its steps (up to four
    per hit), and a search's key hashes its whole query, every filter in it included."""

    __slots__ = ("hash", "value")

    def __init__(self, value: Hashable) -> None:
        self.value = value
        self.hash = hash(value)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self.hash == other.hash and self.value == other.value


def call_key(value: Hashable) -> Hashable:
    """``value`` as a call's key hashed once. A caller that keeps it (a memo of queries)
    and passes it for the same call again skips the hashing, and the cache finds the entry
    stored under this very object by identity, without comparing two equal queries."""
    return value if isinstance(value, _Key) else _Key(value)


def _held(value: Hashable) -> _Key:
    return value if isinstance(value, _Key) else _Key(value)


class SourceGuard:
    """Cache, coalescing, concurrency limit and circuit breaker for one source."""

    def __init__(
        self,
        source_id: str,
        config: GuardConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source_id = source_id
        self.config = config or GuardConfig()
        self._clock = clock
        horizon = max(self.config.cache_ttl_seconds, self.config.stale_ttl_seconds)
        self._cache: TTLCache[_Key, _Entry] | None = (
            TTLCache(self.config.cache_entries, ttl=horizon, timer=clock) if horizon > 0 else None
        )
        self._inflight: dict[_Key, asyncio.Task[Any]] = {}
        self._limit = asyncio.Semaphore(self.config.max_concurrency)
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self._last_error: str | None = None
        self._latencies: deque[float] = deque(maxlen=200)
        self.upstream_calls = 0  # for tests and benchmarks

    # -- state ----------------------------------------------------------------------

    def report(self) -> GuardReport:
        if self._opened_at is not None:
            state = GuardState.CIRCUIT_OPEN
        elif self._failures:
            state = GuardState.DEGRADED
        else:
            state = GuardState.UP
        return GuardReport(
            state=state,
            consecutive_failures=self._failures,
            last_error=self._last_error,
            latency_p50_ms=statistics.median(self._latencies) if self._latencies else None,
            cache_entries=len(self._cache) if self._cache is not None else 0,
        )

    def _admit(self) -> None:
        """Raise ``CircuitOpen`` unless a call may go to the platform now."""
        if self._opened_at is None:
            return
        waited = self._clock() - self._opened_at
        if waited < self.config.breaker_reset_seconds or self._probing:
            retry_in = max(0.0, self.config.breaker_reset_seconds - waited)
            raise CircuitOpen(self.source_id, retry_in, self._failures)
        self._probing = True  # half-open: this one call decides

    def timed_out(self, error: BaseException) -> None:
        """A caller's deadline passed while waiting for this source: a failure too."""
        self._failed(error)

    def _succeeded(self, elapsed: float) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False
        self._latencies.append(elapsed * 1000)

    def _blamed_the_request(self) -> None:
        """The platform answered, but refused what was asked: no failure, no success. A
        half-open probe that got such an answer frees the probe slot (else the breaker
        would never close); the next call probes again."""
        self._probing = False

    def _failed(self, error: BaseException) -> None:
        self._failures += 1
        # Shown to anyone (sources { lastError }, /readyz): the reason, never the details.
        self._last_error = reason(error)
        if self._probing or self._failures >= self.config.breaker_failures:
            self._opened_at = self._clock()
        self._probing = False

    # -- calls ----------------------------------------------------------------------

    def _fresh(self, key: _Key) -> _Entry | None:
        if self._cache is None or self.config.cache_ttl_seconds <= 0:
            return None
        try:
            entry: _Entry | None = self._cache[key]  # one lookup, where get() takes two
        except KeyError:  # absent, or past the cache's horizon
            entry = None
        if entry is not None and self._clock() - entry.stored_at < self.config.cache_ttl_seconds:
            return entry
        return None

    def cached(self, key: Hashable) -> tuple[bool, Any]:
        """``(True, answer)`` when a fresh answer to ``key`` is cached, else ``(False, None)``."""
        entry = self._fresh(_held(key))
        return (False, None) if entry is None else (True, entry.value)

    def store(self, key: Hashable, value: Any) -> None:
        """Cache ``value`` as the answer to ``key`` (a part of a batched answer)."""
        if self._cache is not None and self.config.cache_ttl_seconds > 0:
            self._cache[_held(key)] = _Entry(value, self._clock())

    def stale(self, key: Hashable) -> Any | None:
        """A cached answer past its freshness, still within ``stale_ttl_seconds``."""
        if self._cache is None:
            return None
        entry = self._cache.get(_held(key))
        return entry.value if entry is not None else None

    async def run(self, key: Hashable | None, call: Callable[[], Awaitable[T]]) -> T:
        """The answer to ``call``, from the cache, a call in flight, or the platform.

        ``key`` identifies the upstream request (``None``: never cached or joined). A
        caller that gives up (its deadline) does not cancel the shared upstream call.
        """
        held = None if key is None else _held(key)
        if held is not None:
            entry = self._fresh(held)
            if entry is not None:
                value: T = entry.value
                return value
            running = self._inflight.get(held)
            if running is not None:
                shared: T = await asyncio.shield(running)
                return shared
        self._admit()
        task: asyncio.Task[T] = asyncio.create_task(self._call(held, call))
        # Every caller may have given up (their deadlines) before the call fails; its
        # failure is already counted by ``_call``, so mark it seen rather than have asyncio
        # log "Task exception was never retrieved" with the upstream's traceback.
        task.add_done_callback(_observed)
        if held is not None:
            self._inflight[held] = task
            task.add_done_callback(lambda _: self._inflight.pop(held, None))
        return await asyncio.shield(task)

    async def _call(self, key: _Key | None, call: Callable[[], Awaitable[T]]) -> T:
        async with self._limit:
            started = self._clock()
            self.upstream_calls += 1
            try:
                result = await call()
            except (QueryRejected, NotSupported):
                self._blamed_the_request()  # the request, not the platform, is at fault
                raise
            except Exception as exc:
                self._failed(exc)
                raise
            self._succeeded(self._clock() - started)
        if key is not None and self._cache is not None:
            self._cache[key] = _Entry(result, self._clock())
        return result


def _observed(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
