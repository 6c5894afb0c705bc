from __future__ import annotations

import json
from pathlib import Path

from gateway.access import Caller
from gateway.audit import AuditEvent, AuditLog, record_workflow
from gateway.audit.log import query, verify

REVIEWER = Caller("transport-reviewer", "transport", ("data-reviewer",))


async def test_a_workflow_change_is_a_chain_record_that_verify_accepts(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    async with AuditLog(path) as audit:
        await audit.record(AuditEvent("req-1"))
        record = await record_workflow(
            audit,
            "access_request.revoked",
            "AccessRequest:42",
            REVIEWER,
            "the project ended",
            request_id="req-2",
            details={"state": "REVOKED"},
        )
        await audit.record(AuditEvent("req-3"))
    assert record is not None
    assert {k: record[k] for k in ("kind", "event", "subject", "caller", "department")} == {
        "kind": "workflow",
        "event": "access_request.revoked",
        "subject": "AccessRequest:42",
        "caller": "transport-reviewer",
        "department": "transport",
    }
    assert record["reason"] == "the project ended" and record["details"] == {"state": "REVOKED"}
    assert record["seq"] == 2 and record["request_id"] == "req-2"
    result = verify([path])
    assert result.ok and result.records == 3
    assert [r["seq"] for r in query([path], caller="transport-reviewer")] == [2]


async def test_an_edited_workflow_record_breaks_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    async with AuditLog(path) as audit:
        await record_workflow(audit, "access_request.approved", "AR:1", REVIEWER, None)
        await record_workflow(audit, "access_request.revoked", "AR:1", REVIEWER, "misuse")
    lines = path.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[1])
    record["reason"] = "routine"
    lines[1] = json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    path.write_bytes(b"".join(lines))
    assert not verify([path]).ok


async def test_an_anonymous_actor_is_recorded_without_an_id(tmp_path: Path) -> None:
    async with AuditLog(tmp_path / "audit.log") as audit:
        record = await record_workflow(
            audit, "data_demand.submitted", "DD:1", Caller("anonymous", anonymous=True)
        )
    assert record is not None and record["caller"] is None


async def test_without_an_audit_log_nothing_is_written() -> None:
    assert await record_workflow(None, "e", "s", REVIEWER) is None
