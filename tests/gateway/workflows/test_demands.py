"""The data demand's transition table, walked whole, and the rules on what is submitted and
answered."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from gateway.workflows import TransitionRefused
from gateway.workflows.demands import (
    MACHINE,
    Contact,
    DemandActor,
    DemandAnswer,
    DemandDecision,
    DemandDraft,
    DemandKind,
    DemandState,
    email_problem,
)

S, A = DemandState, DemandActor

# The contract, written out independently of the module: (state, event) -> target, who.
EXPECTED = {
    (S.RECEIVED, "assign"): (S.ASSIGNED, {A.ROUTING, A.BUREAU}),
    (S.ASSIGNED, "assign"): (S.ASSIGNED, {A.BUREAU}),
    (S.ASSIGNED, "answer"): (S.ANSWERED, {A.REVIEWER}),
    (S.RECEIVED, "close"): (S.CLOSED, {A.BUREAU}),
    (S.ASSIGNED, "close"): (S.CLOSED, {A.BUREAU}),
    (S.ANSWERED, "close"): (S.CLOSED, {A.SUBMITTER, A.BUREAU}),
}


def test_the_table_is_walked_every_row_allowed_and_everything_else_refused() -> None:
    events = {"assign", "answer", "close", "support", "reopen"}
    assert MACHINE.events == {"assign", "answer", "close"}
    for state, event, actor in itertools.product(DemandState, sorted(events), DemandActor):
        expected = EXPECTED.get((state, event))
        if expected is not None and actor in expected[1]:
            assert MACHINE.transition(state, event, {actor}) is expected[0]
        else:
            with pytest.raises(TransitionRefused) as refused:
                MACHINE.transition(state, event, {actor})
            assert refused.value.known is (expected is not None)


def test_a_closed_demand_goes_nowhere() -> None:
    assert MACHINE.allowed(S.CLOSED, set(DemandActor)) == []


def draft(**overrides: object) -> DemandDraft:
    values: dict[str, object] = {
        "kind": DemandKind.OPEN_DATA,
        "title": "  Bus stops  ",
        "description": "step-free access",
        "themes": [" transport ", "transport", "", "accessibility"],
        "purpose": "  ",
        "contact": Contact(None, " a@example.cn ", None),
    }
    values.update(overrides)
    return DemandDraft.of(**values)  # type: ignore[arg-type]


def test_a_draft_is_trimmed_and_its_themes_deduplicated() -> None:
    made = draft()
    assert made.title == "Bus stops"
    assert made.themes == ("transport", "accessibility")
    assert made.purpose is None
    assert made.contact.email == "a@example.cn"
    assert made.problems() == []


def test_every_problem_of_a_draft_is_listed_at_once() -> None:
    made = draft(
        title="x" * 201,
        description="",
        themes=[f"t{i}" for i in range(11)],
        purpose="p" * 1001,
        contact=Contact("n" * 101, "broken@", "call me"),
    )
    assert {p.field for p in made.problems()} == {
        "title",
        "description",
        "themes",
        "purpose",
        "contact.name",
        "contact.email",
        "contact.phone",
    }


@pytest.mark.parametrize(
    "email",
    ["a@b.cn", "wang.fang+demands@data.hz.gov.cn", "x_y@sub-domain.example.org"],
)
def test_addresses_that_are_accepted(email: str) -> None:
    assert email_problem(email) is None


@pytest.mark.parametrize(
    "email",
    [
        "",
        "plain",
        "@example.cn",
        "a@",
        "a@b",
        "a@b..cn",
        "a b@c.cn",
        "a@-b.cn",
        "a@b.cn\n",
        "x" * 65 + "@b.cn",
        "a@" + "b" * 250 + ".cn",
    ],
)
def test_addresses_that_are_refused_without_being_quoted(email: str) -> None:
    problem = email_problem(email)
    assert problem is not None
    assert not email or email.strip() not in problem


TODAY = date(2026, 10, 8)


def answer(decision: DemandDecision, **fields: object) -> DemandAnswer:
    values: dict[str, object] = {"reason": None, "planned_date": None, "dataset_ids": ()}
    values.update(fields)
    return DemandAnswer(decision, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "given", "fields"),
    [
        (DemandKind.OPEN_DATA, answer(DemandDecision.WILL_OPEN), {"plannedDate"}),
        (
            DemandKind.OPEN_DATA,
            answer(DemandDecision.WILL_OPEN, planned_date=date(2026, 10, 7)),
            {"plannedDate"},
        ),
        (DemandKind.OPEN_DATA, answer(DemandDecision.DECLINED), {"reason"}),
        (DemandKind.OPEN_DATA, answer(DemandDecision.ALREADY_AVAILABLE), {"datasetIds"}),
        (DemandKind.OPEN_DATA, answer(DemandDecision.CORRECTED), {"decision"}),
        (
            DemandKind.ERROR_REPORT,
            answer(DemandDecision.WILL_OPEN, planned_date=TODAY),
            {"decision"},
        ),
        (
            DemandKind.OPEN_DATA,
            answer(DemandDecision.DECLINED, reason="r", dataset_ids=("x",)),
            {"datasetIds"},
        ),
        (
            DemandKind.OPEN_DATA,
            answer(DemandDecision.APPLY_FOR_ACCESS, planned_date=TODAY),
            {"plannedDate"},
        ),
        (
            DemandKind.OPEN_DATA,
            answer(DemandDecision.DECLINED, reason="r" * 2001),
            {"reason"},
        ),
    ],
)
def test_an_answer_missing_what_its_decision_needs_is_refused(
    kind: DemandKind, given: DemandAnswer, fields: set[str]
) -> None:
    assert {p.field for p in given.problems(kind, TODAY)} == fields


@pytest.mark.parametrize(
    ("kind", "given"),
    [
        (DemandKind.OPEN_DATA, answer(DemandDecision.WILL_OPEN, planned_date=TODAY)),
        (DemandKind.OPEN_DATA, answer(DemandDecision.ALREADY_AVAILABLE, dataset_ids=("d",))),
        (DemandKind.OPEN_DATA, answer(DemandDecision.APPLY_FOR_ACCESS)),
        (DemandKind.OPEN_DATA, answer(DemandDecision.APPLY_FOR_ACCESS, dataset_ids=("d",))),
        (DemandKind.OPEN_DATA, answer(DemandDecision.DECLINED, reason="personal data")),
        (DemandKind.ERROR_REPORT, answer(DemandDecision.CORRECTED)),
        (DemandKind.ERROR_REPORT, answer(DemandDecision.DECLINED, reason="not an error")),
    ],
)
def test_complete_answers_pass(kind: DemandKind, given: DemandAnswer) -> None:
    assert given.problems(kind, TODAY) == []
