"""State machines as data (STYLE.md 13): one table ``(state, event) -> state, who may``.

A workflow declares its table once; ``StateMachine`` checks it when built (every state and
actor named is known, no pair twice) and ``transition`` is the only way a state changes:
anything not in the table, or by someone the row does not allow, raises
``TransitionRefused``.

>>> class State(enum.StrEnum):
...     SUBMITTED = "SUBMITTED"; APPROVED = "APPROVED"; WITHDRAWN = "WITHDRAWN"
>>> class Actor(enum.StrEnum):
...     REQUESTER = "requester"; REVIEWER = "reviewer"
>>> machine = StateMachine("access request", [
...     Transition(State.SUBMITTED, "approve", State.APPROVED, {Actor.REVIEWER}),
...     Transition(State.SUBMITTED, "withdraw", State.WITHDRAWN, {Actor.REQUESTER}),
... ])
>>> machine.transition(State.SUBMITTED, "approve", {Actor.REVIEWER})
<State.APPROVED: 'APPROVED'>
>>> machine.transition(State.APPROVED, "withdraw", {Actor.REQUESTER})
TransitionRefused: an access request in state APPROVED cannot 'withdraw'
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from connectors.sdk import GatewayError

S = TypeVar("S", bound=enum.Enum)
A = TypeVar("A", bound=enum.Enum)


class TransitionRefused(GatewayError):
    """The event is not allowed from that state, or not for that actor. ``allowed`` is
    ``False`` when the pair exists but the actor may not (callers may want to answer both
    the same way, to reveal nothing)."""

    def __init__(self, message: str, *, state: enum.Enum, event: str, known: bool) -> None:
        super().__init__(message)
        self.state = state
        self.event = event
        self.known = known


@dataclass(frozen=True, slots=True)
class Transition(Generic[S, A]):
    """One row: from ``source``, ``event`` leads to ``target`` when done by one of ``by``."""

    source: S
    event: str
    target: S
    by: frozenset[A]

    def __init__(self, source: S, event: str, target: S, by: Iterable[A]) -> None:
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "event", event)
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "by", frozenset(by))


class StateMachine(Generic[S, A]):
    """A checked transition table for the workflow called ``name``."""

    def __init__(self, name: str, table: Iterable[Transition[S, A]]) -> None:
        self.name = name
        self.table: tuple[Transition[S, A], ...] = tuple(table)
        self._rows: dict[tuple[S, str], Transition[S, A]] = {}
        state_types = {type(row.source) for row in self.table} | {
            type(row.target) for row in self.table
        }
        if len(state_types) > 1:
            raise ValueError(f"{name}: states of several enums: {sorted(map(str, state_types))}")
        for row in self.table:
            key = (row.source, row.event)
            if key in self._rows:
                raise ValueError(f"{name}: ({row.source.name}, {row.event!r}) appears twice")
            if not row.by:
                raise ValueError(f"{name}: ({row.source.name}, {row.event!r}) names no actor")
            self._rows[key] = row

    @property
    def events(self) -> frozenset[str]:
        return frozenset(row.event for row in self.table)

    def allowed(self, state: S, actors: Collection[A]) -> list[str]:
        """The events one of ``actors`` may fire from ``state`` (for the UI's buttons)."""
        return [
            row.event for row in self.table if row.source == state and not row.by.isdisjoint(actors)
        ]

    def transition(self, state: S, event: str, actors: Collection[A]) -> S:
        """The state after ``event``; ``TransitionRefused`` if the table has no such row or
        none of ``actors`` may fire it."""
        row = self._rows.get((state, event))
        if row is None:
            raise TransitionRefused(
                f"{_article(self.name)} {self.name} in state {state.name} cannot {event!r}",
                state=state,
                event=event,
                known=False,
            )
        if row.by.isdisjoint(actors):
            who = ", ".join(sorted(str(a.value) for a in row.by))
            raise TransitionRefused(
                f"only {who} may {event!r} {_article(self.name)} {self.name} in state {state.name}",
                state=state,
                event=event,
                known=True,
            )
        return row.target


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"
