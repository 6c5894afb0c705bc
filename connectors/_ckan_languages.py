"""A CKAN package's title, description and keywords in other languages.

CKAN sites publish translations three ways, all read here:

- ckanext-fluent / ckanext-scheming multilingual fields: ``title_translated`` and
  ``notes_translated`` (``{"en": "...", "fr": "..."}``), ``keywords`` as
  ``{"en": [...], "fr": [...]}``;
- extras named ``title_<lang>`` and ``notes_<lang>`` / ``description_<lang>``
  (``title_en``, as the demo platforms and many Chinese portals write it);
- the configured ``extras_keys.title_en`` names for the English title.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from connectors.sdk import html_to_text
from schema.model import Translation

_EXTRA = re.compile(r"^(title|notes|description)_([a-z]{2}(?:[-_][A-Za-z]{2,4})?)$")


def ckan_translations(
    pkg: Mapping[str, Any], extras: Mapping[str, Any], english_title_keys: tuple[str, ...]
) -> tuple[Translation, ...]:
    titles: dict[str, str] = {}
    notes: dict[str, str] = {}
    keywords: dict[str, tuple[str, ...]] = {}
    for field, into in (("title_translated", titles), ("notes_translated", notes)):
        value = pkg.get(field)
        if isinstance(value, dict):
            for lang, text in value.items():
                if isinstance(lang, str) and isinstance(text, str) and text.strip():
                    into[lang] = text.strip()
    for field in ("keywords", "tags_translated"):
        value = pkg.get(field)
        if isinstance(value, dict):
            for lang, words in value.items():
                if isinstance(lang, str) and isinstance(words, list):
                    keywords[lang] = tuple(
                        dict.fromkeys(w.strip() for w in words if isinstance(w, str) and w.strip())
                    )
    for key, text in extras.items():
        match = _EXTRA.match(key)
        if match and isinstance(text, str) and text.strip():
            into = titles if match.group(1) == "title" else notes
            into.setdefault(match.group(2).replace("_", "-"), text.strip())
    for key in english_title_keys:
        text = extras.get(key)
        if isinstance(text, str) and text.strip():
            titles.setdefault("en", text.strip())
    return tuple(
        Translation(
            lang,
            title=titles.get(lang),
            description=html_to_text(notes[lang]) if lang in notes else None,
            keywords=keywords.get(lang, ()),
        )
        for lang in sorted({*titles, *notes, *keywords})
    )
