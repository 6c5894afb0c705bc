"""The caller's arguments, checked before any platform is asked.

A caller's bad input must never reach a platform: a platform that rejects it would look
unwell (and, before this check, tripped its breaker for everyone). Every argument of
``datasets`` is checked here against bounds that no sensible query passes:

- text (``search`` and every filter value) holds no control characters (``search`` may
  hold tabs and line breaks) and no lone surrogates, and is not longer than its bound;
- a filter value is not blank; a ``sources`` value has the form of a source id;
- a list holds at most ``MAX_LIST_ITEMS`` values;
- ``modifiedAfter`` and ``modifiedBefore`` fall between ``EARLIEST`` and ``LATEST``;
- ``first`` is between 0 and the configured ``graphql.max_first``; ``after`` is no
  longer than a cursor can be.

Every problem is reported at once, as one GraphQL error with ``extensions.code``
``BAD_USER_INPUT``, ``extensions.argument`` (the first argument at fault, e.g.
``filter.modifiedBefore``) and ``extensions.problems`` (each ``{argument, message}``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from schema import graphql_types as gql

MAX_SEARCH_CHARS = 500
MAX_VALUE_CHARS = 200
MAX_LIST_ITEMS = 100
MAX_CURSOR_CHARS = 8192
MAX_LOCAL_ID_CHARS = 512
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

_SOURCE_ID = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_TEXT_WHITESPACE = frozenset("\t\n\r")
# GraphQL names of the filter's text lists, as a caller spells them.
_TEXT_LISTS = ("departments", "themes", "keywords", "formats", "identifiers")


@dataclass(frozen=True, slots=True)
class ArgumentProblem:
    argument: str  # as the caller spells it: "filter.keywords[0]"
    message: str


def _bad_character(value: str, *, allow: frozenset[str] = frozenset()) -> str | None:
    """The first control character or lone surrogate in ``value``, described."""
    for position, char in enumerate(value):
        if char in allow:
            continue
        category = unicodedata.category(char)
        if category == "Cc":
            return f"a control character (U+{ord(char):04X}) at position {position}"
        if category == "Cs":
            return f"a lone surrogate (U+{ord(char):04X}) at position {position}"
    return None


def text_problem(value: str, *, max_chars: int, allow: frozenset[str] = frozenset()) -> str | None:
    """What is wrong with one string argument, or ``None``."""
    if len(value) > max_chars:
        return f"is longer than {max_chars} characters"
    bad = _bad_character(value, allow=allow)
    return f"holds {bad}" if bad else None


def _value_problems(name: str, values: list[str] | None) -> Iterable[ArgumentProblem]:
    if values is None:
        return
    if len(values) > MAX_LIST_ITEMS:
        yield ArgumentProblem(name, f"holds {len(values)} values; at most {MAX_LIST_ITEMS}")
        return
    for index, value in enumerate(values):
        where = f"{name}[{index}]"
        problem = text_problem(value, max_chars=MAX_VALUE_CHARS)
        if problem is not None:
            yield ArgumentProblem(where, problem)
        elif not value.strip():
            yield ArgumentProblem(where, "is blank")
        elif value != value.strip():
            yield ArgumentProblem(where, "starts or ends with white space")


def _date_problem(name: str, value: datetime | None) -> ArgumentProblem | None:
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not EARLIEST <= aware < LATEST:
        return ArgumentProblem(
            name,
            f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (got {value.isoformat()})",
        )
    return None


def filter_problems(value: gql.DatasetFilter | None) -> list[ArgumentProblem]:
    if value is None:
        return []
    problems: list[ArgumentProblem] = []
    for name in _TEXT_LISTS:
        problems += _value_problems(f"filter.{name}", getattr(value, name))
    problems += _value_problems("filter.sources", value.sources)
    if not problems:
        problems += [
            ArgumentProblem(f"filter.sources[{i}]", "is not a source id ([a-z0-9-])")
            for i, source in enumerate(value.sources or ())
            if not _SOURCE_ID.match(source)
        ]
    for list_name, members in (("shareTypes", value.share_types), ("openTypes", value.open_types)):
        if members is not None and len(members) > MAX_LIST_ITEMS:
            problems.append(
                ArgumentProblem(f"filter.{list_name}", f"holds more than {MAX_LIST_ITEMS} values")
            )
    for date_name, date in (
        ("filter.modifiedAfter", value.modified_after),
        ("filter.modifiedBefore", value.modified_before),
    ):
        problem = _date_problem(date_name, date)
        if problem is not None:
            problems.append(problem)
    return problems


def datasets_problems(
    *,
    search: str | None,
    filter: gql.DatasetFilter | None,
    first: int,
    max_first: int,
    after: str | None,
) -> list[ArgumentProblem]:
    """Every problem with the arguments of ``datasets``, in argument order."""
    problems: list[ArgumentProblem] = []
    if search is not None:
        problem = text_problem(search, max_chars=MAX_SEARCH_CHARS, allow=_TEXT_WHITESPACE)
        if problem is not None:
            problems.append(ArgumentProblem("search", problem))
    problems += filter_problems(filter)
    if not 0 <= first <= max_first:
        problems.append(ArgumentProblem("first", f"must be between 0 and {max_first}"))
    if after is not None and len(after) > MAX_CURSOR_CHARS:
        problems.append(ArgumentProblem("after", "is longer than any cursor this gateway issues"))
    return problems


def local_id_is_valid(local_id: str) -> bool:
    """Whether a platform's own id (decoded from a global id) may be sent to it."""
    return text_problem(local_id, max_chars=MAX_LOCAL_ID_CHARS) is None and bool(local_id.strip())
