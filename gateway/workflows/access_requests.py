"""Access requests (按需共享): the states, who moves them, and each stage's deadline.

The whole workflow is this one table (``MACHINE``); resolvers and the store call
``MACHINE.transition`` and never set a state by hand::

    SUBMITTED --pass (bureau)--> PROVIDER_REVIEW --approve (provider)--> APPROVED
        |  \\--reject (bureau)--> REJECTED        \\--reject (provider)--> REJECTED
        \\--withdraw (requester)--> WITHDRAWN      APPROVED --revoke (provider, bureau)--> REVOKED
                                                 APPROVED --expire (system)--> EXPIRED
"""

from __future__ import annotations

import enum
from collections.abc import Collection

from gateway.access import Caller, WorkflowSettings
from gateway.workflows.statemachine import StateMachine, Transition


class AccessRequestState(enum.StrEnum):
    SUBMITTED = "SUBMITTED"  # waiting for the bureau's compliance review
    PROVIDER_REVIEW = "PROVIDER_REVIEW"  # waiting for the providing department
    APPROVED = "APPROVED"  # the grant stands
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"
    EXPIRED = "EXPIRED"  # past validUntil
    REVOKED = "REVOKED"


class AccessActor(enum.StrEnum):
    REQUESTER = "the requester"
    BUREAU = "the data administration bureau"
    PROVIDER = "the providing department's reviewers"
    SYSTEM = "the gateway"


S = AccessRequestState
A = AccessActor

MACHINE: StateMachine[AccessRequestState, AccessActor] = StateMachine(
    "access request",
    [
        Transition(S.SUBMITTED, "pass", S.PROVIDER_REVIEW, {A.BUREAU}),
        Transition(S.SUBMITTED, "reject", S.REJECTED, {A.BUREAU}),
        Transition(S.SUBMITTED, "withdraw", S.WITHDRAWN, {A.REQUESTER}),
        Transition(S.PROVIDER_REVIEW, "approve", S.APPROVED, {A.PROVIDER}),
        Transition(S.PROVIDER_REVIEW, "reject", S.REJECTED, {A.PROVIDER}),
        Transition(S.PROVIDER_REVIEW, "withdraw", S.WITHDRAWN, {A.REQUESTER}),
        Transition(S.APPROVED, "revoke", S.REVOKED, {A.PROVIDER, A.BUREAU}),
        Transition(S.APPROVED, "expire", S.EXPIRED, {A.SYSTEM}),
    ],
)

# The outbox (and audit) event each table event announces.
EVENTS = {
    "pass": "access_request.reviewed",
    "reject": "access_request.reviewed",
    "withdraw": "access_request.withdrawn",
    "approve": "access_request.approved",
    "revoke": "access_request.revoked",
    "expire": "access_request.expired",
}
SUBMITTED_EVENT = "access_request.submitted"
EXPIRING_EVENT = "access_request.expiring"
# Working days before validUntil at which the requester is told the grant is expiring.
EXPIRING_NOTICE_DAYS = 5

# The stage whose deadline runs in each state (the others have none).
STAGE_OF = {
    S.SUBMITTED: "compliance_review",
    S.PROVIDER_REVIEW: "provider_review",
}


def actors(
    caller: Caller, settings: WorkflowSettings, requester_id: str, provider_department: str
) -> frozenset[AccessActor]:
    """The parts ``caller`` plays for one request (several at once is possible)."""
    if caller.anonymous:
        return frozenset()
    found = set()
    if caller.id == requester_id:
        found.add(A.REQUESTER)
    if settings.is_bureau(caller.roles):
        found.add(A.BUREAU)
    if settings.is_reviewer(caller.roles) and caller.department == provider_department:
        found.add(A.PROVIDER)
    return frozenset(found)


def can_see(parts: Collection[AccessActor]) -> bool:
    """A request is seen by its requester, the provider's reviewers and the bureau."""
    return bool(parts)


def stage_days(state: AccessRequestState, settings: WorkflowSettings) -> int | None:
    """Working days allowed for the stage that starts in ``state``, if one does."""
    stage = STAGE_OF.get(state)
    return None if stage is None else int(getattr(settings.deadlines, stage))
