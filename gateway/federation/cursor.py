"""Opaque, sealed pagination cursors.

A cursor carries each source's own upstream position (an offset, and for platforms that
page by token or link, the token that fetches the page it falls in), which sources are
exhausted, how many datasets earlier pages returned and the count they reported, bound
to the query it came from. It is sealed with the gateway's secret (AES-GCM): a client can
neither forge positions, nor replay a cursor on another query, nor read what is inside (a
platform's page token or next link may name internal hosts).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12


class CursorError(ValueError):
    """The ``after`` argument is not a cursor this gateway issued for this query."""


@dataclass(frozen=True, slots=True)
class CursorState:
    positions: Mapping[str, int] = field(default_factory=dict)
    exhausted: frozenset[str] = frozenset()
    returned: int = 0
    # Per source: a page start at or before its position, and the platform's token for it.
    resume: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    # The lowest total count earlier pages reported: a count that is not exact never
    # shrinks while the client pages on.
    counted: int = 0


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        key = hashlib.sha256(b"catalogue-gateway/cursor/v2\0" + secret).digest()
        self._aead = AESGCM(key)

    def encode(self, query_key: str, state: CursorState) -> str:
        payload = json.dumps(
            {
                "q": query_key,
                "p": dict(sorted(state.positions.items())),
                "x": sorted(state.exhausted),
                "n": state.returned,
                "r": {k: list(v) for k, v in sorted(state.resume.items())},
                "c": state.counted,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        nonce = os.urandom(_NONCE)
        token = nonce + self._aead.encrypt(nonce, payload, None)
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def decode(self, query_key: str, cursor: str) -> CursorState:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            token = base64.b64decode(padded, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise CursorError("the cursor is malformed") from None
        try:
            payload = self._aead.decrypt(token[:_NONCE], token[_NONCE:], None)
        except (InvalidTag, ValueError):
            raise CursorError(
                "the cursor is not valid (it was altered or issued elsewhere)"
            ) from None
        data = json.loads(payload)
        if data.get("q") != query_key:
            raise CursorError(
                "the cursor belongs to a different query; keep search, filter and sort "
                "unchanged while paging"
            )
        return CursorState(
            positions={str(k): int(v) for k, v in data["p"].items()},
            exhausted=frozenset(data["x"]),
            returned=int(data["n"]),
            resume={str(k): (int(v[0]), str(v[1])) for k, v in data.get("r", {}).items()},
            counted=int(data.get("c", 0)),
        )
