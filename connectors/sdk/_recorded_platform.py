"""The recorded platform of the conformance kit: recordings, faults and a network guard.

Public names are re-exported by ``connectors.sdk.conformance``; see its docstring for the
recordings layout.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from unittest import mock
from urllib.parse import unquote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic import model_validator as _model_validator

_Scalar = str | int | float | bool


# -- recordings -------------------------------------------------------------------------


class RecordingError(Exception):
    """A recordings folder that cannot be used; lists every problem at once."""

    def __init__(self, folder: Path, problems: Sequence[str]) -> None:
        super().__init__(f"{folder}: {len(problems)} problem(s)\n  " + "\n  ".join(problems))
        self.problems = list(problems)


class UnrecordedRequest(AssertionError):
    """The connector sent a request no recording answers (or to another host)."""


class UnmockedNetworkCall(AssertionError):
    """Something opened a socket or resolved a name while a conformance check ran."""


class RecordedRequest(BaseModel):
    """The request a recording answers: ``params`` and ``headers`` must all be present."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str = "GET"
    path: str = Field(pattern=r"^/")
    params: dict[str, _Scalar | list[_Scalar]] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)

    def matches(self, request: httpx.Request) -> bool:
        if request.method != self.method.upper() or request.url.path != self.path:
            return False
        for key, value in self.params.items():
            wanted = [_param(v) for v in (value if isinstance(value, list) else [value])]
            if request.url.params.get_list(key) != wanted:
                return False
        return all(request.headers.get(k) == v for k, v in self.headers.items())

    @property
    def specificity(self) -> int:
        return len(self.params) + len(self.headers)


class RecordedResponse(BaseModel):
    """The answer: a JSON ``body`` or a ``text`` (e.g. an HTML error page)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: int = Field(200, ge=100, le=599)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    text: str | None = None

    @_model_validator(mode="after")
    def _body_or_text(self) -> RecordedResponse:
        if self.text is not None and "body" in self.model_fields_set:
            raise ValueError("give either body (JSON) or text, not both")
        return self

    def content(self) -> bytes:
        if self.text is not None:
            return self.text.encode("utf-8")
        if "body" not in self.model_fields_set:
            return b""
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")

    def to_httpx(self) -> httpx.Response:
        headers = httpx.Headers(self.headers)
        if "content-type" not in headers and "body" in self.model_fields_set:
            headers["content-type"] = "application/json"
        return httpx.Response(self.status, headers=headers, content=self.content())


class Recording(BaseModel):
    """One recorded exchange (one JSON file in the recordings folder)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str | None = None
    request: RecordedRequest
    response: RecordedResponse


def load_recordings(folder: Path) -> dict[str, Recording]:
    """Every ``*.json`` under ``folder``, by name (its path relative to ``folder``,
    without ``.json``). Raises ``RecordingError`` listing every file that is not a
    valid recording::

        recordings = load_recordings(Path(__file__).parent / "recordings")
        recordings["datasets-page-1"].request.params   # {"page": "1", "page_size": "2"}
    """
    if not folder.is_dir():
        raise RecordingError(folder, ["no such folder (set `recordings` to your recordings)"])
    found: dict[str, Recording] = {}
    problems: list[str] = []
    for path in sorted(folder.rglob("*.json")):
        name = path.relative_to(folder).with_suffix("").as_posix()
        try:
            found[name] = Recording.model_validate(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError) as exc:
            if not isinstance(exc, ValidationError):
                problems.append(f"{name}.json: {exc}")
                continue
            for error in exc.errors():
                where = ".".join(str(part) for part in error["loc"])
                problems.append(f"{name}.json: {where}: {error['msg']}")
    if problems:
        raise RecordingError(folder, problems)
    return found


def _param(value: object) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


