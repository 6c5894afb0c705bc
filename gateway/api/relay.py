"""Relay connections over store-backed lists: opaque keyset cursors.

A store-backed list is ordered by a key (a row id, newest first); its cursor is that key,
wrapped so clients treat it as opaque::

    after_id = decode_cursor("DataDemand", after)     # None for no cursor, RelayError if bad
    page = await repository.page(..., first, after_id)
    edges = [Edge(cursor=encode_cursor("DataDemand", r.id), node=...) for r in page.records]

Cursors carry only the ids that the list already shows, so they need no secret.
"""

from __future__ import annotations

import base64
import binascii

from schema import graphql_types as gql


class RelayError(ValueError):
    """A cursor that is not one of this list's (``BAD_CURSOR``) or a bad ``first``."""


def encode_cursor(kind: str, key: int) -> str:
    raw = f"{kind}:{key}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> int | None:
    """The key ``cursor`` carries; ``None`` when there is no cursor."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise RelayError("after is not a cursor of this list") from None
    prefix, _, key = raw.partition(":")
    if prefix != kind or not key.isdigit() or len(key) > 19:
        raise RelayError("after is not a cursor of this list")
    return int(key)


def check_first(first: int | None, default: int, maximum: int) -> int:
    value = default if first is None else first
    if not 0 <= value <= maximum:
        raise RelayError(f"first must be between 0 and {maximum}")
    return value


def page_info(cursors: list[str], *, has_next: bool, after: str | None) -> gql.PageInfo:
    return gql.PageInfo(
        has_next_page=has_next,
        has_previous_page=after is not None,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )
