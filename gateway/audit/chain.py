"""The audit log's record format, and reading it back: ``verify`` and ``query``.

A record is one line of canonical JSON (``canonical_json``: keys sorted, no whitespace,
UTF-8, non-ASCII kept as is). ``hash`` is SHA-256 over the canonical JSON of the record
without ``hash``; ``prev`` is the previous record's ``hash`` (``GENESIS`` for the first);
``seq`` counts from 1 without gaps, across rotated files.

``verify`` walks the files in chain order and names the first problem with its file and
line: an edited record, a removed, repeated or reordered one, a broken link between
rotated files, a truncated or garbled line. ``query`` yields the records that match.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schema.ids import decode_id, encode_id

GENESIS = "0" * 64
"""``prev`` of the first record of a chain."""

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_ROTATED = re.compile(r"\.([1-9][0-9]*)$")


def canonical_json(record: Mapping[str, Any]) -> bytes:
    """The bytes that are hashed and written: sorted keys, no whitespace, UTF-8."""
    return json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def record_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 (hex) over the canonical JSON of ``record`` without its ``hash``."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def parse_record(line: bytes) -> tuple[dict[str, Any] | None, str]:
    """A record with a well-formed ``seq``, ``prev`` and ``hash``, or why the line is not."""
    try:
        record = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, "garbled line (not a JSON record)"
    if not isinstance(record, dict):
        return None, "garbled line (not a JSON object)"
    seq, prev, digest = record.get("seq"), record.get("prev"), record.get("hash")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        return None, "garbled record (no valid seq)"
    if not isinstance(prev, str) or not _SHA256_HEX.match(prev):
        return None, "garbled record (no valid prev)"
    if not isinstance(digest, str) or not _SHA256_HEX.match(digest):
        return None, "garbled record (no valid hash)"
    return record, ""


def rotated_paths(path: Path) -> list[Path]:
    """The rotated files of the live log ``path``, oldest first (``.N`` … ``.2``, ``.1``)."""
    pattern = re.compile(re.escape(path.name) + _ROTATED.pattern)
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return []
    found = [(int(m.group(1)), name) for name in names if (m := pattern.match(name))]
    return [path.parent / name for _, name in sorted(found, reverse=True)]


def chain_order(paths: Iterable[str | Path]) -> list[Path]:
    """Files in the order their records were written: ``.N`` … ``.1``, then the live file.

    Files are taken in the order given otherwise, so ``audit.log*`` from a shell (which
    sorts ``.10`` before ``.2``) works as is.
    """
    given = [Path(p) for p in paths]

    def rotation(path: Path) -> int:
        match = _ROTATED.search(path.name)
        return int(match.group(1)) if match else 0

    return sorted(given, key=rotation, reverse=True)


class ProblemKind(enum.StrEnum):
    EDITED = "edited"
    REMOVED = "removed"
    REORDERED = "reordered"
    REPEATED = "repeated"
    BROKEN_CHAIN = "broken-chain"
    BROKEN_LINK = "broken-link"
    TRUNCATED = "truncated"
    GARBLED = "garbled"
    UNREADABLE = "unreadable"


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """The first problem ``verify`` found: where (``line`` 0 is the whole file) and what."""

    path: str
    line: int
    kind: ProblemKind
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class FileSummary:
    """A file ``verify`` read to the end without a problem."""

    path: str
    records: int
    first_seq: int | None
    last_seq: int | None


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What ``verify`` found. ``ok`` when every file was read and the chain holds.

    ``first_seq`` above 1 means the files given start mid-chain (older files not given).
    ``last_hash`` is the chain's head: compare it with a copy kept elsewhere to detect
    records removed from the end, which no file can show by itself.
    """

    files: tuple[FileSummary, ...]
    problem: ChainProblem | None
    first_seq: int | None
    last_seq: int | None
    last_hash: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)