# -- the recorded platform --------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """One request the connector sent, and what answered it (a recording's name, or
    ``fault:<name>``)."""

    request: httpx.Request
    answered_by: str


Answer = Callable[[httpx.Request, bytes | None], httpx.Response]


@dataclass(frozen=True)
class Fault:
    """A failure the platform answers with instead of a recording.

    ``answer(request, recorded)`` gets the recorded body for the request (``None`` when
    none matches) and returns a response or raises an ``httpx`` transport error.
    """

    name: str
    description: str
    answer: Answer
    needs_recording: bool = False


class RecordedPlatform:
    """An HTTP platform made of recordings, for ``httpx.AsyncClient(transport=...)``::

        platform = RecordedPlatform(load_recordings(folder), "http://127.0.0.1:8080")
        async with httpx.AsyncClient(transport=platform.transport()) as client: ...
        platform.inject(FAULTS["503"], times=1)   # the next request answers 503

    With ``upstream`` (a transport to the live platform at ``upstream_url``), a request no
    recording answers is forwarded and its answer saved under ``record_into``; query
    values equal to one of ``secrets`` are left out of saved recordings.
    """

    def __init__(
        self,
        recordings: Mapping[str, Recording],
        base_url: str,
        *,
        choose: Callable[[httpx.Request], str | None] | None = None,
        upstream: httpx.AsyncBaseTransport | None = None,
        upstream_url: str | None = None,
        record_into: Path | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        self.recordings = dict(recordings)
        self.base_url = httpx.URL(base_url)
        self.exchanges: list[Exchange] = []
        self.problems: list[str] = []
        self._choose = choose
        self._upstream = upstream
        self._upstream_url = httpx.URL(upstream_url) if upstream_url else None
        self._record_into = record_into
        self._secrets = tuple(s for s in secrets if s)
        self._fault: Fault | None = None
        self._fault_left: int | None = None

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def inject(self, fault: Fault, *, times: int | None = None) -> None:
        """Answer the next ``times`` requests (every request when ``None``) with ``fault``."""
        self._fault, self._fault_left = fault, times

    def heal(self) -> None:
        self._fault = self._fault_left = None

    async def aclose(self) -> None:
        if self._upstream is not None:
            await self._upstream.aclose()

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        url = request.url
        if (url.scheme, url.host, url.port) != (
            self.base_url.scheme,
            self.base_url.host,
            self.base_url.port,
        ):
            self._refuse(f"a request to {self._redact(str(url))}, not to {self.base_url}")
        name = self._recording_for(request)
        fault = self._fault
        if fault is not None:
            if self._fault_left is not None:
                self._fault_left -= 1
                if self._fault_left <= 0:
                    self.heal()
            if name is None and fault.needs_recording:
                if self._upstream is None:
                    self._refuse(self._advice(request))
                name = await self._record(request)
            recorded = self.recordings[name].response.content() if name else None
            self.exchanges.append(Exchange(request, f"fault:{fault.name}"))
            return fault.answer(request, recorded)
        if name is None:
            if self._upstream is None:
                self._refuse(self._advice(request))
            name = await self._record(request)
        self.exchanges.append(Exchange(request, name))
        return self.recordings[name].response.to_httpx()

    def _recording_for(self, request: httpx.Request) -> str | None:
        if self._choose is not None:
            chosen = self._choose(request)
            if chosen is not None:
                if chosen not in self.recordings:
                    self._refuse(f"recording_for() chose {chosen!r}, which is not recorded")
                return chosen
        # Recording: only a recording of exactly this request will do, so a filtered
        # request is not answered by the unfiltered one.
        exact = self._upstream is not None
        candidates = [
            (rec.request.specificity, name)
            for name, rec in self.recordings.items()
            if rec.request.matches(request)
            and (not exact or set(rec.request.params) == set(request.url.params.keys()))
        ]
        if not candidates:
            return None
        best = max(score for score, _ in candidates)
        top = sorted(name for score, name in candidates if score == best)
        if len(top) > 1:
            self._refuse(
                f"recordings {', '.join(top)} all answer {self._describe(request)} equally: "
                "give one of them a parameter the others lack"
            )
        return top[0]

    def _refuse(self, message: str) -> NoReturn:
        self.problems.append(message)
        raise UnrecordedRequest(message)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<secret>")
        return text

    def _describe(self, request: httpx.Request) -> str:
        return self._redact(f"{request.method} {unquote(str(request.url))}")

    def _params(self, request: httpx.Request) -> dict[str, str | list[str]]:
        grouped: dict[str, list[str]] = {}
        for key, value in request.url.params.multi_items():
            grouped.setdefault(key, []).append(value)
        return {
            key: values[0] if len(values) == 1 else values
            for key, values in grouped.items()
            if not any(value in self._secrets for value in values)
        }

    def _advice(self, request: httpx.Request) -> str:
        stanza = {
            "request": {
                "method": request.method,
                "path": request.url.path,
                "params": self._params(request),
            },
            "response": {"status": 200, "body": "<what the platform answers>"},
        }
        return (
            f"no recording answers {self._describe(request)}\n"
            "Save the platform's answer as a .json file in the recordings folder:\n"
            f"{json.dumps(stanza, ensure_ascii=False, indent=2)}\n"
            "or record it: pytest -p connectors.sdk.conformance --conformance-record=<URL>"
        )

    async def _record(self, request: httpx.Request) -> str:
        assert self._upstream is not None and self._upstream_url is not None
        up = self._upstream_url
        forwarded = httpx.Request(
            request.method,
            request.url.copy_with(scheme=up.scheme, host=up.host, port=up.port),
            headers=[(k, v) for k, v in request.headers.multi_items() if k.lower() != "host"],
            content=request.content,
        )
        response = await self._upstream.handle_async_request(forwarded)
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        content_type = response.headers.get("content-type", "application/octet-stream")
        answer: dict[str, Any] = {"status": response.status_code}
        answer["headers"] = {"content-type": content_type}
        try:
            answer["body"] = json.loads(content)
        except ValueError:
            answer["text"] = content.decode("utf-8", "replace")
        recording = Recording(
            description=f"recorded from {up} ({request.method} {request.url.path})",
            request=RecordedRequest(
                method=request.method, path=request.url.path, params=dict(self._params(request))
            ),
            response=RecordedResponse.model_validate(answer),
        )
        key = json.dumps([request.method, request.url.path, recording.request.params])
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.url.path.rstrip("/").rpartition("/")[2])
        name = f"{slug or 'root'}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"
        assert self._record_into is not None
        self._record_into.mkdir(parents=True, exist_ok=True)
        data = recording.model_dump(mode="json", exclude_unset=True, exclude_none=True)
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        (self._record_into / f"{name}.json").write_text(text, encoding="utf-8")
        self.recordings[name] = recording
        return name


def _http_error(status: int, body: bytes, content_type: str) -> Answer:
    def answer(request: httpx.Request, recorded: bytes | None) -> httpx.Response:
        headers = {"content-type": content_type, "retry-after": "0"}
        return httpx.Response(status, headers=headers, content=body)

    return answer


def _timeout(request: httpx.Request, recorded: bytes | None) -> httpx.Response:
    raise httpx.ReadTimeout("the platform did not answer in time", request=request)


def _refused(request: httpx.Request, recorded: bytes | None) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def _truncated(request: httpx.Request, recorded: bytes | None) -> httpx.Response:
    body = (recorded or b"")[: len(recorded or b"") // 2] or b"{"
    return httpx.Response(200, headers={"content-type": "application/json"}, content=body)


_LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>Sign in</title></head>"
    "<body><form action='/login'><input name='user'></form></body></html>"
)


def _html(request: httpx.Request, recorded: bytes | None) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/html"}, text=_LOGIN_PAGE)


class _Chunked(httpx.AsyncByteStream):
    """A body streamed in chunks with no ``content-length``, as a real server may send."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._data), 16384):
            yield self._data[start : start + 16384]


