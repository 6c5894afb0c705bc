from __future__ import annotations

import argparse
import asyncio
import enum
import errno
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.access.policy import Policy, hash_api_key
from gateway.audit import cli as audit_cli
from gateway.audit.log import (
    GENESIS,
    AuditEvent,
    AuditLog,
    AuditUnavailable,
    Outcome,
    ProblemKind,
    canonical_json,
    query,
    record_hash,
    verify,
)
from schema.ids import encode_id

RECORD_KEYS = {
    "time",
    "request_id",
    "caller",
    "department",
    "purpose",
    "operation",
    "document_sha256",
    "dataset_ids",
    "withheld",
    "sources",
    "outcome",
    "http_status",
    "latency_ms",
    "seq",
    "prev",
    "hash",
}


def event(i: int, *, caller: str = "analyst", datasets: tuple[str, ...] = ()) -> AuditEvent:
    e = AuditEvent(f"req-{i:04d}", caller=caller, department="transport", purpose=None)
    e.set_document("{ datasets { totalCount } }", None)
    e.dataset_ids = list(datasets)
    e.outcome, e.http_status, e.latency_ms = Outcome.OK, 200, 12.25
    return e


async def write(path: Path, count: int, start: int = 0, **options: Any) -> list[dict[str, Any]]:
    options.setdefault("fsync", "never")
    async with AuditLog(path, **options) as audit:
        return [await audit.record(event(start + i)) for i in range(count)]


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def rewrite(path: Path, new_lines: list[bytes]) -> None:
    path.write_bytes(b"".join(new_lines))


def rehashed(line: bytes, **changes: Any) -> bytes:
    record = json.loads(line)
    record.update(changes)
    record["hash"] = record_hash(record)
    return canonical_json(record) + b"\n"


# -- writing and the chain -------------------------------------------------------------


