"""The subset of Solr's standard query syntax that CKAN connectors send in ``fq``.

Real CKAN hands ``fq`` to Solr unchanged; the simulated platform parses and evaluates it
here, against the per-package field map that ``index_fields`` builds (the fields CKAN's
Solr schema indexes, e.g. ``organization``, ``groups``, ``tags``, ``res_format``,
``metadata_modified``, ``extras_<key>``).

Supported: ``field:value``, ``field:"quoted value"``, ``field:(v1 OR v2 "v 3")``,
``field:pre*`` (prefix), ``field:*`` and ``field:[* TO *]`` (existence), ranges
``[a TO b]`` / ``{a TO b}`` (mixed brackets allowed, ``*`` open), ``*:*``, ``AND`` ``&&``,
``OR`` ``||``, ``NOT`` ``!``, leading ``-`` and ``+``, parentheses and juxtaposition
(implicit AND, CKAN's ``q.op``). NOT is a plain complement at any depth, so
``(-tags:x)`` means "without tag x" (lenient where bare Solr would match nothing).

String fields compare exactly and case-sensitively (Solr ``string``); date fields accept
Solr dates (``2024-01-01T00:00:00Z``, fractional seconds, ``NOW`` with ``+1DAY``-style
math and ``/DAY`` rounding); ``num_*`` fields compare as integers; ``text`` is a
case-insensitive substring match over the searchable text.

    >>> node = parse_fq('organization:transport AND res_format:(CSV OR JSON)')
    >>> node.matches({"organization": ["transport"], "res_format": ["JSON"]})
    True
"""

from __future__ import annotations

import calendar
import functools
import re
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "DocSets",
    "FqSyntaxError",
    "Node",
    "check_field",
    "index_fields",
    "parse_fq",
]

Doc = Mapping[str, list[str]]

DATE_FIELDS = frozenset({"metadata_modified", "metadata_created"})
INT_FIELDS = frozenset({"num_resources", "num_tags"})
TEXT_FIELD = "text"
KNOWN_FIELDS = frozenset(
    {
        "id",
        "name",
        "title",
        "title_string",
        "notes",
        "url",
        "version",
        "state",
        "type",
        "dataset_type",
        "capacity",
        "organization",
        "owner_org",
        "groups",
        "tags",
        "res_format",
        "res_name",
        "res_description",
        "res_url",
        "license_id",
        "maintainer",
        "author",
        TEXT_FIELD,
        *DATE_FIELDS,
        *INT_FIELDS,
    }
)
_DYNAMIC_PREFIXES = ("extras_", "res_extras_", "vocab_")


class FqSyntaxError(ValueError):
    """The query cannot be parsed, or names a field the index does not have."""


def check_field(name: str) -> None:
    """Raise ``FqSyntaxError`` unless ``name`` is an indexed field (as Solr would)."""
    if name not in KNOWN_FIELDS and not name.startswith(_DYNAMIC_PREFIXES):
        raise FqSyntaxError(f"undefined field {name}")


class Node:
    """A parsed query; ``matches`` evaluates it against one document's field map."""

    __slots__ = ()

    def matches(self, doc: Doc) -> bool:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class MatchAll(Node):
    def matches(self, doc: Doc) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class Term(Node):
    field: str
    value: str

    def matches(self, doc: Doc) -> bool:
        values = doc.get(self.field, ())
        if self.field in INT_FIELDS:
            return any(int(v) == int(self.value) for v in values)
        if self.field == TEXT_FIELD:
            needle = self.value.lower()
            return any(needle in v for v in values)
        return self.value in values


@dataclass(frozen=True, slots=True)
class Wildcard(Node):
    field: str
    pattern: re.Pattern[str]

    def matches(self, doc: Doc) -> bool:
        return any(self.pattern.fullmatch(v) for v in doc.get(self.field, ()))


@dataclass(frozen=True, slots=True)
class Exists(Node):
    field: str

    def matches(self, doc: Doc) -> bool:
        return bool(doc.get(self.field))


