"""The audit trail: every GraphQL request on record, in a log that cannot be edited unnoticed.

Each request is one JSON line (keys sorted, no whitespace, UTF-8)::

    {"caller":"transport-analyst","dataset_ids":["transport/bus-routes"],"department":
    "transport","document_sha256":"5e1f…","hash":"9c0a…","http_status":200,"latency_ms":
    41.7,"operation":"FirstSearch","outcome":"partial","prev":"41ab…","purpose":null,
    "request_id":"0f3c…","seq":1042,"sources":[{"id":"transport","status":"OK"},
    {"id":"health","status":"TIMEOUT"}],"time":"2026-03-01T08:15:02.123456Z","withheld":3}

``hash`` is SHA-256 over the canonical JSON of the record without ``hash``; ``prev`` is the
``hash`` of the record before it (64 zeros for the first record ever) and ``seq`` counts
from 1. The chain continues across restarts (the last record is read at open) and across
rotation (``audit.log`` is renamed ``audit.log.1``, older files move up to ``.2``, ``.3``…
and the first record of the new file chains to the last record of the old one).

``AuditLog.record`` is fail-closed: it returns only once the record is written (and synced,
with ``fsync="always"``) and raises ``AuditUnavailable`` otherwise; the gateway then answers
503 without data. ``verify`` checks files and names the first problem; ``query`` filters
records. See docs/audit.md.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import hashlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from connectors.sdk import GatewayError
from gateway.access import Caller
from gateway.audit.chain import (
    GENESIS,
    ChainProblem,
    FileSummary,
    ProblemKind,
    VerifyResult,
    canonical_json,
    chain_order,
    parse_moment,
    parse_record,
    query,
    record_hash,
    rotated_paths,
    verify,
)

__all__ = [
    "GENESIS",
    "AuditEvent",
    "AuditLog",
    "AuditUnavailable",
    "ChainProblem",
    "FileSummary",
    "FsyncPolicy",
    "Outcome",
    "ProblemKind",
    "Recordable",
    "SourceOutcome",
    "VerifyResult",
    "canonical_json",
    "chain_order",
    "parse_moment",
    "parse_record",
    "query",
    "record_hash",
    "rotated_paths",
    "verify",
]

log = logging.getLogger("gateway.audit")

FsyncPolicy = Literal["always", "interval", "never"]

# Records written per thread hop; bounds how long one batch holds the writer.
MAX_BATCH = 512
_TAIL_CHUNK = 64 * 1024


class AuditUnavailable(GatewayError):
    """The audit record could not be written; the request must not be answered with data.

    >>> try:
    ...     await audit.record(event)
    ... except AuditUnavailable:
    ...     return respond_503()
    """


class Outcome(enum.StrEnum):
    """How a request ended, as recorded.

    ``rejected``: refused before execution (authentication, HTTP or document errors);
    ``error``: executed, no data; ``partial``: data with errors (e.g. a source failed);
    ``ok``: data, no errors.
    """

    OK = "ok"
    PARTIAL = "partial"
    ERROR = "error"
    REJECTED = "rejected"

    @classmethod
    def of(cls, *, executed: bool, has_data: bool, has_errors: bool) -> Outcome:
        if not executed:
            return cls.REJECTED
        if not has_data:
            return cls.ERROR
        return cls.PARTIAL if has_errors else cls.OK


class Recordable(Protocol):
    """What ``AuditLog.record`` writes: an ``AuditEvent`` (a request) or a
    ``WorkflowRecord`` (a workflow change)."""

    def fields(self) -> dict[str, Any]: ...


class SourceOutcome(Protocol):
    """What ``AuditEvent.add_sources`` reads from a report (``federation.SourceReport``)."""

    @property
    def source_id(self) -> str: ...

    @property
    def status(self) -> enum.Enum: ...


# When one request calls a source several times, the record keeps the worst status.
_STATUS_RANK = {"ERROR": 4, "TIMEOUT": 3, "CIRCUIT_OPEN": 2, "OK": 1, "SKIPPED": 0}


@dataclass(slots=True)
class AuditEvent:
    """One GraphQL request, filled in as it proceeds and then passed to ``AuditLog.record``.

    It holds identifiers only: the caller's id, never a key or token.

    >>> event = AuditEvent(request_id)
    >>> event.set_caller(caller)
    >>> event.set_document(params.query, params.operation_name)
    >>> event.outcome, event.http_status = Outcome.OK, 200
    """

    request_id: str
    caller: str | None = None
    department: str | None = None
    purpose: str | None = None
    operation: str | None = None
    document_sha256: str | None = None
    dataset_ids: list[str] = field(default_factory=list)
    withheld: int = 0
    sources: dict[str, str] = field(default_factory=dict)
    outcome: Outcome = Outcome.REJECTED
    http_status: int = 0
    latency_ms: float = 0.0
    # The operation agreements (global ids) under which datasets were returned.
    agreements: list[str] = field(default_factory=list)
    # "hit" when the answer came from the response cache (no source was asked).
    cache: str | None = None

    def set_caller(self, caller: Caller) -> None:
        self.caller = caller.id
        self.department = caller.department

    def set_document(self, query: str, operation_name: str | None) -> None:
        self.document_sha256 = hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()
        self.operation = operation_name

    def add_sources(self, reports: Iterable[SourceOutcome]) -> None:
        for report in reports:
            status = str(report.status.value)
            known = self.sources.get(report.source_id)
            if known is None or _STATUS_RANK.get(status, 5) > _STATUS_RANK.get(known, 5):
                self.sources[report.source_id] = status

    def fields(self) -> dict[str, Any]:
        """The record's content before ``time``, ``seq``, ``prev`` and ``hash`` are added."""
        latency = float(self.latency_ms)
        found: dict[str, Any] = {}
        if self.agreements:  # a data access under an agreement names it
            ids = [_text(a, 512) for a in self.agreements]
            found["agreement"] = ids[0] if len(ids) == 1 else ids
        if self.cache is not None:
            found["cache"] = _text(self.cache, 16)
        return {
            "request_id": _text(self.request_id, 128),
            "caller": _text(self.caller, 256),
            "department": _text(self.department, 256),
            "purpose": _text(self.purpose, 256),
            "operation": _text(self.operation, 256),
            "document_sha256": self.document_sha256,
            "dataset_ids": [_text(i, 2048) for i in self.dataset_ids],
            "withheld": int(self.withheld),
            "sources": [{"id": _text(s, 256), "status": st} for s, st in self.sources.items()],
            "outcome": Outcome(self.outcome).value,
            "http_status": int(self.http_status),
            "latency_ms": round(latency, 1) if math.isfinite(latency) else None,
            **found,
        }


