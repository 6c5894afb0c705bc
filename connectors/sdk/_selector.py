"""Selectors: dotted paths into decoded JSON (a small, safe subset of JSONPath)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

# A step is a key (``data``), an index (``[0]``) or a quoted key (``["a.b"]``).
_STEP = re.compile(
    r"""
    (?P<key>[^.\[\]"'\s]+)
    | \[ \s* (?P<index>-?\d+) \s* \]
    | \[ \s* (?P<quote>["']) (?P<quoted>(?:(?!(?P=quote)).)*) (?P=quote) \s* \]
    """,
    re.VERBOSE,
)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final[Any] = _Missing()


class SelectorNotFound(LookupError):
    """A selector found nothing; the message says where the path stopped matching."""

    def __init__(self, selector: str, detail: str) -> None:
        super().__init__(f"selector {selector!r} found nothing: {detail}")
        self.selector = selector
        self.detail = detail


class Selector:
    """A path into decoded JSON, written the way people read it.

    Steps are separated by dots; ``[n]`` indexes a list (negative counts from the end);
    ``["key.with.dots"]`` quotes a key; a leading ``$`` or ``$.`` is allowed::

        >>> Selector("data.list").find({"data": {"list": [1, 2]}})
        [1, 2]
        >>> Selector("data.items[0].name").get({"data": {}}, default="n/a")
        'n/a'

    ``find`` raises ``SelectorNotFound`` naming the selector and the step that failed;
    ``get`` returns a default instead. A JSON ``null`` is a value, not "nothing".
    """

    __slots__ = ("path", "_steps")

    def __init__(self, path: str) -> None:
        if not isinstance(path, str):
            raise ValueError(f"a selector is a string, not {type(path).__name__}")
        self.path = path
        self._steps = _parse(path)

    @property
    def steps(self) -> tuple[str | int, ...]:
        return self._steps

    def find(self, document: Any) -> Any:
        """The value at this path; raises ``SelectorNotFound`` when there is none."""
        node = document
        walked = "$"
        for step in self._steps:
            if isinstance(step, int):
                if not isinstance(node, list):
                    raise SelectorNotFound(self.path, f"{walked} is {_kind(node)}, not a list")
                if not -len(node) <= step < len(node):
                    raise SelectorNotFound(
                        self.path, f"{walked} has {len(node)} items, no [{step}]"
                    )
                node = node[step]
                walked += f"[{step}]"
                continue
            if not isinstance(node, Mapping):
                raise SelectorNotFound(self.path, f"{walked} is {_kind(node)}, not an object")
            if step not in node:
                keys = ", ".join(sorted(map(str, node))[:12]) or "none"
                raise SelectorNotFound(self.path, f"{walked} has no key {step!r} (keys: {keys})")
            node = node[step]
            walked += f".{step}"
        return node

    def get(self, document: Any, default: Any = None) -> Any:
        """The value at this path, or ``default`` when there is none."""
        try:
            return self.find(document)
        except SelectorNotFound:
            return default

    def __repr__(self) -> str:
        return f"Selector({self.path!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Selector) and other._steps == self._steps

    def __hash__(self) -> int:
        return hash(self._steps)


def _parse(path: str) -> tuple[str | int, ...]:
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
        if text.startswith("."):
            text = text[1:]
        if not text:
            return ()
    if not text:
        raise ValueError("a selector cannot be empty (use '$' for the whole document)")
    steps: list[str | int] = []
    position = 0
    expect_step = True
    while position < len(text):
        if text[position] == "." and not expect_step:
            position += 1
            expect_step = True
            if position == len(text):
                raise ValueError(f"selector {path!r} ends with a dot")
            continue
        match = _STEP.match(text, position)
        if match is None or (match.group("key") is not None and not expect_step):
            raise ValueError(f"selector {path!r}: unexpected {text[position:]!r}")
        if match.group("key") is not None:
            steps.append(match.group("key"))
        elif match.group("index") is not None:
            steps.append(int(match.group("index")))
        else:
            steps.append(match.group("quoted"))
        position = match.end()
        expect_step = False
    return tuple(steps)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"