@dataclass(frozen=True, slots=True)
class Range(Node):
    field: str
    low: str | None
    high: str | None
    include_low: bool
    include_high: bool

    def matches(self, doc: Doc) -> bool:
        return any(self._within(v) for v in doc.get(self.field, ()))

    def _within(self, value: str) -> bool:
        key: Any = int(value) if self.field in INT_FIELDS else value
        if self.low is not None:
            low: Any = int(self.low) if self.field in INT_FIELDS else self.low
            if key < low or (key == low and not self.include_low):
                return False
        if self.high is not None:
            high: Any = int(self.high) if self.field in INT_FIELDS else self.high
            if key > high or (key == high and not self.include_high):
                return False
        return True


@dataclass(frozen=True, slots=True)
class And(Node):
    children: tuple[Node, ...]

    def matches(self, doc: Doc) -> bool:
        return all(child.matches(doc) for child in self.children)


@dataclass(frozen=True, slots=True)
class Or(Node):
    children: tuple[Node, ...]

    def matches(self, doc: Doc) -> bool:
        return any(child.matches(doc) for child in self.children)


@dataclass(frozen=True, slots=True)
class Not(Node):
    child: Node

    def matches(self, doc: Doc) -> bool:
        return not self.child.matches(doc)


class DocSets:
    """Evaluates queries over a fixed list of documents to sets of positions, as Solr
    does over its index: each clause is a set operation on its children's sets, and the
    sets of clauses seen before are kept (Lucene's term postings and Solr's filterCache),
    so a new query that shares most of its clauses with earlier ones (a different date
    bound, say) costs only its new clauses, not a walk of every document.

    ``select(node)`` is ``{i for i, doc in enumerate(docs) if node.matches(doc)}``.
    """

    def __init__(self, docs: Sequence[Doc], *, kept: int = 4096) -> None:
        self.docs = docs
        self.all = frozenset(range(len(docs)))
        self._kept: OrderedDict[Node, frozenset[int]] = OrderedDict()
        self._size = kept
        self._fields: dict[str, tuple[list[str], list[int]]] = {}
        self._lock = threading.Lock()  # one platform's index may serve several threads

    def select(self, node: Node) -> frozenset[int]:
        with self._lock:
            found = self._kept.get(node)
            if found is not None:
                self._kept.move_to_end(node)
                return found
        found = self._evaluate(node)
        with self._lock:
            self._kept[node] = found
            if len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return found

    def _evaluate(self, node: Node) -> frozenset[int]:
        if isinstance(node, MatchAll):
            return self.all
        if isinstance(node, And):
            found = self.all
            for child in node.children:
                found = found & self.select(child)
                if not found:
                    break
            return found
        if isinstance(node, Or):
            return frozenset().union(*(self.select(child) for child in node.children))
        if isinstance(node, Not):
            return self.all - self.select(node.child)
        if isinstance(node, Range) and node.field not in INT_FIELDS:
            return self._range(node)
        return frozenset(i for i, doc in enumerate(self.docs) if node.matches(doc))

    def _range(self, node: Range) -> frozenset[int]:
        """A range of a string or date field, from the field's values in order (Solr's
        points index): two bisections, not a comparison per document."""
        values, positions = self._ordered(node.field)
        low, high = node.low, node.high
        start = (
            0 if low is None else (bisect_left if node.include_low else bisect_right)(values, low)
        )
        end = (
            len(values)
            if high is None
            else (bisect_right if node.include_high else bisect_left)(values, high)
        )
        return frozenset(positions[start:end])

    def _ordered(self, field: str) -> tuple[list[str], list[int]]:
        """Every value of ``field`` in order, with the position of the document holding it."""
        ordered = self._fields.get(field)
        if ordered is None:
            pairs = sorted((v, i) for i, doc in enumerate(self.docs) for v in doc.get(field, ()))
            ordered = [v for v, _ in pairs], [i for _, i in pairs]
            with self._lock:
                self._fields[field] = ordered
        return ordered


