"""Reading what CKAN sites with ckanext-scheming (or ckanext-fluent) put in a package.

Scheming sites keep their custom fields at the package's top level instead of in
``extras``, and multilingual ones write text fields as ``{language: value}`` objects
(open.canada.ca's ``keywords: {"en": [...], "fr": [...]}``). HDX names the maintainer
by user id. These readers accept whatever JSON arrives and never raise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def translated_terms(value: object) -> Iterator[str]:
    """Keywords from a list of strings, or from a ``{language: [terms]}`` object (every
    language, in the object's order, so a filter on either language finds the dataset)."""
    if isinstance(value, Mapping):
        for terms in value.values():
            yield from translated_terms(terms)
    elif isinstance(value, list):
        for term in value:
            if isinstance(term, str) and term.strip():
                yield term.strip()


def is_user_id(name: str | None, pkg: Mapping[str, Any]) -> bool:
    """Whether a maintainer "name" is a CKAN user id: a UUID, or the creator's id."""
    if name is None:
        return False
    return _UUID.fullmatch(name) is not None or name == pkg.get("creator_user_id")
