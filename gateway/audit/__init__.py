"""The hash-chained audit log, its verification and its query command."""

from __future__ import annotations

from gateway.audit.log import AuditEvent, AuditLog, AuditUnavailable, Outcome

__all__ = [
    "AuditEvent",
    "AuditLog",
    "AuditUnavailable",
    "Outcome",
]
