"""Cursors: sealed, bound to their query, carrying each source's position and page token."""

from __future__ import annotations

import base64

import pytest

from gateway.cursor import CursorCodec, CursorError, CursorState

STATE = CursorState(
    positions={"a": 40, "b": 7},
    exhausted=frozenset({"c"}),
    returned=47,
    resume={"a": (40, '{"u":"http://10.0.0.7:8080/internal/search?from=40"}')},
)


def test_a_cursor_round_trips_and_its_contents_cannot_be_read() -> None:
    codec = CursorCodec(b"k" * 32)
    cursor = codec.encode("query-1", STATE)
    assert codec.decode("query-1", cursor) == STATE
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    for secret in (b"10.0.0.7", b"internal", b"query-1", b'"a"'):
        assert secret not in raw  # a platform's next link names internal hosts
    assert codec.encode("query-1", STATE) != cursor  # a fresh nonce each time


@pytest.mark.parametrize(
    ("cursor", "message"),
    [
        ("%%%", "malformed"),
        ("AAAA", "not valid"),
        (None, "not valid"),  # issued under another secret
        ("other-query", "different query"),
    ],
)
def test_a_bad_cursor_is_a_clear_error(cursor: str | None, message: str) -> None:
    codec = CursorCodec(b"k" * 32)
    if cursor is None:
        cursor = CursorCodec(b"x" * 32).encode("query-1", STATE)
    elif cursor == "other-query":
        cursor = codec.encode("query-2", STATE)
    with pytest.raises(CursorError, match=message):
        codec.decode("query-1", cursor)


def test_flipping_any_byte_is_refused() -> None:
    codec = CursorCodec(b"k" * 32)
    raw = bytearray(base64.urlsafe_b64decode(codec.encode("q", STATE) + "=="))
    for index in range(0, len(raw), 7):
        forged = bytearray(raw)
        forged[index] ^= 0x01
        text = base64.urlsafe_b64encode(bytes(forged)).decode().rstrip("=")
        with pytest.raises(CursorError):
            codec.decode("q", text)
