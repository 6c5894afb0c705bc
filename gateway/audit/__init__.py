"""The hash-chained audit log, its verification and its query command."""

from __future__ import annotations

from gateway.audit.chain import worker_audit_path
from gateway.audit.log import AuditEvent, AuditLog, AuditUnavailable, Outcome, Recordable
from gateway.audit.workflow import WORKFLOW_KIND, WorkflowRecord, record_workflow

__all__ = [
    "WORKFLOW_KIND",
    "AuditEvent",
    "AuditLog",
    "AuditUnavailable",
    "Outcome",
    "Recordable",
    "WorkflowRecord",
    "record_workflow",
    "worker_audit_path",
]
