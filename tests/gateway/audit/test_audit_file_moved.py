"""The audit file renamed, deleted, replaced or truncated while the gateway writes it."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from gateway.audit.log import AuditLog, AuditUnavailable, verify
from tests.gateway.audit.test_audit import event


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_a_log_renamed_away_by_logrotate_continues_in_a_new_file_with_the_chain_intact(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "audit.log"
    async with AuditLog(path) as audit:
        for i in range(3):
            await audit.record(event(i))
        os.replace(path, tmp_path / "audit.log.1")  # logrotate's default (no copytruncate)
        with caplog.at_level(logging.WARNING, logger="gateway.audit"):
            for i in range(3, 5):
                await audit.record(event(i))

    assert [r["seq"] for r in records(tmp_path / "audit.log.1")] == [1, 2, 3]
    assert [r["seq"] for r in records(path)] == [4, 5]  # not lost in the renamed file
    result = verify([tmp_path / "audit.log.1", path])
    assert result.ok and result.records == 5
    [warning] = caplog.records
    assert "renamed or deleted while the gateway was writing it" in warning.getMessage()


async def test_a_deleted_log_is_noticed_and_recreated_chaining_to_the_last_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "audit.log"
    async with AuditLog(path) as audit:
        last = await audit.record(event(0))
        path.unlink()
        with caplog.at_level(logging.WARNING, logger="gateway.audit"):
            await audit.record(event(1))

    [record] = records(path)
    assert (record["seq"], record["prev"]) == (2, last["hash"])
    assert "seq 1" in caplog.records[0].getMessage()


async def test_a_log_replaced_by_a_file_that_breaks_the_chain_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    async with AuditLog(path) as audit:
        await audit.record(event(0))
        os.replace(path, tmp_path / "elsewhere.log")
        path.write_text('{"not": "our chain"}\n', encoding="utf-8")
        with pytest.raises(AuditUnavailable, match="does not continue the chain"):
            await audit.record(event(1))
        # Moving the stranger aside lets the log go on, still chained.
        os.replace(path, tmp_path / "stranger.log")
        await audit.record(event(2))
    assert verify([tmp_path / "elsewhere.log"]).ok
    assert [r["seq"] for r in records(path)] == [2]


async def test_a_log_truncated_under_the_gateway_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "audit.log"
    async with AuditLog(path) as audit:
        for i in range(2):
            await audit.record(event(i))
        os.truncate(path, 0)  # logrotate copytruncate
        with caplog.at_level(logging.WARNING, logger="gateway.audit"):
            await audit.record(event(2))
    assert [r["seq"] for r in records(path)] == [3]
    assert "was truncated by another program" in caplog.records[0].getMessage()