class _Walk:
    """State of one ``verify`` pass over the files in chain order."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files
        self.summaries: list[FileSummary] = []
        self.first_seq: int | None = None
        self.seq: int | None = None  # the last good record's seq and hash
        self.hash: str | None = None
        self.last_file: Path | None = None  # the last file that held a record

    def result(self, problem: ChainProblem | None) -> VerifyResult:
        return VerifyResult(tuple(self.summaries), problem, self.first_seq, self.seq, self.hash)

    def run(self) -> VerifyResult:
        for index, path in enumerate(self.files):
            try:
                problem = self._file(index, path)
            except OSError as exc:
                reason = exc.strerror or str(exc)
                return self.result(
                    ChainProblem(str(path), 0, ProblemKind.UNREADABLE, f"cannot read ({reason})")
                )
            if problem is not None:
                return self.result(problem)
        return self.result(None)

    def _file(self, index: int, path: Path) -> ChainProblem | None:
        count, first, last = 0, None, None
        with path.open("rb") as fh:
            for number, raw in enumerate(fh, 1):
                problem = self._line(index, path, number, raw, count == 0)
                if problem is not None:
                    return ChainProblem(str(path), number, *problem)
                count += 1
                first = first if first is not None else self.seq
                last = self.seq
        if count:
            self.last_file = path
        self.summaries.append(FileSummary(str(path), count, first, last))
        return None

    def _line(
        self, index: int, path: Path, number: int, raw: bytes, file_start: bool
    ) -> tuple[ProblemKind, str] | None:
        if not raw.endswith(b"\n"):
            return ProblemKind.TRUNCATED, "truncated line (the last line is incomplete)"
        line = raw[:-1]
        if not line.strip():
            return ProblemKind.GARBLED, "garbled line (empty)"
        record, reason = parse_record(line)
        if record is None:
            return ProblemKind.GARBLED, reason
        if record_hash(record) != record["hash"]:
            return ProblemKind.EDITED, "record edited (hash mismatch)"
        if canonical_json(record) != line:
            return ProblemKind.EDITED, "record edited (not in canonical form)"
        seq, prev = record["seq"], record["prev"]
        problem = self._link(index, number, seq, prev)
        if problem is not None:
            kind, message = problem
            if file_start and self.last_file is not None:
                return ProblemKind.BROKEN_LINK, f"broken link to {self.last_file}: {message}"
            return kind, message
        if self.first_seq is None:
            self.first_seq = seq
        self.seq, self.hash = seq, record["hash"]
        return None

    def _link(self, index: int, number: int, seq: int, prev: str) -> tuple[ProblemKind, str] | None:
        if self.seq is None or self.hash is None:
            if seq == 1 and prev != GENESIS:
                return ProblemKind.BROKEN_CHAIN, "chain broken (seq 1 does not start a chain)"
            return None
        expected = self.seq + 1
        if seq == 1 and prev == GENESIS:
            return (
                ProblemKind.BROKEN_CHAIN,
                f"chain broken (a new chain starts here after seq {self.seq})",
            )
        if seq > expected:
            if self._appears_later(index, number, expected):
                return (
                    ProblemKind.REORDERED,
                    f"records reordered (seq {seq} comes before seq {expected})",
                )
            if seq == expected + 1:
                return ProblemKind.REMOVED, f"record removed (seq {expected} missing)"
            return ProblemKind.REMOVED, f"records removed (seq {expected}..{seq - 1} missing)"
        if seq < expected:
            if self.first_seq is not None and seq >= self.first_seq:
                return ProblemKind.REPEATED, f"record repeated (seq {seq} appears again)"
            return ProblemKind.REORDERED, f"records reordered (seq {seq} after seq {self.seq})"
        if prev != self.hash:
            return (
                ProblemKind.BROKEN_CHAIN,
                f"chain broken (prev is not the hash of seq {self.seq}: that record was "
                "altered and re-hashed, or this one was forged)",
            )
        return None

    def _appears_later(self, index: int, number: int, wanted: int) -> bool:
        for later_index, path in enumerate(self.files[index:], index):
            with path.open("rb") as fh:
                for later_number, raw in enumerate(fh, 1):
                    if later_index == index and later_number <= number:
                        continue
                    record, _ = parse_record(raw.rstrip(b"\n"))
                    if record is not None and record["seq"] == wanted:
                        return True
        return False


def worker_audit_path(path: Path, index: int) -> Path:
    """The chain worker ``index`` of ``serve --workers N`` writes (N > 1): ``audit.log`` ->
    ``audit.w1.log``, ``audit.w2.log`` …; a name without a suffix gets ``.w1`` at the end.
    Every worker writes its own chain, each verifiable on its own and rotated on its own."""
    if path.suffix and path.stem:
        return path.with_name(f"{path.stem}.w{index}{path.suffix}")
    return path.with_name(f"{path.name}.w{index}")


def live_name(path: Path) -> Path:
    """The live file a (possibly rotated) file belongs to: ``audit.w1.log.3`` ->
    ``audit.w1.log``. Files with the same live name form one chain."""
    match = _ROTATED.search(path.name)
    return path.with_name(path.name[: match.start()]) if match else path


def group_chains(paths: Iterable[str | Path]) -> list[list[Path]]:
    """``paths`` split into chains (by ``live_name``), in the order first named.

    A directory stands for every chain in it: the files that hold audit records (one whose
    first line parses as a record), with their rotated files.
    """
    groups: dict[Path, list[Path]] = {}
    for given in paths:
        path = Path(given)
        members = _chain_files_in(path) if path.is_dir() else [path]
        for member in members:
            chain = groups.setdefault(live_name(member), [])
            if member not in chain:
                chain.append(member)
    return list(groups.values())


def _chain_files_in(directory: Path) -> list[Path]:
    candidates = sorted(p for p in directory.iterdir() if p.is_file())
    chains = {live_name(p) for p in candidates if _starts_with_record(p)}
    return [p for p in candidates if live_name(p) in chains]


def _starts_with_record(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            first = fh.readline(1 << 20)
    except OSError:
        return False
    return parse_record(first.rstrip(b"\n"))[0] is not None


def verify(paths: Iterable[str | Path]) -> VerifyResult:
    """Check the hash chain over ``paths`` (taken in ``chain_order``); the first problem.

    >>> result = verify(["audit.log.1", "audit.log"])
    >>> result.ok, result.records, str(result.problem)
    (False, 41, 'audit.log:17: record edited (hash mismatch)')
    """
    return _Walk(chain_order(paths)).run()


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date or date-time; a value without a zone is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"not an ISO 8601 date or time: {text!r} (e.g. 2026-03-01 or 2026-03-01T08:00Z)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _dataset_forms(dataset: str) -> set[str]:
    """The recorded forms of a dataset: ``source/local`` and its GraphQL id, either given."""
    forms = {dataset}
    decoded = decode_id(dataset)
    if decoded is not None and decoded[0] == "Dataset":
        forms.add(f"{decoded[1]}/{decoded[2]}")
    elif "/" in dataset:
        source, local = dataset.split("/", 1)
        forms.add(encode_id("Dataset", source, local))
    return forms


def query(
    paths: Iterable[str | Path],
    caller: str | None = None,
    dataset: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    on_skip: Callable[[Path, int, str], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Records of ``paths`` (in ``chain_order``) that match every filter given.

    ``dataset`` is a GraphQL id or ``source/local-id``; ``since`` is inclusive, ``until``
    exclusive (times without a zone are UTC). Lines that are not records are passed to
    ``on_skip`` and left out; ``query`` does not check the chain (``verify`` does).

    >>> for record in query(["audit.log"], caller="city-operator", since=datetime(2026, 3, 1)):
    ...     print(record["seq"], record["dataset_ids"])
    """
    wanted = _dataset_forms(dataset) if dataset else None
    since = _aware(since)
    until = _aware(until)
    for path in chain_order(paths):
        with path.open("rb") as fh:
            for number, raw in enumerate(fh, 1):
                record, reason = parse_record(raw.rstrip(b"\n"))
                if record is None:
                    if on_skip is not None:
                        on_skip(path, number, reason)
                    continue
                if caller is not None and record.get("caller") != caller:
                    continue
                if wanted is not None and wanted.isdisjoint(record.get("dataset_ids") or ()):
                    continue
                if (since or until) and not _within(record.get("time"), since, until):
                    continue
                yield record


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _within(stamp: object, since: datetime | None, until: datetime | None) -> bool:
    if not isinstance(stamp, str):
        return False
    try:
        moment = _aware(datetime.fromisoformat(stamp))
    except ValueError:
        return False
    assert moment is not None
    return (since is None or moment >= since) and (until is None or moment < until)
