"""Global ids: opaque, stable, and carrying the source id and the platform's own id."""

from __future__ import annotations

import base64
import binascii
import functools


@functools.lru_cache(maxsize=16384)  # answers repeat the same records; bounded
def encode_id(type_name: str, source_id: str, local_id: str) -> str:
    """``encode_id("Dataset", "transport", "bus-routes")`` -> an opaque, URL-safe string."""
    raw = f"{type_name}:{source_id}:{local_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_id(global_id: str) -> tuple[str, str, str] | None:
    """The inverse of ``encode_id``; ``None`` for anything that is not one of our ids."""
    if not global_id or len(global_id) > 2048:
        return None
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    parts = raw.split(":", 2)
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]
