"""A subset of ODSQL (OpenDataSoft Query Language) for the simulated Explore API.

Covers what catalogue clients send in ``where`` and ``order_by``: boolean ``AND`` / ``OR``
/ ``NOT`` and parentheses; ``field = "text"`` (also ``!=``, ``<``, ``<=``, ``>``, ``>=``)
against string, number, boolean and ``date'...'`` literals; ``field IS [NOT] NULL``;
``field IN ("a", "b")``; full-text ``search("words")``, ``search(field, "words")`` and a
bare ``"words"``. Field names may be dotted (``custom.share_type``) or back-quoted
(`` custom.`共享类型` ``). A comparison on a multi-valued field (``theme``, ``keyword``)
holds when one value matches; on a null field it never holds.

Errors carry the messages the real platform answers with (``ODSQLError``), e.g. "ODSQL
query is malformed: Unknown field: departement. Clause(s) containing the error(s): where."

    >>> fields = {"theme": FieldSpec(lambda r: r["theme"], multivalued=True)}
    >>> where = compile_where('theme = "transport"', fields, search_text=lambda r, f: "")
    >>> where.matches({"theme": ["transport"]})
    True
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = ["FieldSpec", "OdsqlError", "Where", "compile_order_by", "compile_where", "sort_records"]

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]
Kind = Literal["text", "date", "number", "bool"]


class OdsqlError(ValueError):
    """A query the platform refuses; ``message`` is the body's ``message``."""

    error_code = "ODSQLError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How to read one queryable field of a record."""

    get: Callable[[Record], Any]
    kind: Kind = "text"
    multivalued: bool = False

    def values(self, record: Record) -> list[Any]:
        value = self.get(record)
        if value is None:
            return []
        return [v for v in value if v is not None] if isinstance(value, list) else [value]


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<date>date'[^']*')
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<quoted>`[^`]*`)
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>>=|<=|!=|<>|=|<|>|\(|\)|,|\.|\*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokens(text: str, clause: str) -> list[_Token]:
    out, position = [], 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            start = len(text) - len(text[position:].lstrip())
            raise _syntax(text[start], start, text, clause)
        kind = match.lastgroup
        out.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    return out


def _syntax(found: str, position: int, text: str, clause: str) -> OdsqlError:
    return OdsqlError(
        f"ODSQL syntax exception: unexpected {found} at position {position} in {text}. "
        f"Clause(s) containing the error(s): {clause}."
    )


def _unknown(name: str, clause: str) -> OdsqlError:
    return OdsqlError(
        f"ODSQL query is malformed: Unknown field: {name}. "
        f"Clause(s) containing the error(s): {clause}."
    )


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_KEYWORDS = frozenset({"and", "or", "not", "is", "null", "in", "true", "false"})


class _Parser:
    def __init__(
        self,
        text: str,
        fields: Mapping[str, FieldSpec],
        search_text: Callable[[Record, str | None], str],
        clause: str,
    ) -> None:
        self.text, self.fields, self.search_text, self.clause = text, fields, search_text, clause
        self.tokens = _tokens(text, clause)
        self.index = 0
        self.terms: list[str] = []  # full-text words, for relevance

    # -- token helpers -----------------------------------------------------------------

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def word(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() in words:
            self.index += 1
            return True
        return False

    def op(self, *ops: str) -> str | None:
        token = self.peek()
        if token is not None and token.kind == "op" and token.text in ops:
            self.index += 1
            return token.text
        return None

    def fail(self) -> OdsqlError:
        token = self.peek()
        if token is None:
            return _syntax("end of input", len(self.text), self.text, self.clause)
        return _syntax(token.text, token.position, self.text, self.clause)

    def expect(self, op: str) -> None:
        if self.op(op) is None:
            raise self.fail()

    # -- grammar -----------------------------------------------------------------------

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.peek() is not None:
            raise self.fail()
        return predicate

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.word("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else lambda r: any(p(r) for p in parts)

    def conjunction(self) -> Predicate:
        parts = [self.negation()]
        while self.word("and"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else lambda r: all(p(r) for p in parts)

    def negation(self) -> Predicate:
        if self.word("not"):
            inner = self.negation()
            return lambda r: not inner(r)
        return self.atom()

    def atom(self) -> Predicate:
        token = self.peek()
        if token is None:
            raise self.fail()
        if self.op("("):
            inner = self.disjunction()
            self.expect(")")
            return inner
        if token.kind == "string":
            self.index += 1
            return self.full_text(None, _unquote(token.text))
        if token.kind == "word" and token.text.lower() == "search":
            following = self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else None
            if following is not None and following.text == "(":
                return self.search_call()
        name = self.field_name()
        following = self.peek()
        if following is not None and following.text == "(":
            raise self.fail()  # a function this subset (or ODSQL) does not know
        spec = self.fields.get(name)
        if spec is None:
            raise _unknown(name, self.clause)
        return self.condition(spec)

    def search_call(self) -> Predicate:
        self.index += 1  # "search"
        self.expect("(")
        scope: str | None = None
        token = self.peek()
        if token is not None and token.kind != "string":
            if self.op("*") is None:
                scope = self.field_name()
                if scope not in self.fields:
                    raise _unknown(scope, self.clause)
            self.expect(",")
        token = self.peek()
        if token is None or token.kind != "string":
            raise self.fail()
        self.index += 1
        self.expect(")")
        return self.full_text(scope, _unquote(token.text))

    def full_text(self, scope: str | None, words: str) -> Predicate:
        terms = words.casefold().split()
        self.terms += terms
        search_text = self.search_text
        return lambda r: all(t in search_text(r, scope) for t in terms)

    def field_name(self) -> str:
        parts = [self.name_part()]
        while self.op("."):
            parts.append(self.name_part())
        return ".".join(parts)

    def name_part(self) -> str:
        token = self.peek()
        if token is None:
            raise self.fail()
        if token.kind == "quoted":
            self.index += 1
            return token.text[1:-1]
        if token.kind == "word" and token.text.lower() not in _KEYWORDS:
            self.index += 1
            return token.text
        raise self.fail()

    def condition(self, spec: FieldSpec) -> Predicate:
        if self.word("is"):
            negated = self.word("not")
            if not self.word("null"):
                raise self.fail()
            if negated:
                return lambda r: bool(spec.values(r))
            return lambda r: not spec.values(r)
        if self.word("in"):
            self.expect("(")
            literals = [self.literal()]
            while self.op(","):
                literals.append(self.literal())
            self.expect(")")
            tests = [_compare(spec, "=", literal) for literal in literals]
            return lambda r: any(t(r) for t in tests)
        operator = self.op("=", "!=", "<>", "<", "<=", ">", ">=")
        if operator is None:
            raise self.fail()
        return _compare(spec, operator, self.literal())

    def literal(self) -> object:
        token = self.peek()
        if token is None:
            raise self.fail()
        self.index += 1
        if token.kind == "string":
            return _unquote(token.text)
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "date":
            parsed = _datetime(token.text[5:-1])
            if parsed is None:
                raise _syntax(token.text, token.position, self.text, self.clause)
            return parsed
        if token.kind == "word" and token.text.lower() in ("true", "false"):
            return token.text.lower() == "true"
        self.index -= 1
        raise self.fail()


def _compare(spec: FieldSpec, operator: str, literal: object) -> Predicate:
    def coerce(value: object) -> object:
        if isinstance(literal, datetime):
            return _datetime(value)
        if isinstance(literal, bool):
            return value if isinstance(value, bool) else None
        if isinstance(literal, int | float):
            return value if isinstance(value, int | float) and not isinstance(value, bool) else None
        return value if isinstance(value, str) else None

    def holds(value: Any) -> bool:
        if value is None:
            return False
        match operator:
            case "=":
                return bool(value == literal)
            case "!=" | "<>":
                return bool(value != literal)
            case "<":
                return bool(value < literal)
            case "<=":
                return bool(value <= literal)
            case ">":
                return bool(value > literal)
            case _:
                return bool(value >= literal)

    if operator in ("!=", "<>"):
        # Every value differs (and there is one): the negation of "one value equals".
        return lambda r: (
            bool(values := [coerce(v) for v in spec.values(r)]) and all(holds(v) for v in values)
        )
    return lambda r: any(holds(coerce(v)) for v in spec.values(r))


@dataclass(frozen=True, slots=True)
class Where:
    """A compiled ``where``: ``matches(record)``, and the full-text ``terms`` it uses."""

    matches: Predicate
    terms: tuple[str, ...] = ()


def compile_where(
    text: str,
    fields: Mapping[str, FieldSpec],
    *,
    search_text: Callable[[Record, str | None], str],
    clause: str = "where",
) -> Where:
    """Compile an ODSQL ``where`` (raises ``OdsqlError``).

    ``search_text(record, field)`` is the case-folded text full-text search looks in
    (``field`` ``None``: every searchable field).
    """
    if not text.strip():
        return Where(lambda r: True)
    parser = _Parser(text, fields, search_text, clause)
    return Where(parser.parse(), tuple(parser.terms))


SortKey = tuple[FieldSpec, bool]


def compile_order_by(text: str, fields: Mapping[str, FieldSpec]) -> list[SortKey]:
    """``[(field, descending)]`` for an ``order_by`` like ``modified desc, title``."""
    keys: list[SortKey] = []
    for part in text.split(","):
        words = part.split()
        if not words:
            raise _syntax(",", text.find(","), text, "order_by")
        direction = words[-1].lower() if len(words) > 1 else "asc"
        name = " ".join(words[:-1]) if len(words) > 1 else words[0]
        if direction not in ("asc", "desc") or " " in name:
            raise _syntax(words[-1], text.find(words[-1]), text, "order_by")
        spec = fields.get(name.strip("`"))
        if spec is None or spec.multivalued:
            raise _unknown(name, "order_by")
        keys.append((spec, direction == "desc"))
    return keys


def sort_records(records: Sequence[Record], keys: Sequence[SortKey]) -> list[Record]:
    """``records`` ordered by ``keys``; missing values last in either direction; ties
    keep the given order."""

    def value(spec: FieldSpec, record: Record) -> Any:
        values = spec.values(record)
        if not values:
            return None
        return _datetime(values[0]) if spec.kind == "date" else values[0]

    def compare(a: Record, b: Record) -> int:
        for spec, descending in keys:
            x, y = value(spec, a), value(spec, b)
            if x is None or y is None:
                if x is None and y is None:
                    continue
                return 1 if x is None else -1
            if x != y:
                return (1 if x < y else -1) if descending else (-1 if x < y else 1)
        return 0

    return sorted(records, key=functools.cmp_to_key(compare))
