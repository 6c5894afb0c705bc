"""Relay connections over store-backed lists (access requests, agreements, demands).

Lists are newest first; a cursor is the opaque position of the last row seen (its row id
and the list's kind), so the next page starts right after it however many rows were added
meanwhile. ``page_window`` checks ``first`` and ``after`` for every such list alike.
"""

from __future__ import annotations

import base64
import binascii

from gateway.api.errors import PublicError
from schema import graphql_types as gql


def encode_cursor(kind: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{pk}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> int | None:
    """The row id of a cursor of this ``kind``; ``None`` for anything else."""
    if len(cursor) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    found_kind, _, pk = raw.partition(":")
    if found_kind != kind or not pk.isdigit() or len(pk) > 18:
        return None
    return int(pk)


def page_window(
    kind: str, first: int | None, after: str | None, max_first: int
) -> tuple[int, int | None]:
    """``(first, the row id to continue below)``; a ``BAD_USER_INPUT`` / ``BAD_CURSOR``
    error for a bad ``first`` or a cursor this list did not give."""
    first = 20 if first is None else first
    if not 0 <= first <= max_first:
        raise PublicError(
            f"first must be between 0 and {max_first}", "BAD_USER_INPUT", argument="first"
        )
    if after is None:
        return first, None
    pk = decode_cursor(kind, after)
    if pk is None:
        raise PublicError("after is not a cursor of this list", "BAD_CURSOR", argument="after")
    return first, pk


def page_info(kind: str, pks: list[int], has_next: bool, after: str | None) -> gql.PageInfo:
    return gql.PageInfo(
        has_next_page=has_next,
        has_previous_page=after is not None,
        start_cursor=encode_cursor(kind, pks[0]) if pks else None,
        end_cursor=encode_cursor(kind, pks[-1]) if pks else None,
    )
