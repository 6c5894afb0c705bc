"""Retrying idempotent upstream requests, never past the source's deadline.

A transient failure (HTTP 429, 502, 503, 504, a refused or dropped connection) of an
idempotent request is tried again after an exponential backoff with full jitter, or
after the server's ``Retry-After`` when it sends one. Other 4xx and 5xx answers,
timeouts and non-idempotent requests are not retried.

The gateway cuts every source call at its deadline (``asyncio.timeout_at``). Retries
know that deadline (the ``deadline`` argument, or ``source_deadline()`` set by the
caller) and never plan a sleep, plus the time an attempt has been taking, that would
end past it: they give up at once and the last error is reported instead of a timeout.

The loop is tenacity's ``AsyncRetrying``: a well-kept library whose pluggable
``wait``/``stop`` take the per-attempt state (last outcome, upcoming sleep) this needs,
and whose ``sleep`` can be injected so tests never wait. (``stamina``, also built on
tenacity, adds jitter on top of the backoff instead of full jitter, and its timeout is a
duration since the first attempt, not a deadline checked against each planned sleep.)
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, retry_if_result

from connectors.sdk._origins import Origins, send_within_origins

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})

# The request never reached the server or the connection dropped before any answer:
# safe to send again. Timeouts are not here: a slow platform stays slow.
_CONNECTION_ERRORS = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "source_deadline", default=None
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How to retry transient failures of idempotent requests.

    ``attempts`` counts the first try. The n-th retry waits a random time in
    ``[0, min(max_delay, base_delay * 2**(n-1))]`` (full jitter; ``jitter="none"`` waits
    the upper bound), or the server's ``Retry-After``. A ``Retry-After`` longer than
    ``max_delay`` ends the retries: an interactive query does not wait that long.

        >>> await get_json(client, url, source_id="transport",
        ...                retry=RetryPolicy(attempts=4, base_delay=0.2))
        >>> await get_json(client, url, source_id="transport", retry=None)  # no retries

    ``sleep`` is what waits (tests pass a recorder so nothing really sleeps).
    """

    attempts: int = 3
    base_delay: float = 0.1
    max_delay: float = 2.0
    jitter: Literal["full", "none"] = "full"
    statuses: frozenset[int] = RETRY_STATUSES
    sleep: Callable[[float], Awaitable[None]] = field(
        default=asyncio.sleep, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays cannot be negative")

    def backoff(self, retry: int) -> float:
        """The wait before retry number ``retry`` (1 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(retry - 1, 0))
        return random.uniform(0, ceiling) if self.jitter == "full" else ceiling


DEFAULT_RETRY = RetryPolicy()


@contextlib.contextmanager
def source_deadline(at: float) -> Iterator[None]:
    """Declare the loop time by which the current source call must have answered.

    Retries inside the block (in this task) give up rather than sleep past it. Nested
    blocks keep the earliest deadline::

        with source_deadline(loop.time() + settings.timeout_seconds):
            async with asyncio.timeout_at(...):
                await connector.search(query)
    """
    current = _DEADLINE.get()
    token = _DEADLINE.set(at if current is None else min(current, at))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def current_deadline() -> float | None:
    """The deadline ``source_deadline`` set for this task, if any (loop time)."""
    return _DEADLINE.get()


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds from now: delay-seconds or an HTTP date (RFC 9110 10.2.3).

    >>> parse_retry_after("3")
    3.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=...)  # seconds until then
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_connection_error(exc: BaseException) -> bool:
    """Did the request fail before the server could have acted on it?"""
    return isinstance(exc, _CONNECTION_ERRORS)


async def send_with_retry(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    retry: RetryPolicy | None = DEFAULT_RETRY,
    deadline: float | None = None,
    auth: httpx.Auth | None = None,
    origins: Origins | None = None,
) -> httpx.Response:
    """Send ``request`` (streamed), retrying transient failures under ``retry``.

    Redirects are followed here, each hop checked against the source's ``origins`` (see
    ``connectors.sdk._origins``): credentials never leave the source's own origin.

    Returns the last response, which may still be a 503 after the last attempt, or
    raises the last ``httpx`` error; the caller maps either as it would one attempt.
    Non-idempotent methods are sent once. ``deadline`` is a loop time (see
    ``source_deadline``; the earlier of the two applies).
    """
    if retry is None or retry.attempts <= 1 or request.method not in IDEMPOTENT_METHODS:
        return await send_within_origins(client, request, auth=auth, origins=origins)
    # The first attempt is sent outside tenacity's loop, whose bookkeeping costs about as
    # much CPU as the send itself: nearly every call ends here. A transient failure
    # enters the loop, which takes this attempt's outcome as its first (_retrying, the
    # plain form, sends every attempt itself; tests compare the two).
    started = time.monotonic()
    try:
        response = await send_within_origins(client, request, auth=auth, origins=origins)
    except _CONNECTION_ERRORS as exc:
        first: httpx.Response | BaseException = exc
    else:
        if response.status_code not in retry.statuses:
            return response
        first = response
    return await _retrying(
        client, request, retry, deadline, auth, origins, started=started, first=first
    )


async def _retrying(
    client: httpx.AsyncClient,
    request: httpx.Request,
    policy: RetryPolicy,
    deadline: float | None,
    auth: httpx.Auth | None,
    origins: Origins | None,
    *,
    started: float | None = None,
    first: httpx.Response | BaseException | None = None,
) -> httpx.Response:
    """tenacity's loop over the attempts; ``first``: the outcome of an attempt already
    made (at ``started``, a ``time.monotonic()``), taken as the first."""
    scoped = current_deadline()
    if deadline is None or (scoped is not None and scoped < deadline):
        deadline = scoped
    loop = asyncio.get_running_loop()
    where = f"{request.url.host}{request.url.path}"  # never the query: it may hold a key
    made = [first] if first is not None else []

    async def attempt() -> httpx.Response:
        if made:
            outcome = made.pop()
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        return await send_within_origins(client, request, auth=auth, origins=origins)

    def wait(state: RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            retry_after = parse_retry_after(outcome.result().headers.get("retry-after"))
            if retry_after is not None:
                return retry_after
        return policy.backoff(state.attempt_number)

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.attempts:
            return True
        if state.upcoming_sleep > policy.max_delay:
            log.info(
                "%s: Retry-After %.1fs is too long to wait; giving up", where, state.upcoming_sleep
            )
            return True
        if deadline is None:
            return False
        # The next attempt should take about as long as the ones so far did.
        start = state.start_time if started is None else started
        elapsed = (state.outcome_timestamp or state.start_time) - start
        per_attempt = max(elapsed - state.idle_for, 0.0) / state.attempt_number
        if loop.time() + state.upcoming_sleep + per_attempt >= deadline:
            log.info("%s: no time left before the deadline to retry; giving up", where)
            return True
        return False

    async def before_sleep(state: RetryCallState) -> None:
        outcome = state.outcome
        if outcome is None:
            return
        if outcome.failed:
            what = type(outcome.exception()).__name__
        else:
            response: httpx.Response = outcome.result()
            what = f"HTTP {response.status_code}"
            await response.aclose()
        log.info(
            "%s: %s; retry %d of %d in %.2fs",
            where,
            what,
            state.attempt_number,
            policy.attempts - 1,
            state.upcoming_sleep,
        )

    def last_outcome(state: RetryCallState) -> httpx.Response:
        assert state.outcome is not None
        response: httpx.Response = state.outcome.result()  # raises the last error
        return response

    retrying = AsyncRetrying(
        sleep=policy.sleep,
        stop=stop,
        wait=wait,
        retry=(
            retry_if_exception(is_connection_error)
            | retry_if_result(lambda response: response.status_code in policy.statuses)
        ),
        before_sleep=before_sleep,
        retry_error_callback=last_outcome,
    )
    response: httpx.Response = await retrying(attempt)
    return response
