"""Access requests, operation agreements, open-data demands: state machines and deadlines
(no HTTP and no SQL inside).

``access_requests`` and ``agreements`` hold each workflow's transition table (``MACHINE``).
Shared pieces: ``WorkingCalendar`` (deadlines in Chinese working days), ``StateMachine``
with ``Transition`` rows and ``TransitionRefused``.
"""

from __future__ import annotations

from gateway.workflows.access_requests import AccessActor, AccessRequestState
from gateway.workflows.agreements import AgreementActor, AgreementMode, AgreementStatus
from gateway.workflows.calendar import DEFAULT_TIME_ZONE, WorkingCalendar
from gateway.workflows.statemachine import StateMachine, Transition, TransitionRefused

__all__ = [
    "AccessActor",
    "AccessRequestState",
    "AgreementActor",
    "AgreementMode",
    "AgreementStatus",
    "DEFAULT_TIME_ZONE",
    "StateMachine",
    "Transition",
    "TransitionRefused",
    "WorkingCalendar",
]
