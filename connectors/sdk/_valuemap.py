"""Value maps: a platform's own spellings of a value to the canonical one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _key(value: object) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return str(value).strip()


class ValueMap:
    """Translate a platform's values (``每月``, ``"2"``) to canonical ones (``MONTHLY``).

    Lookups ignore surrounding spaces and, unless ``case_sensitive``, letter case;
    numbers and booleans match their text (``2`` matches the key ``"2"``). A value the
    map does not know becomes ``fallback`` when one is set, and is otherwise kept as it
    is, so canonical spellings pass through a partial map::

        >>> cycles = ValueMap({"每月": "MONTHLY", "按月": "MONTHLY"}, fallback="UNKNOWN")
        >>> cycles("每月"), cycles("每两月"), cycles(None)
        ('MONTHLY', 'UNKNOWN', None)
        >>> cycles.spellings("MONTHLY")        # for pushing a filter down
        ('每月', '按月')
    """

    __slots__ = ("_lookup", "_spellings", "case_sensitive", "fallback", "values")

    def __init__(
        self,
        values: Mapping[Any, str],
        fallback: str | None = None,
        *,
        case_sensitive: bool = False,
    ) -> None:
        self.values: dict[str, str] = {_key(k): v for k, v in values.items()}
        self.fallback = fallback
        self.case_sensitive = case_sensitive
        self._lookup = {self._norm(k): v for k, v in self.values.items()}
        spellings: dict[str, list[str]] = {}
        for raw, canonical in self.values.items():
            spellings.setdefault(canonical.casefold(), []).append(raw)
        self._spellings = {k: tuple(v) for k, v in spellings.items()}

    def _norm(self, key: str) -> str:
        return key if self.case_sensitive else key.casefold()

    def __call__(self, raw: object) -> str | None:
        """The canonical value for ``raw``; ``None`` for ``None`` and blank text."""
        if raw is None:
            return None
        key = _key(raw)
        if not key:
            return None
        found = self._lookup.get(self._norm(key))
        if found is not None:
            return found
        return self.fallback if self.fallback is not None else key

    def knows(self, raw: object) -> bool:
        """Is ``raw`` one of the map's own keys (not a fallback or pass-through)?"""
        return raw is not None and self._norm(_key(raw)) in self._lookup

    def spellings(self, canonical: str) -> tuple[str, ...]:
        """Every platform value that maps to ``canonical`` (case-insensitive)."""
        return self._spellings.get(canonical.casefold(), ())

    def __repr__(self) -> str:
        return f"ValueMap({self.values!r}, fallback={self.fallback!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValueMap) and (
            self.values,
            self.fallback,
            self.case_sensitive,
        ) == (other.values, other.fallback, other.case_sensitive)

    def __hash__(self) -> int:
        return hash((tuple(self.values.items()), self.fallback, self.case_sensitive))