def parse_fq(text: str, *, default_field: str | None = None) -> Node:
    """Parse ``text``; an empty query matches everything.

    Terms without ``field:`` use ``default_field``; without one they are an error
    (an ``fq`` clause must name its field). Parses are cached unless they use ``NOW``.
    """
    if "NOW" in text:
        return _Parser(text, default_field).parse()
    return _parse_cached(text, default_field)


@functools.lru_cache(maxsize=1024)
def _parse_cached(text: str, default_field: str | None) -> Node:
    return _Parser(text, default_field).parse()


# -- dates ------------------------------------------------------------------------------

_SOLR_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z")
_DATE_MATH = re.compile(r"([+-])(\d+)([A-Z]+)|/([A-Z]+)")
_UNITS = {
    "YEAR": "years",
    "MONTH": "months",
    "DAY": "days",
    "DATE": "days",
    "HOUR": "hours",
    "MINUTE": "minutes",
    "SECOND": "seconds",
}


def canonical_date(value: datetime) -> str:
    """The fixed-width form dates are indexed and compared in."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _stored_date(value: str) -> str:
    parsed = datetime.fromisoformat(value.removesuffix("Z"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return canonical_date(parsed)


def _add(moment: datetime, amount: int, unit: str) -> datetime:
    if unit in ("years", "months"):
        months = moment.month - 1 + amount * (12 if unit == "years" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return moment.replace(year=year, month=month, day=day)
    return moment + timedelta(**{unit: amount})


def _round(moment: datetime, unit: str) -> datetime:
    """Solr's ``/UNIT``: truncate every smaller unit."""
    order = ["years", "months", "days", "hours", "minutes", "seconds"]
    smaller = order[order.index(unit) + 1 :]
    return moment.replace(
        month=1 if "months" in smaller else moment.month,
        day=1 if "days" in smaller else moment.day,
        hour=0 if "hours" in smaller else moment.hour,
        minute=0 if "minutes" in smaller else moment.minute,
        second=0 if "seconds" in smaller else moment.second,
        microsecond=0,
    )


def _query_date(text: str) -> str:
    """A Solr date literal (``2024-01-01T00:00:00Z`` or ``NOW-1YEAR/DAY``), canonical."""
    match = _SOLR_DATE.fullmatch(text)
    if match:
        year, month, day, hour, minute, second = map(int, match.groups()[:6])
        micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
        try:
            return canonical_date(
                datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
            )
        except ValueError:
            raise FqSyntaxError(f"Invalid Date String:'{text}'") from None
    if not text.startswith("NOW"):
        raise FqSyntaxError(f"Invalid Date String:'{text}'")
    moment, pos = datetime.now(UTC), 3
    for op in _DATE_MATH.finditer(text, 3):
        sign, amount, unit, rounding = op.groups()
        name = _UNITS.get((unit or rounding).removesuffix("S"))
        if op.start() != pos or name is None:
            raise FqSyntaxError(f"Invalid Date Math String:'{text}'")
        moment = (
            _round(moment, name)
            if rounding
            else _add(moment, int(amount) * (-1 if sign == "-" else 1), name)
        )
        pos = op.end()
    if pos != len(text):
        raise FqSyntaxError(f"Invalid Date Math String:'{text}'")
    return canonical_date(moment)


# -- parser -----------------------------------------------------------------------------

# Lucene takes any non-special character in a field name (CKAN extras keys may be Chinese).
_FIELD = re.compile(r"[^\W\d][\w.\-]*(?=:)")
_KEYWORDS = {"AND", "OR", "NOT", "TO"}
_SPECIAL = set(' \t\r\n()[]{}"')


