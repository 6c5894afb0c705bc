"""Cursors: sealed, bound to their query, carrying each source's position and page token."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import httpx
import pytest

from gateway.access.policy import ANONYMOUS, Policy
from gateway.app import Gateway
from gateway.config import ConfigError, parse_config
from gateway.federation.cursor import CursorCodec, CursorError, CursorState
from gateway.federation.search import SearchRequest
from tests.gateway.conftest import make_dataset
from tests.gateway.memory_connector import MemoryConnector

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


async def test_replicas_sharing_cursor_secret_continue_each_others_pages(
    http_client: httpx.AsyncClient,
) -> None:
    raw = {
        "sources": [{"id": "a", "connector": "ckan", "url": "http://127.0.0.1:9"}],
        "graphql": {"cursor_secret": "${CURSOR_SECRET}"},
    }
    config = parse_config(raw, env={"CURSOR_SECRET": "0123456789abcdef" * 3})
    assert "0123456789abcdef" not in repr(config)
    data = [make_dataset("a", i) for i in range(6)]

    def replica() -> Gateway:
        connector = MemoryConnector(config.sources[0].settings, http_client, data)
        return Gateway(config, client=http_client, connectors=[connector])

    grants = Policy.default().grant_set(ANONYMOUS, None, datetime.now(UTC))
    one, two = replica(), replica()
    first = await one.engine.search(SearchRequest(first=4), grants)
    rest = await two.engine.search(SearchRequest(first=4, after=first.end_cursor), grants)
    assert [e.dataset.local_id for e in first.edges + rest.edges] == [f"a-{i}" for i in range(6)]
    # without a shared secret, each process seals with its own
    alone = Gateway(parse_config({"sources": raw["sources"]}), client=http_client, connectors=[])
    with pytest.raises(CursorError):
        await alone.engine.search(SearchRequest(first=4, after=first.end_cursor), grants)


def test_a_short_cursor_secret_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(
            {
                "sources": [{"id": "a", "connector": "ckan", "url": "http://127.0.0.1:9"}],
                "graphql": {"cursor_secret": "short"},
            }
        )
    [problem] = caught.value.problems
    assert problem.path == "graphql.cursor_secret" and "32 characters" in problem.message
    assert "short" not in str(caught.value)