async def test_records_form_a_chain_from_genesis_in_canonical_json(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    records = await write(path, 3)

    assert [r["seq"] for r in records] == [1, 2, 3]
    assert records[0]["prev"] == GENESIS
    assert [r["prev"] for r in records[1:]] == [r["hash"] for r in records[:-1]]
    assert lines(path) == [canonical_json(r) + b"\n" for r in records]
    assert all(set(r) == RECORD_KEYS for r in records)
    assert records[0]["time"].endswith("Z")
    assert datetime.fromisoformat(records[0]["time"]).utcoffset() == timedelta(0)
    result = verify([path])
    assert result.ok and result.records == 3 and result.last_hash == records[-1]["hash"]


async def test_chain_continues_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    first = await write(path, 2)
    second = await write(path, 2, start=2)

    assert [r["seq"] for r in second] == [3, 4]
    assert second[0]["prev"] == first[-1]["hash"]
    assert verify([path]).ok


async def test_rotation_by_size_chains_the_new_file_to_the_previous_one(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    await write(path, 5, rotate_bytes=1000)
    await write(path, 3, start=5, rotate_bytes=1000)  # and across a restart

    files = sorted(tmp_path.iterdir())
    assert {p.name for p in files} >= {"audit.log", "audit.log.1", "audit.log.2"}
    assert all(p.stat().st_size <= 1000 for p in files)
    result = verify(files)  # shell order (audit.log, .1, .2 …): verify puts them in chain order
    assert result.ok, result.problem
    assert result.records == 8 and result.first_seq == 1 and result.last_seq == 8
    first_of_live = json.loads(lines(path)[0])
    last_of_rotated = json.loads(lines(tmp_path / "audit.log.1")[-1])
    assert first_of_live["seq"] == last_of_rotated["seq"] + 1
    assert first_of_live["prev"] == last_of_rotated["hash"]


async def test_restart_after_an_interrupted_rotation_continues_from_the_rotated_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.log"
    await write(path, 2)
    os.replace(path, tmp_path / "audit.log.1")  # renamed, then the process died
    path.touch()

    records = await write(path, 1, start=2)

    assert records[0]["seq"] == 3
    assert verify([tmp_path / "audit.log.1", path]).ok


async def test_a_write_torn_by_a_crash_is_dropped_at_open(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    await write(path, 2)
    with path.open("ab") as fh:
        fh.write(b'{"caller":"analyst","dataset_')
    assert verify([path]).problem is not None  # before the restart, verify shows it

    records = await write(path, 1, start=2)

    assert records[0]["seq"] == 3
    assert verify([path]).ok


async def test_open_refuses_to_extend_a_chain_whose_last_record_is_damaged(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.log"
    await write(path, 2)
    rewrite(path, [*lines(path)[:-1], lines(path)[-1].replace(b"analyst", b"intruder")])

    with pytest.raises(AuditUnavailable, match="last record is damaged"):
        await write(path, 1)


async def test_1000_concurrent_records_make_1000_records_in_one_valid_chain(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.log"
    async with AuditLog(path, fsync="always") as audit:
        records = await asyncio.gather(*(audit.record(event(i)) for i in range(1000)))

    assert sorted(r["seq"] for r in records) == list(range(1, 1001))
    assert sorted(r["request_id"] for r in records) == sorted(f"req-{i:04d}" for i in range(1000))
    result = verify([path])
    assert result.ok and result.records == 1000


# -- fail closed ------------------------------------------------------------------------


async def test_a_failed_write_raises_audit_unavailable_and_leaves_no_trace(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.log"
    async with AuditLog(path) as audit:
        await audit.record(event(0))
        audit.inject_fault(OSError(errno.ENOSPC, "No space left on device"))
        results = await asyncio.gather(
            *(audit.record(event(i)) for i in range(1, 4)), return_exceptions=True
        )
        assert all(isinstance(r, AuditUnavailable) for r in results)
        assert "No space left on device" in str(results[0])
        assert len(lines(path)) == 1  # the torn half-write was removed

        audit.inject_fault(None)
        record = await audit.record(event(4))

    assert record["seq"] == 2
    assert verify([path]).ok


async def test_a_write_that_cannot_be_rolled_back_is_repaired_from_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.log"

    def no_truncate(fd: int, length: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    async with AuditLog(path, fsync="never") as audit:
        await audit.record(event(0))
        audit.inject_fault(OSError(errno.ENOSPC, "No space left on device"))
        with monkeypatch.context() as patch:
            patch.setattr(os, "ftruncate", no_truncate)
            with pytest.raises(AuditUnavailable):
                await audit.record(event(1))
        audit.inject_fault(None)
        record = await audit.record(event(2))

    assert record["seq"] == 2
    assert verify([path]).ok


async def test_a_closed_log_refuses_records(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.log")
    await audit.open()
    await audit.aclose()

    with pytest.raises(AuditUnavailable, match="closed"):
        await audit.record(event(0))


async def test_a_log_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "missing-dir" / "audit.log")

    with pytest.raises(AuditUnavailable, match="No such file or directory"):
        await audit.open()


# -- fsync policy ---------------------------------------------------------------------


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


async def test_fsync_always_syncs_every_record_before_acknowledging_it(
    tmp_path: Path, fsyncs: list[int]
) -> None:
    async with AuditLog(tmp_path / "audit.log", fsync="always") as audit:
        for i in range(3):
            before = len(fsyncs)
            await audit.record(event(i))
            assert len(fsyncs) > before


async def test_fsync_never_leaves_syncing_to_the_operating_system(
    tmp_path: Path, fsyncs: list[int]
) -> None:
    await write(tmp_path / "audit.log", 3, fsync="never", rotate_bytes=1000)

    assert fsyncs == []


async def test_fsync_interval_syncs_a_log_left_idle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    synced = asyncio.Event()
    real = os.fsync

    def signalling(fd: int) -> None:
        real(fd)
        loop.call_soon_threadsafe(synced.set)

    async with AuditLog(tmp_path / "audit.log", fsync="interval", fsync_interval=0.05) as audit:
        await audit.record(event(0))
        synced.clear()
        monkeypatch.setattr(os, "fsync", signalling)
        await audit.record(event(1))
        await asyncio.wait_for(synced.wait(), timeout=10)


# -- verify: every kind of tampering -----------------------------------------------------


@dataclass(frozen=True)
class Tamper:
    change: Callable[[list[bytes]], list[bytes]]
    line: int
    kind: ProblemKind
    message: str


def _swap(ls: list[bytes], a: int, b: int) -> list[bytes]:
    ls = list(ls)
    ls[a], ls[b] = ls[b], ls[a]
    return ls


TAMPERING = {
    "edited field": Tamper(
        lambda ls: [*ls[:1], ls[1].replace(b'"analyst"', b'"nobody"'), *ls[2:]],
        2,
        ProblemKind.EDITED,
        "record edited (hash mismatch)",
    ),
    "edited and re-hashed": Tamper(
        lambda ls: [*ls[:1], rehashed(ls[1], caller="nobody"), *ls[2:]],
        3,
        ProblemKind.BROKEN_CHAIN,
        "chain broken (prev is not the hash of seq 2: that record was altered and "
        "re-hashed, or this one was forged)",
    ),
    "whitespace added": Tamper(
        lambda ls: [*ls[:1], ls[1].replace(b'"seq":', b'"seq": '), *ls[2:]],
        2,
        ProblemKind.EDITED,
        "record edited (not in canonical form)",
    ),
    "line deleted": Tamper(
        lambda ls: [*ls[:2], *ls[3:]],
        3,
        ProblemKind.REMOVED,
        "record removed (seq 3 missing)",
    ),
    "lines deleted": Tamper(
        lambda ls: [*ls[:1], *ls[4:]],
        2,
        ProblemKind.REMOVED,
        "records removed (seq 2..4 missing)",
    ),
    "lines swapped": Tamper(
        lambda ls: _swap(ls, 1, 2),
        2,
        ProblemKind.REORDERED,
        "records reordered (seq 3 comes before seq 2)",
    ),
    "line repeated": Tamper(
        lambda ls: [*ls[:2], ls[1], *ls[2:]],
        3,
        ProblemKind.REPEATED,
        "record repeated (seq 2 appears again)",
    ),
    "truncated": Tamper(
        lambda ls: [*ls[:-1], ls[-1][:40]],
        5,
        ProblemKind.TRUNCATED,
        "truncated line (the last line is incomplete)",
    ),
    "garbled": Tamper(
        lambda ls: [*ls[:2], b"\x00\x17garbage\n", *ls[3:]],
        3,
        ProblemKind.GARBLED,
        "garbled line (not a JSON record)",
    ),
    "new chain spliced in": Tamper(
        lambda ls: [*ls[:3], rehashed(ls[3], seq=1, prev=GENESIS)],
        4,
        ProblemKind.BROKEN_CHAIN,
        "chain broken (a new chain starts here after seq 3)",
    ),
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
async def test_verify_names_the_first_problem_of_a_tampered_log(
    tmp_path: Path, tamper: Tamper
) -> None:
    path = tmp_path / "audit.log"
    await write(path, 5)
    rewrite(path, tamper.change(lines(path)))

    result = verify([path])

    assert result.problem is not None
    assert result.problem.kind is tamper.kind
    assert str(result.problem) == f"{path}:{tamper.line}: {tamper.message}"


@pytest.fixture
async def rotated(tmp_path: Path) -> list[Path]:
    """Three files of two records each, oldest first: audit.log.2, audit.log.1, audit.log."""
    path = tmp_path / "audit.log"
    records = await write(path, 6, rotate_bytes=1000)
    assert len(canonical_json(records[0])) * 2 < 1000 < len(canonical_json(records[0])) * 3
    return [tmp_path / "audit.log.2", tmp_path / "audit.log.1", path]


async def test_verify_detects_an_edit_in_a_rotated_file(rotated: list[Path]) -> None:
    older = rotated[1]
    rewrite(older, [lines(older)[0].replace(b'"analyst"', b'"nobody"'), *lines(older)[1:]])

    problem = verify(rotated).problem

    assert problem is not None and str(problem) == f"{older}:1: record edited (hash mismatch)"


async def test_verify_detects_a_record_removed_at_the_end_of_a_rotated_file(
    rotated: list[Path],
) -> None:
    oldest, older, _ = rotated
    rewrite(oldest, lines(oldest)[:-1])

    problem = verify(rotated).problem

    assert problem is not None and problem.kind is ProblemKind.BROKEN_LINK
    assert str(problem) == f"{older}:1: broken link to {oldest}: record removed (seq 2 missing)"


async def test_verify_detects_a_rotated_file_left_out(rotated: list[Path]) -> None:
    oldest, _, live = rotated

    problem = verify([oldest, live]).problem

    assert problem is not None and problem.kind is ProblemKind.BROKEN_LINK
    assert str(problem) == (
        f"{live}:1: broken link to {oldest}: records removed (seq 3..4 missing)"
    )


async def test_verify_detects_a_re_hashed_record_at_the_end_of_a_rotated_file(
    rotated: list[Path],
) -> None:
    older, live = rotated[1], rotated[2]
    rewrite(older, [lines(older)[0], rehashed(lines(older)[1], caller="nobody")])

    problem = verify(rotated).problem

    assert problem is not None and problem.kind is ProblemKind.BROKEN_LINK
    assert str(problem).startswith(f"{live}:1: broken link to {older}: chain broken")


async def test_verify_reports_a_file_that_starts_mid_chain(rotated: list[Path]) -> None:
    result = verify(rotated[1:])

    assert result.ok and result.first_seq == 3 and result.records == 4


async def test_verify_reports_an_unreadable_file(tmp_path: Path) -> None:
    problem = verify([tmp_path / "nope.log"]).problem

    assert problem is not None and problem.kind is ProblemKind.UNREADABLE


# -- query -----------------------------------------------------------------------------


@pytest.fixture
async def history(tmp_path: Path) -> Path:
    days = iter(datetime(2026, 3, d, 8, tzinfo=UTC) for d in range(1, 5))
    path = tmp_path / "audit.log"
    async with AuditLog(path, fsync="never", rotate_bytes=1000, clock=lambda: next(days)) as log:
        await log.record(event(1, caller="analyst", datasets=("transport/bus",)))
        await log.record(event(2, caller="operator", datasets=("transport/bus", "health/x")))
        await log.record(event(3, caller="analyst", datasets=("health/x",)))
        await log.record(event(4, caller="operator"))
    return path


def seqs(records: Iterator[dict[str, Any]]) -> list[int]:
    return [r["seq"] for r in records]


async def test_query_filters_by_caller_dataset_and_time(history: Path) -> None:
    files = sorted(history.parent.iterdir())

    assert seqs(query(files)) == [1, 2, 3, 4]
    assert seqs(query(files, caller="analyst")) == [1, 3]
    assert seqs(query(files, dataset="transport/bus")) == [1, 2]
    assert seqs(query(files, dataset=encode_id("Dataset", "health", "x"))) == [2, 3]
    assert seqs(query(files, since=datetime(2026, 3, 2, 8, tzinfo=UTC))) == [2, 3, 4]
    assert seqs(query(files, until=datetime(2026, 3, 3, 8))) == [1, 2]  # naive is UTC
    assert seqs(
        query(files, caller="operator", dataset="health/x", since=datetime(2026, 3, 2))
    ) == [2]


# -- the CLI -----------------------------------------------------------------------------


async def test_cli_verify_prints_ok_and_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    records = await write(Path("audit.log"), 3)

    assert audit_cli.main_verify(["audit.log"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "audit.log: OK, 3 records, chain intact",
        f"head: seq 3, hash {records[-1]['hash']}",
    ]


async def test_cli_verify_names_the_tampered_line_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = Path("audit.log")
    await write(path, 3)
    rewrite(path, [lines(path)[0], lines(path)[1].replace(b"12.2", b"99.9"), lines(path)[2]])

    assert audit_cli.main_verify(["audit.log"]) == 1
    assert capsys.readouterr().out == "audit.log:2: record edited (hash mismatch)\n"


async def test_cli_verify_exits_2_when_a_file_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    assert audit_cli.main_verify(["audit.log"]) == 2
    assert capsys.readouterr().err == "audit.log: cannot read (No such file or directory)\n"


async def test_cli_verify_says_when_the_files_start_mid_chain(
    rotated: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert audit_cli.main_verify([str(p) for p in rotated[1:]]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.endswith("(from seq 3; the files before it were not given)")


async def test_cli_query_prints_matching_records_as_json_lines(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(p) for p in history.parent.iterdir()]

    assert audit_cli.main_query(files, caller="operator", since="2026-03-02") == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["seq"] for r in printed] == [2, 4]


async def test_cli_query_rejects_a_bad_time_and_reports_skipped_lines(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert audit_cli.main_query([str(history)], since="last tuesday") == 2
    assert "not an ISO 8601 date or time" in capsys.readouterr().err

    with history.open("ab") as fh:
        fh.write(b"not a record\n")
    assert audit_cli.main_query([str(history)]) == 1
    assert f"{history}:" in capsys.readouterr().err


async def test_cli_parser_wires_audit_verify_and_query(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    audit_cli.add_parser(parser.add_subparsers(dest="command"))

    assert audit_cli.run(parser.parse_args(["audit", "verify", str(history)])) == 0
    args = parser.parse_args(["audit", "query", "--caller", "analyst", str(history)])
    capsys.readouterr()
    assert audit_cli.run(args) == 0
    assert all(
        json.loads(line)["caller"] == "analyst" for line in capsys.readouterr().out.splitlines()
    )


# -- what is recorded ------------------------------------------------------------------


async def test_no_api_key_is_ever_written_only_the_caller_id(tmp_path: Path) -> None:
    key = "s3cret-key-of-the-analyst"
    policy = Policy.parse(
        {
            "callers": [
                {
                    "id": "transport-analyst",
                    "department": "transport",
                    "api_keys": [hash_api_key(key)],
                }
            ]
        }
    )
    caller = policy.caller_for_api_key(key)
    assert caller is not None
    e = AuditEvent("req-1", purpose="traffic-forecasting")
    e.set_caller(caller)
    path = tmp_path / "audit.log"
    async with AuditLog(path) as audit:
        record = await audit.record(e)

    written = path.read_text()
    assert record["caller"] == "transport-analyst" and record["department"] == "transport"
    assert key not in written and hash_api_key(key) not in written
    assert hash_api_key(key).removeprefix("sha256:") not in written
    assert set(record) == RECORD_KEYS


class Status(enum.Enum):
    OK = "OK"
    TIMEOUT = "TIMEOUT"
    SKIPPED = "SKIPPED"


@dataclass
class Report:
    source_id: str
    status: Status


def test_sources_keep_the_worst_status_of_each_source() -> None:
    e = AuditEvent("req")
    e.add_sources([Report("a", Status.OK), Report("b", Status.SKIPPED)])
    e.add_sources([Report("a", Status.TIMEOUT), Report("b", Status.OK)])
    e.add_sources([Report("a", Status.OK)])

    assert e.fields()["sources"] == [
        {"id": "a", "status": "TIMEOUT"},
        {"id": "b", "status": "OK"},
    ]


@pytest.mark.parametrize(
    ("executed", "has_data", "has_errors", "outcome"),
    [
        (False, False, True, Outcome.REJECTED),
        (True, False, True, Outcome.ERROR),
        (True, True, True, Outcome.PARTIAL),
        (True, True, False, Outcome.OK),
    ],
)
def test_outcome_of_a_request(
    executed: bool, has_data: bool, has_errors: bool, outcome: Outcome
) -> None:
    assert Outcome.of(executed=executed, has_data=has_data, has_errors=has_errors) is outcome


async def test_text_utf8_cannot_encode_is_recorded_escaped_and_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    e = event(0)
    e.operation = "公交\ud800"
    e.request_id = "r" * 500
    async with AuditLog(path) as audit:
        record = await audit.record(e)

    assert record["operation"] == "公交\\ud800"
    assert len(record["request_id"]) == 128
    assert verify([path]).ok