class _Parser:
    def __init__(self, text: str, default_field: str | None) -> None:
        self.text = text
        self.pos = 0
        self.default_field = default_field

    def error(self, problem: str) -> FqSyntaxError:
        return FqSyntaxError(f"Cannot parse '{self.text}': {problem} at column {self.pos + 1}")

    def parse(self) -> Node:
        self.skip()
        if self.pos == len(self.text):
            return MatchAll()
        node = self.parse_or(self.default_field)
        self.skip()
        if self.pos < len(self.text):
            raise self.error(f'Encountered "{self.text[self.pos]}"')
        return node

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def keyword(self, *words: str) -> bool:
        """Consume an operator keyword if one starts here (followed by a delimiter)."""
        self.skip()
        for word in words:
            end = self.pos + len(word)
            if self.text.startswith(word, self.pos) and (
                not word.isalpha() or end == len(self.text) or self.text[end] in _SPECIAL
            ):
                self.pos = end
                return True
        return False

    def at_clause_end(self) -> bool:
        self.skip()
        return self.pos == len(self.text) or self.text[self.pos] == ")"

    def parse_or(self, field: str | None) -> Node:
        children = [self.parse_and(field)]
        while self.keyword("OR", "||"):
            children.append(self.parse_and(field))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self, field: str | None) -> Node:
        children = [self.parse_unary(field)]
        while not self.at_clause_end():
            save = self.pos
            if self.keyword("OR", "||"):
                self.pos = save
                break
            self.keyword("AND", "&&")
            children.append(self.parse_unary(field))
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_unary(self, field: str | None) -> Node:
        if self.keyword("NOT", "!"):
            return Not(self.parse_unary(field))
        self.skip()
        if self.text.startswith("-", self.pos):
            self.pos += 1
            return Not(self.parse_primary(field))
        if self.text.startswith("+", self.pos):
            self.pos += 1
        return self.parse_primary(field)

    def parse_primary(self, field: str | None) -> Node:
        self.skip()
        if self.pos == len(self.text):
            raise self.error('Encountered "<EOF>"')
        char = self.text[self.pos]
        if char == "(":
            self.pos += 1
            node = self.parse_or(field)
            self.expect(")")
            return node
        if char == ")":
            raise self.error('Encountered ")"')
        if self.text.startswith("*:*", self.pos):
            self.pos += 3
            return MatchAll()
        match = _FIELD.match(self.text, self.pos)
        if match:
            name = match.group(0)
            check_field(name)
            self.pos = match.end() + 1
            self.skip()
            if self.text.startswith("(", self.pos):
                self.pos += 1
                node = self.parse_or(name)
                self.expect(")")
                return node
            return self.parse_value(name)
        if field is None:
            raise self.error("Term without a field (write field:value)")
        return self.parse_value(field)

    def expect(self, char: str) -> None:
        self.skip()
        if not self.text.startswith(char, self.pos):
            found = self.text[self.pos] if self.pos < len(self.text) else "<EOF>"
            raise self.error(f'Expected "{char}", encountered "{found}"')
        self.pos += 1

    def parse_value(self, field: str) -> Node:
        self.skip()
        if self.pos == len(self.text):
            raise self.error(f"Missing value for field {field}")
        char = self.text[self.pos]
        if char == '"':
            return self.term(field, self.quoted())
        if char in "[{":
            return self.parse_range(field)
        raw, wild = self.bare()
        if raw in _KEYWORDS and not wild:
            raise self.error(f'Encountered "{raw}"')
        if raw == "*" and wild == {0}:
            return Exists(field)
        if wild:
            if field == TEXT_FIELD or field in DATE_FIELDS or field in INT_FIELDS:
                raise self.error(f"Wildcards are not supported on field {field}")
            pattern = "".join(".*" if i in wild else re.escape(c) for i, c in enumerate(raw))
            return Wildcard(field, re.compile(pattern, re.DOTALL))
        return self.term(field, raw)

    def term(self, field: str, value: str) -> Node:
        if field in DATE_FIELDS:
            return Term(field, _query_date(value))
        if field in INT_FIELDS and not re.fullmatch(r"-?\d+", value):
            raise FqSyntaxError(f"Invalid Number: {value}")
        return Term(field, value)

    def quoted(self) -> str:
        self.pos += 1  # opening quote
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            self.pos += 1
            if char == '"':
                return "".join(out)
            out.append(char)
        raise self.error("Unterminated quoted string")

    def bare(self, stop: str = "") -> tuple[str, set[int]]:
        """Read an unquoted term; returns it and the positions of unescaped ``*``."""
        out: list[str] = []
        wild: set[int] = set()
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in _SPECIAL or char in stop:
                break
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == "*":
                wild.add(len(out))
            out.append(char)
            self.pos += 1
        if not out:
            found = self.text[self.pos] if self.pos < len(self.text) else "<EOF>"
            raise self.error(f'Encountered "{found}"')
        return "".join(out), wild

    def endpoint(self, field: str, stop: str) -> str | None:
        self.skip()
        if self.text.startswith('"', self.pos):
            value: str | None = self.quoted()
        else:
            raw, wild = self.bare(stop)
            value = None if raw == "*" and wild else raw
        if value is None:
            return None
        if field in DATE_FIELDS:
            return _query_date(value)
        if field in INT_FIELDS and not re.fullmatch(r"-?\d+", value):
            raise FqSyntaxError(f"Invalid Number: {value}")
        return value

    def parse_range(self, field: str) -> Node:
        include_low = self.text[self.pos] == "["
        self.pos += 1
        low = self.endpoint(field, "]}")
        if not self.keyword("TO"):
            raise self.error('Expected "TO" in range')
        high = self.endpoint(field, "]}")
        self.skip()
        if self.pos == len(self.text) or self.text[self.pos] not in "]}":
            raise self.error('Expected "]" or "}" to close range')
        include_high = self.text[self.pos] == "]"
        self.pos += 1
        if low is None and high is None:
            return Exists(field)
        return Range(field, low, high, include_low, include_high)