def oversized(cap: int) -> Fault:
    """The recorded answer padded with whitespace (still valid JSON) past ``cap`` bytes."""

    def answer(request: httpx.Request, recorded: bytes | None) -> httpx.Response:
        body = (recorded or b"") + b" " * max(0, cap + 1 - len(recorded or b""))
        return httpx.Response(
            200, headers={"content-type": "application/json"}, stream=_Chunked(body)
        )

    return Fault("oversized", f"answered a body over the {cap}-byte cap", answer, True)


FAULTS: Mapping[str, Fault] = {
    "503": Fault(
        "503",
        "answered 503 Service Unavailable",
        _http_error(503, b"Service Unavailable", "text/plain"),
    ),
    "400": Fault(
        "400",
        "answered 400 Bad Request",
        _http_error(
            400,
            b'{"error": {"message": "invalid query parameter"}}',
            "application/json",
        ),
    ),
    "timeout": Fault("timeout", "did not answer in time", _timeout),
    "refused": Fault("refused", "refused the connection", _refused),
    "invalid-json": Fault("invalid-json", "answered truncated JSON", _truncated, True),
    "html": Fault("html", "answered an HTML login page with status 200", _html),
}


class NetworkGuard:
    """Blocks (and remembers) every socket connect and name lookup while active.

    Threads already running when the guard starts (e.g. a test session's loopback
    servers) are left alone; the check's own thread and any thread it starts (executor
    workers doing DNS, a connector's own threads) are guarded.
    """

    def __init__(self) -> None:
        self.attempts: list[str] = []

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_getaddrinfo = socket.getaddrinfo
        bystanders = {t.ident for t in threading.enumerate()} - {threading.get_ident()}

        def guarded(what: str) -> bool:
            if threading.get_ident() in bystanders:
                return False
            self.attempts.append(what)
            raise UnmockedNetworkCall(f"unmocked network call: {what}")

        def connect(sock: socket.socket, address: Any) -> None:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                guarded(f"connect to {address!r}")
            real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                guarded(f"connect to {address!r}")
            return real_connect_ex(sock, address)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            guarded(f"name lookup of {host!r}")
            return real_getaddrinfo(host, *args, **kwargs)

        with (
            mock.patch.object(socket.socket, "connect", connect),
            mock.patch.object(socket.socket, "connect_ex", connect_ex),
            mock.patch.object(socket, "getaddrinfo", getaddrinfo),
        ):
            yield


class LogRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @contextlib.contextmanager
    def capturing(self) -> Iterator[None]:
        root = logging.getLogger()
        level = root.level
        root.addHandler(self)
        root.setLevel(logging.DEBUG)
        try:
            yield
        finally:
            root.removeHandler(self)
            root.setLevel(level)

    def texts(self) -> list[str]:
        return [self.format(record) for record in self.records]
