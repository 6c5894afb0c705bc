"""How a simulated platform misbehaves (``Fault``), what it was asked (``SimStats``), and
the plumbing every simulator shares (``FaultInjector``, ``HugeBody``, and the base class
``SimulatedPlatform``).

``Fault`` and ``SimStats`` are shared and mutable: tests, benchmarks and the ``/__sim__``
admin endpoints change a ``Fault`` or read ``SimStats`` while the simulator serves
requests, possibly from another thread.

    >>> fault = Fault()
    >>> fault.update({"mode": "hang", "latency_ms": 200})
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import zlib
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from simulators.catalogue import PlatformCatalogue

__all__ = [
    "CORRUPTION",
    "ERROR_PAGE",
    "FAULT_MODES",
    "LOGIN_PAGE",
    "Fault",
    "FaultInjector",
    "FaultMode",
    "HugeBody",
    "SimStats",
    "SimulatedPlatform",
    "error_page",
]

FaultMode = Literal["ok", "hang", "error", "garbage", "html", "huge"]
FAULT_MODES: tuple[str, ...] = get_args(FaultMode)

# What a front proxy answers when the platform behind it fails, and a single sign-on page
# that a misconfigured proxy serves instead of the API.
ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>{code} {reason}</title></head><body>"
    "<h1>{reason}</h1><p>{text}</p><hr><address>nginx</address></body></html>"
)
LOGIN_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>河西市统一身份认证平台 - 登录</title></head>
<body><form method="post" action="/sso/login"><h1>统一身份认证</h1>
<label>用户名 <input name="username"></label><label>密码 <input name="password" type="password">
</label><button type="submit">登录</button></form></body></html>"""
# How a "garbage" body ends: a connection reset mid-answer, then mis-decoded bytes.
CORRUPTION = "<!-- upstream connection reset -->\x1f\u951f\u65a4\u62f7"