def _text(value: str | None, limit: int) -> Any:
    # Client-supplied text may hold lone surrogates, which UTF-8 cannot encode.
    if value is None:
        return None
    return str(value)[:limit].encode("utf-8", "backslashreplace").decode("utf-8")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_tail(path: Path) -> tuple[bytes | None, int, int]:
    """The last complete line of ``path`` (no newline), where it ends, and the file size."""
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        buf, pos = b"", size
        while True:
            last = buf.rfind(b"\n")
            if last != -1:
                before = buf.rfind(b"\n", 0, last)
                if before != -1 or pos == 0:
                    return buf[before + 1 : last], pos + last + 1, size
            if pos == 0:
                return None, 0, size
            step = min(max(_TAIL_CHUNK, len(buf)), pos)
            pos -= step
            fh.seek(pos)
            buf = fh.read(step) + buf


class _ChainFile:
    """The writer's file: used from one worker thread at a time, never from the event loop."""

    def __init__(self, path: Path, rotate_bytes: int, fsync: FsyncPolicy) -> None:
        self.path = path
        self.rotate_bytes = rotate_bytes
        self.fsync = fsync
        self.fd: int | None = None
        self.size = 0
        self.seq = 0
        self.prev = GENESIS
        self.dirty = False
        self.last_sync = time.monotonic()
        self.fault: OSError | None = None

    def open(self) -> None:
        """Find the head of the chain on disk and open the live file for appending."""
        line: bytes | None = None
        origin = self.path
        if self.path.exists():
            line, end, size = _read_tail(self.path)
            if end < size:
                # A write was cut short (crash, power loss): that record was never
                # acknowledged, so the torn bytes are dropped before appending.
                log.warning("%s: dropping %d bytes of an interrupted write", self.path, size - end)
                os.truncate(self.path, end)
        if line is None:
            for older in reversed(rotated_paths(self.path)):
                line, end, size = _read_tail(older)
                if end < size:
                    raise AuditUnavailable(
                        f"{older}: the last line is incomplete; run audit verify"
                    )
                if line is not None:
                    origin = older
                    break
        if line is None:
            self.seq, self.prev = 0, GENESIS
        else:
            record, problem = parse_record(line)
            if record is None or record_hash(record) != record["hash"]:
                reason = problem or "record edited (hash mismatch)"
                raise AuditUnavailable(
                    f"{origin}: the last record is damaged ({reason}); the gateway will not "
                    "extend a damaged chain. Run `catalogue-gateway audit verify` on the files, "
                    "keep them as evidence and move them aside to start a new chain"
                )
            self.seq, self.prev = record["seq"], record["hash"]
        created = not self.path.exists()
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self.size = os.fstat(self.fd).st_size
        if created and self.fsync != "never":
            _fsync_dir(self.path.parent)

    def append(self, batch: Sequence[dict[str, Any]], moment: datetime) -> list[dict[str, Any]]:
        if self.fd is not None:
            self._follow_path()
        if self.fd is None:
            self.open()
        assert self.fd is not None
        seq, prev = self.seq, self.prev
        records, lines = [], []
        stamp = _iso(moment)
        for fields in batch:
            seq += 1
            record = {**fields, "time": stamp, "seq": seq, "prev": prev}
            record["hash"] = prev = record_hash(record)
            records.append(record)
            lines.append(canonical_json(record) + b"\n")
        data = b"".join(lines)
        if self.size and self.size + len(data) > self.rotate_bytes:
            self._rotate()
        start = self.size
        try:
            self._write(data)
            if self.fsync == "always":
                os.fsync(self.fd)
                self.last_sync = time.monotonic()
            else:
                self.dirty = True
        except OSError:
            self._undo(start)
            raise
        self.size += len(data)
        self.seq, self.prev = seq, prev
        return records

    def _follow_path(self) -> None:
        """Notice that ``audit.log`` was renamed, deleted, replaced or truncated by someone
        else (logrotate, an operator) since the last write, instead of writing on into a
        file nobody will read.

        Renamed or deleted: a new ``audit.log`` is started; its first record chains to the
        last one written, so the chain is unbroken across the moved file. Replaced by a
        file that does not end with that record: ``AuditUnavailable`` (fail closed) until
        an operator sorts it out. Every case is logged.
        """
        assert self.fd is not None
        held = os.fstat(self.fd)
        try:
            named = os.stat(self.path)
        except FileNotFoundError:
            named = None
        if named is not None and (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino):
            if held.st_size < self.size:
                log.warning(
                    "%s was truncated by another program (from %d to %d bytes); records "
                    "up to seq %d were in the cut part. Let the gateway rotate "
                    "(audit.rotate_mb) rather than truncating (logrotate copytruncate)",
                    self.path,
                    self.size,
                    held.st_size,
                    self.seq,
                )
                self.size = held.st_size
            return
        if named is not None and named.st_size > 0:
            line, _end, _size = _read_tail(self.path)
            record, _problem = parse_record(line) if line is not None else (None, None)
            if record is None or record.get("hash") != self.prev:
                raise AuditUnavailable(
                    f"{self.path} was replaced by a file that does not continue the chain "
                    f"(last record written: seq {self.seq}); move it aside to let the "
                    "gateway start a new audit.log"
                )  # the old file stays open: the chain's head is kept for the next try
        self.close()
        log.warning(
            "%s was %s while the gateway was writing it; a new %s begins, its first record "
            "chaining to seq %d (hash %s). Keep the moved file with the others",
            self.path,
            "replaced" if named is not None else "renamed or deleted",
            self.path.name,
            self.seq,
            self.prev,
        )
        created = named is None
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self.size = os.fstat(self.fd).st_size
        if created and self.fsync != "never":
            _fsync_dir(self.path.parent)

    def _write(self, data: bytes) -> None:
        assert self.fd is not None
        if self.fault is not None:
            os.write(self.fd, data[: len(data) // 2])  # a torn write, as a full disk leaves
            raise self.fault
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def _undo(self, start: int) -> None:
        """Remove a failed write's bytes; if that fails too, re-read the chain from disk."""
        if self.fd is None:
            return
        try:
            os.ftruncate(self.fd, start)
        except OSError:
            log.exception("%s: cannot remove a failed write; reopening", self.path)
            self.close()

    def _rotate(self) -> None:
        assert self.fd is not None
        if self.fsync != "never":
            os.fsync(self.fd)
        self.close()  # a failure below leaves fd None: the next append reopens from disk
        for older in rotated_paths(self.path):
            index = int(older.name.rsplit(".", 1)[1])
            os.replace(older, older.with_name(f"{self.path.name}.{index + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self.size = 0
        if self.fsync != "never":
            _fsync_dir(self.path.parent)
        log.info("%s: rotated at seq %d", self.path, self.seq)

    def sync(self) -> None:
        if self.fd is not None and self.dirty:
            os.fsync(self.fd)
        self.dirty = False
        self.last_sync = time.monotonic()

    def close(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)


@dataclass(slots=True)
class _Pending:
    fields: dict[str, Any]
    future: asyncio.Future[dict[str, Any]]


class AuditLog:
    """The append-only, hash-chained audit log of one gateway.

    Records are chained and written by one writer task, in batches, in a worker thread, so
    many concurrent requests neither race for the chain nor block the event loop.

    >>> audit = AuditLog("audit.log", fsync="always", rotate_bytes=100 * 2**20)
    >>> await audit.open()          # raises AuditUnavailable if the log cannot be used
    >>> record = await audit.record(event)   # returns once written; fail-closed
    >>> await audit.aclose()

    ``fsync``: ``"always"`` syncs each batch before acknowledging it; ``"interval"`` syncs at
    most every ``fsync_interval`` seconds (records written since may be lost on power
    loss); ``"never"`` leaves it to the operating system.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        fsync: FsyncPolicy = "always",
        fsync_interval: float = 1.0,
        rotate_bytes: int = 100 * 2**20,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if fsync not in ("always", "interval", "never"):
            raise ValueError(f"fsync must be always, interval or never, not {fsync!r}")
        self.path = Path(path)
        self.fsync_interval = fsync_interval
        self._file = _ChainFile(self.path, rotate_bytes, fsync)
        self._clock = clock
        self._pending: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._opening = asyncio.Lock()
        self._closed = False

    @property
    def seq(self) -> int:
        """``seq`` of the last record written (0 before the first)."""
        return self._file.seq

    @property
    def head(self) -> str:
        """``hash`` of the last record written: keep a copy elsewhere to detect truncation."""
        return self._file.prev

    async def __aenter__(self) -> AuditLog:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Read the chain's head from disk and start the writer. Idempotent."""
        async with self._opening:
            if self._closed:
                raise AuditUnavailable(f"the audit log {self.path} is closed")
            if self._writer is not None:
                return
            try:
                await asyncio.to_thread(self._file.open)
            except OSError as exc:
                raise AuditUnavailable(_reason(self.path, exc)) from exc
            self._writer = asyncio.create_task(self._run(), name=f"audit-writer {self.path}")

    async def record(self, event: Recordable) -> dict[str, Any]:
        """Write ``event`` as the next record and return it; ``AuditUnavailable`` if not."""
        if self._writer is None:
            await self.open()
        if self._closed:
            raise AuditUnavailable(f"the audit log {self.path} is closed")
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(event.fields(), future))
        self._wakeup.set()
        return await future

    def inject_fault(self, error: OSError | None) -> None:
        """Make every following write fail with ``error`` (``None`` heals): for tests.

        The write is torn halfway, as on a full disk, so the rollback is exercised too.
        """
        self._file.fault = error

    async def aclose(self) -> None:
        """Write what is pending, sync, close. Later ``record`` calls raise."""
        self._closed = True
        if self._writer is not None:
            self._wakeup.set()
            await self._writer
            self._writer = None

    async def _run(self) -> None:
        while True:
            if not self._pending and not self._closed:
                self._wakeup.clear()
                try:
                    async with asyncio.timeout(self._sync_due()):
                        await self._wakeup.wait()
                except TimeoutError:
                    await self._sync()
                    continue
            if not self._pending:
                break
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            await self._commit(batch)
            if self._sync_due() == 0:
                await self._sync()
        await self._sync()
        await asyncio.to_thread(self._file.close)

    def _sync_due(self) -> float | None:
        """Seconds until an ``interval`` sync is due; ``None`` when none is pending."""
        if self._file.fsync != "interval" or not self._file.dirty:
            return None
        return max(0.0, self._file.last_sync + self.fsync_interval - time.monotonic())

    async def _sync(self) -> None:
        if self._file.fsync == "never" or not self._file.dirty:
            return
        try:
            await asyncio.to_thread(self._file.sync)
        except OSError:
            log.exception("%s: fsync failed", self.path)

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            records = await asyncio.to_thread(
                self._file.append, [p.fields for p in batch], self._clock()
            )
        except Exception as exc:
            if isinstance(exc, OSError | AuditUnavailable):
                log.error("%s: %d audit records not written: %s", self.path, len(batch), exc)
            else:
                log.exception("%s: %d audit records not written", self.path, len(batch))
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(AuditUnavailable(_reason(self.path, exc)))
            return
        for pending, record in zip(batch, records, strict=True):
            if not pending.future.done():
                pending.future.set_result(record)


def _reason(path: Path, exc: BaseException) -> str:
    if isinstance(exc, OSError):
        detail = exc.strerror or (errno.errorcode.get(exc.errno or 0)) or str(exc)
        return f"cannot write the audit log {path}: {detail}"
    return str(exc)
