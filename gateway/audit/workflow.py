"""Workflow changes on the audit chain: who moved which object to what, and why.

A workflow record sits in the same hash chain as the request records and is verified the
same way (``audit verify``)::

    {"kind":"workflow","event":"access_request.approved","subject":"AccessRequest:…",
     "caller":"transport-reviewer","department":"transport","reason":"…","details":{…},
     "request_id":"…","time":…,"seq":…,"prev":…,"hash":…}

``event`` is the outbox event name; ``caller`` is the actor (so ``audit query --caller``
finds what someone did); ``details`` holds ids and states only, never contact data or a
secret. Workflows call ``record_workflow`` after their transaction committed; a failure
raises ``AuditUnavailable`` like a request record does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.access import Caller
from gateway.audit.log import AuditLog, _text

WORKFLOW_KIND = "workflow"


@dataclass(frozen=True, slots=True)
class WorkflowRecord:
    """One workflow state change; ``AuditLog.record`` writes it."""

    event: str
    subject: str
    actor: Caller
    reason: str | None = None
    request_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        return {
            "kind": WORKFLOW_KIND,
            "event": _text(self.event, 128),
            "subject": _text(self.subject, 512),
            "caller": _text(None if self.actor.anonymous else self.actor.id, 256),
            "department": _text(self.actor.department, 256),
            "reason": _text(self.reason, 4096),
            "request_id": _text(self.request_id, 128),
            "details": dict(self.details),
        }


async def record_workflow(
    audit: AuditLog | None,
    event: str,
    subject: str,
    actor: Caller,
    reason: str | None = None,
    *,
    request_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Write a workflow record; the written record, or ``None`` when auditing is off.

    >>> await record_workflow(audit, "access_request.revoked", request_id_, caller,
    ...                       reason="the project ended")
    """
    if audit is None:
        return None
    record = WorkflowRecord(event, subject, actor, reason, request_id, details or {})
    return await audit.record(record)
