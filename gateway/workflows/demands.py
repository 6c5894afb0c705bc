"""Open-data demands and error reports (开放需求受理反馈, 纠错): states, who may move them,
what an answer must carry, and the limits on what the public may submit.

The whole life of a demand is ``MACHINE``'s table (STYLE.md 13)::

    RECEIVED --assign--> ASSIGNED --answer--> ANSWERED --close--> CLOSED
                         ASSIGNED --assign--> ASSIGNED     (the bureau reassigns)
    RECEIVED / ASSIGNED --close--> CLOSED                  (the bureau: spam, duplicate)

A submission naming a dataset or a department is routed at once: ``ROUTING`` fires
``assign`` on the submitter's behalf. No HTTP and no SQL here: the API layer reads and
writes through the store's ``DemandRepository``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from gateway.workflows.statemachine import StateMachine, Transition


class DemandKind(enum.StrEnum):
    OPEN_DATA = "OPEN_DATA"
    ERROR_REPORT = "ERROR_REPORT"


class DemandState(enum.StrEnum):
    RECEIVED = "RECEIVED"
    ASSIGNED = "ASSIGNED"
    ANSWERED = "ANSWERED"
    CLOSED = "CLOSED"


class DemandDecision(enum.StrEnum):
    WILL_OPEN = "WILL_OPEN"
    ALREADY_AVAILABLE = "ALREADY_AVAILABLE"
    APPLY_FOR_ACCESS = "APPLY_FOR_ACCESS"
    DECLINED = "DECLINED"
    CORRECTED = "CORRECTED"


class DemandActor(enum.StrEnum):
    """Who acts on one demand (a caller may be several at once)."""

    SUBMITTER = "submitter"  # the authenticated submitter, or whoever holds the receipt
    REVIEWER = "reviewer"  # a reviewer of the department the demand is assigned to
    BUREAU = "bureau"  # the data administration bureau
    ROUTING = "routing"  # the gateway itself, routing a submission that names its department


S, A = DemandState, DemandActor

MACHINE: StateMachine[DemandState, DemandActor] = StateMachine(
    "data demand",
    [
        Transition(S.RECEIVED, "assign", S.ASSIGNED, {A.ROUTING, A.BUREAU}),
        Transition(S.ASSIGNED, "assign", S.ASSIGNED, {A.BUREAU}),
        Transition(S.ASSIGNED, "answer", S.ANSWERED, {A.REVIEWER}),
        Transition(S.RECEIVED, "close", S.CLOSED, {A.BUREAU}),
        Transition(S.ASSIGNED, "close", S.CLOSED, {A.BUREAU}),
        Transition(S.ANSWERED, "close", S.CLOSED, {A.SUBMITTER, A.BUREAU}),
    ],
)

# Deadlines run while someone owes the submitter something.
OPEN_STATES = frozenset({DemandState.RECEIVED, DemandState.ASSIGNED})
# Who may read the contact details (and the purpose) of a demand.
CONTACT_READERS = frozenset({DemandActor.SUBMITTER, DemandActor.REVIEWER, DemandActor.BUREAU})

# The decisions that fit each kind of demand.
DECISIONS: dict[DemandKind, frozenset[DemandDecision]] = {
    DemandKind.OPEN_DATA: frozenset(
        {
            DemandDecision.WILL_OPEN,
            DemandDecision.ALREADY_AVAILABLE,
            DemandDecision.APPLY_FOR_ACCESS,
            DemandDecision.DECLINED,
        }
    ),
    DemandKind.ERROR_REPORT: frozenset({DemandDecision.CORRECTED, DemandDecision.DECLINED}),
}


@dataclass(frozen=True, slots=True)
class Limits:
    """Sizes a submission and an answer may have (characters, items)."""

    title: int = 200
    description: int = 5000
    purpose: int = 1000
    themes: int = 10
    theme: int = 64
    contact_name: int = 100
    email: int = 254
    phone: int = 32
    reason: int = 2000
    answer_datasets: int = 20


LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where (``field``, as the client spelled it) and what."""

    field: str
    message: str


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{2,30}$")


def email_problem(email: str) -> str | None:
    """Why ``email`` is not a usable address, or ``None``. Never quotes the address."""
    if not email:
        return "an email address is required"
    if len(email) > LIMITS.email:
        return f"is longer than {LIMITS.email} characters"
    local, _, _ = email.partition("@")
    if len(local) > 64 or not _EMAIL.fullmatch(email) or ".." in email:
        return "is not a valid email address (like name@example.gov.cn)"
    return None


