"""Which language a dataset's title, description and keywords are served in.

A client states its preference with ``Accept-Language`` or a field's ``lang`` argument; a
dataset has its original text (in ``Dataset.language``, or the language its source is
configured with) and any ``translations`` the platform publishes. :func:`localize` walks the
preferences in order and serves the first language the dataset has, matching a tag exactly
first and then by its primary subtag (``en-US`` finds ``en``, ``en`` finds ``en-GB``);
when none matches, the original::

    >>> localize(dataset, preferences("en-US,en;q=0.9,zh;q=0.5"), source_language="zh")
    Localized(title='Bus routes', description=..., keywords=(...), language='en')
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from schema.model import Dataset, Translation

__all__ = ["Localized", "available", "localize", "normalize_tag", "preferences"]

_TAG = re.compile(r"^[a-z]{1,8}(?:-[a-z0-9]{1,8})*$")
MAX_PREFERENCES = 8


@dataclass(frozen=True, slots=True)
class Localized:
    """The text served, and its language (``None`` when nobody said)."""

    title: str
    description: str | None
    keywords: tuple[str, ...]
    language: str | None


def normalize_tag(tag: str) -> str | None:
    """A lower-case BCP 47 tag (``zh_CN`` -> ``zh-cn``), or ``None`` if it is not one."""
    if len(tag) > _KEPT_TAG_LENGTH:  # a client's long junk is answered, not kept
        return _normalize_tag(tag)
    return _normalize_kept(tag)


# Asked for every title served: the answers for short strings (every real tag) are kept.
_KEPT_TAG_LENGTH = 64


def _normalize_tag(tag: str) -> str | None:
    tag = tag.strip().replace("_", "-").lower()
    return tag if _TAG.match(tag) else None


_normalize_kept = functools.lru_cache(maxsize=1024)(_normalize_tag)


def preferences(accept_language: str | None) -> tuple[str, ...]:
    """The languages of an ``Accept-Language`` header, most wanted first (``*`` and q=0
    dropped, at most 8)."""
    if not accept_language:
        return ()
    weighted: list[tuple[float, int, str]] = []
    for order, part in enumerate(accept_language.split(",")[:32]):
        pieces = part.split(";")
        tag = normalize_tag(pieces[0])
        if tag is None:
            continue
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, order, tag))
    return tuple(dict.fromkeys(tag for _, _, tag in sorted(weighted)))[:MAX_PREFERENCES]


def _primary(tag: str) -> str:
    return tag.split("-", 1)[0]


def localize(
    dataset: Dataset, wanted: Sequence[str], *, source_language: str | None = None
) -> Localized:
    """The dataset's text in the first wanted language it has, else its original text."""
    original_language = normalize_tag(dataset.language or source_language or "")
    original = Localized(dataset.title, dataset.description, dataset.keywords, original_language)
    if not wanted:  # no preference (no Accept-Language, no lang): the original, at once
        return original
    options: list[tuple[str, Translation | None]] = []
    if original_language:
        options.append((original_language, None))
    for translation in dataset.translations:
        tag = normalize_tag(translation.lang)
        if tag is not None and (
            translation.title or translation.description or translation.keywords
        ):
            options.append((tag, translation))
    for want in _candidates(wanted):
        for exact in (True, False):
            for tag, found in options:
                if tag == want if exact else _primary(tag) == _primary(want):
                    if found is None:
                        return original
                    return Localized(
                        found.title or dataset.title,
                        found.description or dataset.description,
                        found.keywords or dataset.keywords,
                        tag,
                    )
    return original


def available(dataset: Dataset, *, source_language: str | None = None) -> tuple[str, ...]:
    """Every language the dataset's text can be served in, the original's first."""
    tags = [normalize_tag(dataset.language or source_language or "")]
    tags += [normalize_tag(t.lang) for t in dataset.translations]
    return tuple(dict.fromkeys(t for t in tags if t))


def _candidates(wanted: Iterable[str]) -> Iterable[str]:
    for tag in wanted:
        normal = normalize_tag(tag)
        if normal is not None:
            yield normal
