"""Opaque, signed pagination cursors.

A cursor carries each source's own upstream position, which sources are exhausted and how
many datasets earlier pages returned, bound to the query it came from. It is signed with
the gateway's secret, so a client cannot forge positions or replay a cursor on another
query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field


class CursorError(ValueError):
    """The ``after`` argument is not a cursor this gateway issued for this query."""


@dataclass(frozen=True, slots=True)
class CursorState:
    positions: Mapping[str, int] = field(default_factory=dict)
    exhausted: frozenset[str] = frozenset()
    returned: int = 0


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:16]

    def encode(self, query_key: str, state: CursorState) -> str:
        payload = json.dumps(
            {
                "q": query_key,
                "p": dict(sorted(state.positions.items())),
                "x": sorted(state.exhausted),
                "n": state.returned,
            },
            separators=(",", ":"),
        ).encode()
        token = payload + self._sign(payload)
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def decode(self, query_key: str, cursor: str) -> CursorState:
        try:
            token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise CursorError("the cursor is malformed") from None
        payload, signature = token[:-16], token[-16:]
        if len(token) <= 16 or not hmac.compare_digest(signature, self._sign(payload)):
            raise CursorError("the cursor is not valid (it was altered or issued elsewhere)")
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
        )