# -- indexing ---------------------------------------------------------------------------


def index_fields(package: Mapping[str, Any]) -> dict[str, list[str]]:
    """The field -> values map CKAN's Solr schema would index for ``package``."""
    org = package.get("organization") or {}
    resources = package.get("resources") or []
    extras = package.get("extras") or []
    title = package.get("title") or ""
    doc: dict[str, list[str]] = {
        "id": [package["id"]],
        "name": [package["name"]],
        "title": [title],
        "title_string": [title],
        "state": [package.get("state") or "active"],
        "type": [package.get("type") or "dataset"],
        "dataset_type": [package.get("type") or "dataset"],
        "capacity": ["private" if package.get("private") else "public"],
        "organization": [org["name"]] if org else [],
        "owner_org": [package["owner_org"]] if package.get("owner_org") else [],
        "groups": [g["name"] for g in package.get("groups") or []],
        "tags": [t["name"] for t in package.get("tags") or []],
        "res_format": [r["format"] for r in resources if r.get("format")],
        "res_name": [r["name"] for r in resources if r.get("name")],
        "res_description": [r["description"] for r in resources if r.get("description")],
        "res_url": [r["url"] for r in resources if r.get("url")],
        "num_resources": [str(len(resources))],
        "num_tags": [str(len(package.get("tags") or []))],
    }
    for key in ("notes", "url", "version", "license_id", "maintainer", "author"):
        if package.get(key):
            doc[key] = [str(package[key])]
    for key in DATE_FIELDS:
        if package.get(key):
            doc[key] = [_stored_date(package[key])]
    for extra in extras:
        doc[f"extras_{extra['key']}"] = [str(extra["value"])]
    searchable = [
        title,
        package.get("notes") or "",
        package["name"],
        *doc["tags"],
        org.get("title", "") if org else "",
        *(g.get("title", "") for g in package.get("groups") or []),
    ]
    searchable += [e["value"] for e in extras if e["key"] == "title_en"]
    doc[TEXT_FIELD] = ["\n".join(searchable).lower()]
    return doc