@dataclass(frozen=True, slots=True)
class Contact:
    name: str | None
    email: str
    phone: str | None


@dataclass(frozen=True, slots=True)
class DemandDraft:
    """A submission, trimmed; ``problems()`` lists everything wrong with it at once."""

    kind: DemandKind
    title: str
    description: str
    themes: tuple[str, ...]
    purpose: str | None
    contact: Contact

    @classmethod
    def of(
        cls,
        *,
        kind: DemandKind,
        title: str,
        description: str,
        themes: Sequence[str] | None,
        purpose: str | None,
        contact: Contact,
    ) -> DemandDraft:
        unique: list[str] = []
        for theme in themes or ():
            cleaned = theme.strip()
            if cleaned and cleaned not in unique:
                unique.append(cleaned)
        return cls(
            kind=kind,
            title=title.strip(),
            description=description.strip(),
            themes=tuple(unique),
            purpose=(purpose or "").strip() or None,
            contact=Contact(
                name=(contact.name or "").strip() or None,
                email=contact.email.strip(),
                phone=(contact.phone or "").strip() or None,
            ),
        )

    def problems(self) -> list[Problem]:
        found: list[Problem] = []

        def text(field: str, value: str | None, limit: int, *, required: bool) -> None:
            if required and not value:
                found.append(Problem(field, "is required"))
            elif value and len(value) > limit:
                found.append(Problem(field, f"is longer than {limit} characters"))

        text("title", self.title, LIMITS.title, required=True)
        text("description", self.description, LIMITS.description, required=True)
        text("purpose", self.purpose, LIMITS.purpose, required=False)
        if len(self.themes) > LIMITS.themes:
            found.append(Problem("themes", f"at most {LIMITS.themes} themes"))
        if any(len(theme) > LIMITS.theme for theme in self.themes):
            found.append(Problem("themes", f"a theme is longer than {LIMITS.theme} characters"))
        text("contact.name", self.contact.name, LIMITS.contact_name, required=False)
        problem = email_problem(self.contact.email)
        if problem is not None:
            found.append(Problem("contact.email", problem))
        phone = self.contact.phone
        if phone is not None and (len(phone) > LIMITS.phone or not _PHONE.fullmatch(phone)):
            found.append(Problem("contact.phone", "is not a phone number (digits, +, -, spaces)"))
        return found


@dataclass(frozen=True, slots=True)
class DemandAnswer:
    """What a department answers; ``dataset_ids`` are global ids, checked by the caller."""

    decision: DemandDecision
    reason: str | None
    planned_date: date | None
    dataset_ids: tuple[str, ...]

    def problems(self, kind: DemandKind, today: date) -> list[Problem]:
        """What is missing or does not belong, for a demand of ``kind`` answered ``today``."""
        found: list[Problem] = []
        decision = self.decision
        if decision not in DECISIONS[kind]:
            fitting = ", ".join(sorted(DECISIONS[kind]))
            found.append(Problem("decision", f"{kind} demands are answered with {fitting}"))
        if self.reason is not None and len(self.reason) > LIMITS.reason:
            found.append(Problem("reason", f"is longer than {LIMITS.reason} characters"))
        if decision is DemandDecision.DECLINED and not self.reason:
            found.append(Problem("reason", "DECLINED needs a reason"))
        if decision is DemandDecision.WILL_OPEN:
            if self.planned_date is None:
                found.append(Problem("plannedDate", "WILL_OPEN needs a planned date"))
            elif self.planned_date < today:
                found.append(Problem("plannedDate", "is in the past"))
        elif self.planned_date is not None:
            found.append(Problem("plannedDate", "only WILL_OPEN takes a planned date"))
        if decision is DemandDecision.ALREADY_AVAILABLE and not self.dataset_ids:
            found.append(Problem("datasetIds", "ALREADY_AVAILABLE needs the datasets' ids"))
        if self.dataset_ids and decision not in (
            DemandDecision.ALREADY_AVAILABLE,
            DemandDecision.APPLY_FOR_ACCESS,
        ):
            found.append(
                Problem("datasetIds", "only ALREADY_AVAILABLE and APPLY_FOR_ACCESS name datasets")
            )
        if len(self.dataset_ids) > LIMITS.answer_datasets:
            found.append(Problem("datasetIds", f"at most {LIMITS.answer_datasets} datasets"))
        return found
