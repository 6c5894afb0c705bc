"""Operation agreements (授权运营): statuses, who changes them, and what a scope covers.

ACTIVE <--suspend/resume (bureau)--> SUSPENDED
ACTIVE, SUSPENDED --terminate (bureau)--> TERMINATED (the exit)
ACTIVE, SUSPENDED --expire (bureau, gateway)--> EXPIRED
"""

from __future__ import annotations

import enum

from gateway.workflows.statemachine import StateMachine, Transition


class AgreementStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    TERMINATED = "TERMINATED"
    EXPIRED = "EXPIRED"


class AgreementMode(enum.StrEnum):
    OVERALL = "OVERALL"  # 整体: everything shareable up to its sensitivity
    SECTOR = "SECTOR"  # 分领域: its departments and themes (and named datasets)
    SCENARIO = "SCENARIO"  # 依场景: only under its scenarios


class AgreementActor(enum.StrEnum):
    BUREAU = "the data administration bureau"
    SYSTEM = "the gateway"


St = AgreementStatus
Ac = AgreementActor

MACHINE: StateMachine[AgreementStatus, AgreementActor] = StateMachine(
    "operation agreement",
    [
        Transition(St.ACTIVE, "suspend", St.SUSPENDED, {Ac.BUREAU}),
        Transition(St.SUSPENDED, "resume", St.ACTIVE, {Ac.BUREAU}),
        Transition(St.ACTIVE, "terminate", St.TERMINATED, {Ac.BUREAU}),
        Transition(St.SUSPENDED, "terminate", St.TERMINATED, {Ac.BUREAU}),
        Transition(St.ACTIVE, "expire", St.EXPIRED, {Ac.BUREAU, Ac.SYSTEM}),
        Transition(St.SUSPENDED, "expire", St.EXPIRED, {Ac.BUREAU, Ac.SYSTEM}),
    ],
)

# setOperationAgreementStatus(status) names the target; the table event that reaches it.
EVENT_FOR_TARGET = {
    St.SUSPENDED: "suspend",
    St.ACTIVE: "resume",
    St.TERMINATED: "terminate",
    St.EXPIRED: "expire",
}
EVENTS = {
    "suspend": "operation_agreement.suspended",
    "resume": "operation_agreement.resumed",
    "terminate": "operation_agreement.terminated",
    "expire": "operation_agreement.expired",
}
CREATED_EVENT = "operation_agreement.created"
