"""`audit verify` over several chains: the per-worker chains of `serve --workers N`, each
with its rotated files, given as files or as the directory that holds them."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.audit import cli as audit_cli
from gateway.audit import worker_audit_path
from gateway.audit.chain import group_chains
from tests.gateway.audit.test_audit import lines, rewrite, write


@pytest.fixture
async def two_workers(tmp_path: Path) -> list[Path]:
    """audit.w1.log rotated into three files, audit.w2.log in one; a stray file beside."""
    configured = tmp_path / "audit.log"
    await write(worker_audit_path(configured, 1), 6, rotate_bytes=1000)
    await write(worker_audit_path(configured, 2), 2)
    (tmp_path / "notes.txt").write_text("not an audit log\n")
    return [worker_audit_path(configured, 1), worker_audit_path(configured, 2)]


async def test_a_directory_stands_for_every_chain_in_it(
    tmp_path: Path, two_workers: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    chains = group_chains([tmp_path])
    assert [[p.name for p in chain] for chain in chains] == [
        ["audit.w1.log", "audit.w1.log.1", "audit.w1.log.2"],
        ["audit.w2.log"],
    ]
    assert audit_cli.main_verify([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"{two_workers[0]} head: seq 6, hash" in out
    assert f"{two_workers[1]} head: seq 2, hash" in out
    assert "notes.txt" not in out


async def test_each_chain_is_verified_on_its_own_and_the_worst_result_is_the_exit_code(
    tmp_path: Path, two_workers: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    second = two_workers[1]
    rewrite(second, [lines(second)[0]])  # its last record cut: no file shows that alone
    first_rotated = tmp_path / "audit.w1.log.1"
    edited = lines(first_rotated)
    rewrite(first_rotated, [edited[0].replace(b"12.2", b"99.9"), *edited[1:]])

    files = sorted(str(p) for p in tmp_path.glob("audit.w*"))  # as a shell glob gives them
    assert audit_cli.main_verify(files) == 1
    out = capsys.readouterr().out
    assert f"{first_rotated}:1: record edited (hash mismatch)" in out
    assert f"{second} head: seq 1" in out  # the other chain is still checked and reported


async def test_one_chain_prints_as_before_and_an_empty_directory_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert audit_cli.main_verify([str(empty)]) == 2
    assert "no audit log found" in capsys.readouterr().err
