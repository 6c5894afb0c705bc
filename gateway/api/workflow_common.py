"""What the workflow resolvers share: the store check, audit records, refusals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gateway.api.errors import PublicError
from gateway.audit import AuditUnavailable, record_workflow
from gateway.store import Store

if TYPE_CHECKING:
    from gateway.api.context import RequestContext

MAX_TEXT = 4000


def store_of(ctx: RequestContext) -> Store:
    if ctx.store is None:
        raise PublicError(
            "this gateway keeps no workflow state: configure store.url", "WORKFLOWS_UNAVAILABLE"
        )
    return ctx.store


def signed_in(ctx: RequestContext) -> None:
    if ctx.caller.anonymous:
        raise PublicError("sign in (X-API-Key or a bearer token) to do this", "UNAUTHENTICATED")


def required_text(value: str | None, argument: str, limit: int = MAX_TEXT) -> str:
    text = (value or "").strip()
    if not text:
        raise PublicError(
            f"{argument} is required and may not be blank", "BAD_USER_INPUT", argument=argument
        )
    if len(text) > limit:
        raise PublicError(
            f"{argument} is longer than {limit} characters", "BAD_USER_INPUT", argument=argument
        )
    return text


def not_found(kind: str) -> PublicError:
    """The one answer for an id that does not exist, is malformed, or is not the caller's
    to see: nothing tells them apart."""
    return PublicError(f"no {kind} with this id", "NOT_FOUND", argument="id")


def refused(kind: str, verb: str) -> PublicError:
    """A change the caller's role or the object's state does not allow (the same answer
    whichever it is)."""
    return PublicError(f"you cannot {verb} this {kind} now", "NOT_ALLOWED")


async def audit(
    ctx: RequestContext,
    event: str,
    subject: str,
    reason: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """The chain record of a committed change; an error the client sees when the audit
    log cannot take it (the change stands: it is in the store and its outbox event)."""
    try:
        await record_workflow(
            ctx.audit,
            event,
            subject,
            ctx.caller,
            reason,
            request_id=ctx.request_id,
            details=details or {},
        )
    except AuditUnavailable:
        raise PublicError(
            "the change was saved but the audit log could not record it; tell the operators",
            "AUDIT_UNAVAILABLE",
        ) from None
