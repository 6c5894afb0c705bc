"""Access requests, operation agreements, open-data demands: state machines and deadlines
(no HTTP and no SQL inside).

Shared pieces: ``WorkingCalendar`` (deadlines in Chinese working days), ``StateMachine``
with ``Transition`` rows and ``TransitionRefused``.
"""

from __future__ import annotations

from gateway.workflows.calendar import DEFAULT_TIME_ZONE, WorkingCalendar
from gateway.workflows.statemachine import StateMachine, Transition, TransitionRefused

__all__ = [
    "DEFAULT_TIME_ZONE",
    "StateMachine",
    "Transition",
    "TransitionRefused",
    "WorkingCalendar",
]
