"""Decoding whole-catalogue JSON documents that real agencies publish, leniently.

orjson refuses a document holding one lone surrogate escape (``"\\udc92"``, what a
cp1252 byte becomes when a file is decoded with ``surrogateescape`` and dumped again) or
one byte that is not UTF-8, with no position: a catalogue of 316 records would become
none. ``load_catalogue_json`` tries orjson first (fast, strict); when it refuses, the
standard library decodes the same document (it accepts lone surrogates), and the
strings that hold them are repaired by ``repair_text`` (each record reports its own).
A document that is really malformed raises ``FatalError`` naming the line and column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

from connectors.sdk import FatalError

__all__ = ["load_catalogue_json", "repair_text", "repaired_value"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_BYTES = range(0xDC80, 0xDD00)  # surrogateescape: U+DC80 + byte


def load_catalogue_json(data: bytes, *, what: str, source_id: str | None) -> tuple[Any, bool]:
    """``(document, lenient)``: the decoded document, and whether it needed the lenient
    decoder (then its strings may hold lone surrogates: pass them to ``repaired_value``)."""
    try:
        return orjson.loads(data), False
    except orjson.JSONDecodeError:
        pass
    text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="surrogateescape")
    try:
        return json.loads(text), True
    except json.JSONDecodeError as exc:
        raise FatalError(
            f"invalid JSON in {what} at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            source_id=source_id,
        ) from None
    except RecursionError:
        raise FatalError(
            f"invalid JSON in {what}: nested too deeply", source_id=source_id
        ) from None


def _repair_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code in _ESCAPED_BYTES:  # a byte that was not UTF-8: most often cp1252 (’ is 0x92)
        byte = bytes([code - 0xDC00])
        try:
            return byte.decode("cp1252")
        except UnicodeDecodeError:
            return byte.decode("latin-1")
    return "\ufffd"


def repair_text(text: str) -> tuple[str, int]:
    """``text`` with each lone surrogate replaced, and how many there were.

    >>> repair_text("Director\\udc92s report")
    ('Director’s report', 1)
    """
    count = 0

    def counted(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return _repair_char(match)

    return _SURROGATE.sub(counted, text), count


def repaired_value(value: Any, found: Callable[[str], None], path: str = "") -> Any:
    """A copy of a decoded JSON value with every string repaired; ``found(path)`` is
    called for each key path (``distribution[0].title``) that needed it."""
    if isinstance(value, str):
        if _SURROGATE.search(value) is None:
            return value
        fixed, _ = repair_text(value)
        found(path or "(value)")
        return fixed
    if isinstance(value, list):
        return [repaired_value(item, found, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = repaired_value(key, found, f"{path}.(key)") if isinstance(key, str) else key
            out[name] = repaired_value(item, found, f"{path}.{name}" if path else str(name))
        return out
    return value
