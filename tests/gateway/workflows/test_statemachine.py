from __future__ import annotations

import enum
import itertools

import pytest

from gateway.workflows import StateMachine, Transition, TransitionRefused


class State(enum.StrEnum):
    SUBMITTED = "SUBMITTED"
    REVIEW = "REVIEW"
    APPROVED = "APPROVED"
    WITHDRAWN = "WITHDRAWN"


class Other(enum.StrEnum):
    X = "X"


class Actor(enum.StrEnum):
    REQUESTER = "requester"
    BUREAU = "bureau"
    REVIEWER = "reviewer"


TABLE = [
    Transition(State.SUBMITTED, "pass", State.REVIEW, {Actor.BUREAU}),
    Transition(State.SUBMITTED, "withdraw", State.WITHDRAWN, {Actor.REQUESTER}),
    Transition(State.REVIEW, "approve", State.APPROVED, {Actor.REVIEWER}),
    Transition(State.REVIEW, "withdraw", State.WITHDRAWN, {Actor.REQUESTER, Actor.BUREAU}),
]
machine = StateMachine("access request", TABLE)


def test_the_table_is_walked_every_row_allowed_everything_else_refused() -> None:
    rows = {(row.source, row.event): row for row in TABLE}
    for state, event, actor in itertools.product(State, sorted(machine.events), Actor):
        row = rows.get((state, event))
        if row is not None and actor in row.by:
            assert machine.transition(state, event, {actor}) is row.target
        else:
            with pytest.raises(TransitionRefused) as caught:
                machine.transition(state, event, {actor})
            assert caught.value.known is (row is not None)
            assert caught.value.state is state and caught.value.event == event


def test_refusals_say_what_was_refused() -> None:
    with pytest.raises(
        TransitionRefused, match="an access request in state APPROVED cannot 'withdraw'"
    ):
        machine.transition(State.APPROVED, "withdraw", {Actor.REQUESTER})
    with pytest.raises(TransitionRefused, match="only reviewer may 'approve'"):
        machine.transition(State.REVIEW, "approve", {Actor.BUREAU})
    with pytest.raises(TransitionRefused, match="cannot 'fly'"):
        machine.transition(State.REVIEW, "fly", set(Actor))
    with pytest.raises(TransitionRefused):
        machine.transition(State.REVIEW, "approve", set())


def test_any_of_several_roles_is_enough() -> None:
    assert machine.transition(State.REVIEW, "approve", {Actor.BUREAU, Actor.REVIEWER}) is (
        State.APPROVED
    )


def test_allowed_lists_the_events_an_actor_may_fire() -> None:
    assert machine.allowed(State.REVIEW, {Actor.REQUESTER}) == ["withdraw"]
    assert sorted(machine.allowed(State.REVIEW, {Actor.BUREAU, Actor.REVIEWER})) == [
        "approve",
        "withdraw",
    ]
    assert machine.allowed(State.APPROVED, set(Actor)) == []


def test_a_bad_table_is_refused_when_built() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        StateMachine(
            "t", [TABLE[0], Transition(State.SUBMITTED, "pass", State.APPROVED, {Actor.BUREAU})]
        )
    with pytest.raises(ValueError, match="names no actor"):
        StateMachine("t", [Transition(State.SUBMITTED, "pass", State.REVIEW, set[Actor]())])
    with pytest.raises(ValueError, match="several enums"):
        StateMachine("t", [Transition(State.SUBMITTED, "go", Other.X, {Actor.BUREAU})])  # type: ignore[arg-type]