@dataclass
class Fault:
    """How the platform misbehaves; change the fields at any time, even from another thread.

    ``latency_ms`` delays every API answer; ``fail_rate`` answers that share of calls
    with a 503; ``mode`` is ``ok``, ``hang`` (never answers until the client leaves),
    ``error`` (500 HTML page), ``garbage`` (200 JSON content type, broken body), ``html``
    (200 login page) or ``huge`` (200 streaming a valid ~``huge_bytes`` JSON body).

        >>> fault = Fault(latency_ms=50)
        >>> fault.update({"mode": "error"})
    """

    latency_ms: float = 0.0
    mode: FaultMode = "ok"
    fail_rate: float = 0.0
    huge_bytes: int = 40_000_000
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False, compare=False)

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply ``changes`` (JSON-like); raises ``ValueError`` naming every bad key."""
        problems = []
        for key, value in changes.items():
            if key == "mode" and value in FAULT_MODES:
                continue
            if (
                key in ("latency_ms", "fail_rate")
                and isinstance(value, int | float)
                and (value >= 0 and not isinstance(value, bool))
            ):
                continue
            if key == "huge_bytes" and isinstance(value, int) and value > 0:
                continue
            problems.append(f"{key}={value!r}")
        if problems:
            raise ValueError(
                f"invalid fault settings: {', '.join(problems)} (modes: "
                f"{', '.join(FAULT_MODES)}; latency_ms, fail_rate >= 0)"
            )
        for key, value in changes.items():
            setattr(self, key, value)

    def reset(self) -> None:
        """Back to a healthy platform."""
        fresh = Fault()
        self.latency_ms, self.mode, self.fail_rate = fresh.latency_ms, fresh.mode, 0.0
        self.huge_bytes = fresh.huge_bytes

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "latency_ms": self.latency_ms,
            "fail_rate": self.fail_rate,
            "huge_bytes": self.huge_bytes,
        }


class SimStats:
    """Counts API calls per action (thread-safe) and keeps the most recent requests."""

    def __init__(self, keep: int = 1000) -> None:
        self._lock = threading.Lock()
        self.actions: Counter[str] = Counter()
        self.recent: deque[dict[str, Any]] = deque(maxlen=keep)

    def record(self, action: str, params: Mapping[str, Any]) -> None:
        with self._lock:
            self.actions[action] += 1
            self.recent.append({"action": action, "params": dict(params)})

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.actions.values())

    def count(self, action: str) -> int:
        with self._lock:
            return self.actions[action]

    def reset(self) -> None:
        with self._lock:
            self.actions.clear()
            self.recent.clear()

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": sum(self.actions.values()),
                "actions": dict(self.actions),
                "recent": list(self.recent),
            }


@dataclass(frozen=True, slots=True)
class HugeBody:
    """A platform's valid answer of any size, for the ``huge`` fault: ``head``, then
    ``block`` repeated (joined by ``sep``) until about the size asked, then ``tail``.

        >>> HugeBody(b'{"results":[', b",".join(records), b"]}", "application/json")
    """

    head: bytes
    block: bytes
    tail: bytes
    media_type: str
    sep: bytes = b","


class FaultInjector:
    """What every simulator does alike: delay and fail per its ``Fault``, end every wait
    at shutdown, and serve ``/__sim__/fault``, ``/__sim__/stats`` and
    ``/__sim__/stats/reset``. How a failure looks (an error page, a broken body, a login
    page, a huge answer) is the platform's own.

        >>> faults = FaultInjector()
        >>> app = Starlette(routes=[*my_routes, *faults.admin_routes()])
        >>> if await faults.unavailable(request): return my_503_page()
    """

    PIECE = 1 << 16  # bytes a huge answer writes at a time

    def __init__(self, fault: Fault | None = None, stats: SimStats | None = None) -> None:
        self.fault = fault if fault is not None else Fault()
        self.stats = stats if stats is not None else SimStats()
        self.closing = False
        self._sleepers: set[asyncio.Event] = set()

    def release(self) -> None:
        """Wake every hanging or delayed request (call on the server's loop at shutdown)."""
        self.closing = True
        for event in self._sleepers:
            event.set()

    async def unavailable(self, request: Request) -> bool:
        """Wait out the fault's latency; ``True`` when this call is to fail with a 503:
        a ``fail_rate`` hit, or a ``hang`` (after waiting until the client leaves)."""
        fault = self.fault
        if fault.latency_ms > 0:
            await self.sleep(request, fault.latency_ms / 1000, watch_client=False)
        if fault.fail_rate > 0 and fault.rng.random() < fault.fail_rate:
            return True
        if fault.mode == "hang":
            await self.sleep(request, None, watch_client=True)
            return True
        return False

    async def failure(
        self,
        request: Request,
        *,
        garbage: Callable[[], Response],
        huge: Callable[[], Awaitable[HugeBody]],
    ) -> Response | None:
        """What the platform answers instead of its real answer, per the fault (after its
        latency); ``None``: answer normally. ``garbage`` builds the platform's broken
        body, ``huge`` the parts of its valid answer (streamed to ``huge_bytes``)."""
        if await self.unavailable(request):
            return error_page(503, "Service Temporarily Unavailable")
        match self.fault.mode:
            case "error":
                return error_page(500, "Internal Server Error")
            case "garbage":
                return garbage()
            case "html":
                return Response(LOGIN_PAGE, media_type="text/html; charset=utf-8")
            case "huge":
                body = await huge()
                return StreamingResponse(
                    self._repeat(body, self.fault.huge_bytes), media_type=body.media_type
                )
        return None

    async def _repeat(self, body: HugeBody, size: int) -> AsyncIterator[bytes]:
        yield body.head
        sent = len(body.head)
        while True:
            for offset in range(0, len(body.block), self.PIECE):
                if self.closing:
                    return
                yield body.block[offset : offset + self.PIECE]
                # Let the loop notice a client that hung up before the next write.
                await asyncio.sleep(0)
            sent += len(body.block)
            if sent >= size:
                break
            yield body.sep
        yield body.tail

    async def sleep(self, request: Request, seconds: float | None, *, watch_client: bool) -> None:
        """Sleep ``seconds`` (``None``: forever) or until released / the client leaves."""
        if self.closing:
            return
        event = asyncio.Event()
        self._sleepers.add(event)
        waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(event.wait())]
        if watch_client:
            waits.append(asyncio.ensure_future(client_gone(request)))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._sleepers.discard(event)
            for task in waits:
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    def admin_routes(self) -> list[Route]:
        """The ``/__sim__`` admin routes, and the files the catalogue's resources point at
        (so the gateway's link checker finds most of them, and a few gone)."""
        return [
            Route(
                "/dataset/{package}/resource/{resource}/download/{file}",
                _download,
                methods=["GET", "HEAD"],
            ),
            Route("/api/data/{resource}/query", _download, methods=["GET", "HEAD"]),
            Route("/__sim__/fault", self._admin_fault, methods=["GET", "POST"]),
            Route("/__sim__/stats", self._admin_stats, methods=["GET"]),
            Route("/__sim__/stats/reset", self._admin_stats_reset, methods=["POST"]),
        ]

    async def _admin_fault(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                changes = json.loads(await request.body() or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("expected a JSON object")
                self.fault.update(changes)
            except ValueError as exc:
                return _json({"error": str(exc)}, 400)
        return _json(self.fault.as_dict())

    async def _admin_stats(self, request: Request) -> Response:
        return _json(self.stats.as_dict())

    async def _admin_stats_reset(self, request: Request) -> Response:
        self.stats.reset()
        return _json(self.stats.as_dict())


class SimulatedPlatform:
    """What every simulator has: the ``platform`` it serves, its ``faults`` (with their
    ``fault`` and ``stats``) and ``release()`` for shutdown.

        >>> class MySimulator(SimulatedPlatform):
        ...     def __init__(self, platform, fault=None, *, stats=None):
        ...         super().__init__(platform, fault, stats)
        ...         self.app = Starlette(routes=[..., *self.faults.admin_routes()])
    """

    def __init__(
        self, platform: PlatformCatalogue, fault: Fault | None, stats: SimStats | None
    ) -> None:
        self.platform = platform
        self.faults = FaultInjector(fault, stats)
        self.fault, self.stats = self.faults.fault, self.faults.stats

    def release(self) -> None:
        """Wake every hanging or delayed request (call on the server's loop at shutdown)."""
        self.faults.release()


async def client_gone(request: Request) -> None:
    """Returns once the client has hung up."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _json(value: Any, status: int = 200) -> Response:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status, media_type="application/json;charset=utf-8")


def error_page(code: int, reason: str) -> Response:
    """The front proxy's HTML error page (500 or 503)."""
    text = {
        500: "The server encountered an internal error and was unable to complete your request.",
        503: "The server is temporarily unable to service your request.",
    }[code]
    return Response(
        ERROR_PAGE.format(code=code, reason=reason, text=text),
        code,
        media_type="text/html; charset=utf-8",
    )


# One resource in this many answers 404: the demo's broken links.
GONE_ONE_IN = 25


def resource_gone(resource: str) -> bool:
    return zlib.crc32(resource.encode()) % GONE_ONE_IN == 0


async def _download(request: Request) -> Response:
    resource = str(request.path_params["resource"])
    if resource_gone(resource):
        return PlainTextResponse("资源不存在 (gone)", status_code=404)
    body = b"id,value\n1,42\n"
    if request.headers.get("range") == "bytes=0-0":
        return Response(body[:1], status_code=206, media_type="text/csv")
    return Response(body, media_type="text/csv")
