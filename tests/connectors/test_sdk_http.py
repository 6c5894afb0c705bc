"""connectors.sdk.get_json: bounded reads and one error per failure kind."""

from __future__ import annotations

import gzip
import urllib.parse
import zlib

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sdk import FatalError, RetriableError, SourceUnavailable, get_json


class StreamedTransport(httpx.AsyncBaseTransport):
    """Answers with a body that is streamed in chunks, as a real connection does."""

    def __init__(self, response: httpx.Response | Exception) -> None:
        self.response = response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if isinstance(self.response, Exception):
            raise self.response
        body = self.response.stream._stream  # type: ignore[attr-defined]  # bytes as sent

        async def chunks():  # type: ignore[no-untyped-def]
            for start in range(0, len(body), 4096):
                yield body[start : start + 4096]

        return httpx.Response(
            self.response.status_code,
            headers=self.response.headers,
            stream=_Stream(chunks()),
            request=request,
        )


class _Stream(httpx.AsyncByteStream):
    def __init__(self, chunks) -> None:  # type: ignore[no-untyped-def]
        self._chunks = chunks

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        async for chunk in self._chunks:
            yield chunk


async def fetch(response: httpx.Response | Exception, max_bytes: int = 1024) -> object:
    async with httpx.AsyncClient(transport=StreamedTransport(response)) as client:
        _, body = await get_json(client, "http://127.0.0.1/x", source_id="s", max_bytes=max_bytes)
    return body


async def test_a_gzip_bomb_is_refused_at_the_cap_without_inflating_it_whole() -> None:
    bomb = gzip.compress(b"[" + b"0," * 5_000_000 + b"0]")  # ~10 MB inflated, ~10 KB sent
    response = httpx.Response(200, content=bomb, headers={"content-encoding": "gzip"})
    with pytest.raises(FatalError, match="cap"):
        await fetch(response, max_bytes=64 * 1024)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compressed_bodies_within_the_cap_decode(encoding: str) -> None:
    raw = b'{"ok": true, "name": "\\u516c\\u4ea4"}'
    body = gzip.compress(raw) if encoding == "gzip" else zlib.compress(raw)
    response = httpx.Response(200, content=body, headers={"content-encoding": encoding})
    assert await fetch(response) == {"ok": True, "name": "公交"}


async def test_a_body_that_does_not_decompress_is_fatal() -> None:
    response = httpx.Response(
        200, stream=httpx.ByteStream(b"not gzip"), headers={"content-encoding": "gzip"}
    )
    with pytest.raises(FatalError, match="decompress"):
        await fetch(response)


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(503), RetriableError),
        (httpx.Response(429), RetriableError),
        (httpx.Response(404), FatalError),
        (httpx.Response(200, content=b"<html>login</html>"), FatalError),
        (httpx.Response(200, content=b"[" * 5000 + b"]" * 5000), FatalError),
        (httpx.ReadTimeout("slow"), SourceUnavailable),
        (httpx.ConnectError("refused"), SourceUnavailable),
        (httpx.TooManyRedirects("loop"), FatalError),
    ],
    ids=["503", "429", "404", "html", "deep-json", "timeout", "refused", "redirects"],
)
async def test_each_failure_maps_to_its_error(
    response: httpx.Response | Exception, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await fetch(response, max_bytes=1_000_000)


async def test_a_redirect_is_followed_by_the_gateway_client() -> None:
    import respx

    from gateway.federation.http_client import build_client

    with respx.mock(assert_all_mocked=True) as router:
        router.get("http://127.0.0.1/old").mock(
            return_value=httpx.Response(301, headers={"location": "http://127.0.0.1/new"})
        )
        router.get("http://127.0.0.1/new").mock(return_value=httpx.Response(200, json=[1]))
        async with build_client("httpx") as client:
            _, body = await get_json(client, "http://127.0.0.1/old", source_id="s")
    assert body == [1]


async def test_a_redirect_the_client_does_not_follow_is_fatal_not_garbage() -> None:
    response = httpx.Response(302, headers={"location": "http://127.0.0.1/login"})
    with pytest.raises(FatalError, match="302"):
        await fetch(response)


async def test_the_gateway_client_keeps_no_cookie_a_platform_sets() -> None:
    import respx

    from gateway.federation.http_client import build_client

    with respx.mock(assert_all_mocked=True) as router:
        route = router.get("http://127.0.0.1/api").mock(
            return_value=httpx.Response(
                200, json=[1], headers={"set-cookie": "session=source-a-key; Path=/"}
            )
        )
        async with build_client("httpx") as client:
            await get_json(client, "http://127.0.0.1/api", source_id="a")
            await get_json(client, "http://127.0.0.1/api", source_id="b")
            assert len(client.cookies) == 0
            with pytest.raises(TypeError):
                client.cookies = {"session": "x"}
    first, second = route.calls
    assert "cookie" not in first.request.headers
    # Source b, on the same platform, is not sent what the platform gave source a.
    assert "cookie" not in second.request.headers


_QUERY_TEXT = st.text(alphabet=st.sampled_from(list(' +:()"*[]{}-_&=%/中文aZ09\\')), max_size=300)
# Long values made of `` +``-separated clauses, as a CKAN fq is, and plain text.
_VALUES = st.one_of(_QUERY_TEXT, st.lists(_QUERY_TEXT, max_size=5).map(" +".join))


@settings(max_examples=300)
@given(st.lists(st.tuples(_QUERY_TEXT, _VALUES), max_size=4))
def test_urlencode_reusing_clauses_is_urllibs_urlencode(pairs: list[tuple[str, str]]) -> None:
    from connectors.sdk._http import urlencode

    assert urlencode(tuple(pairs)) == urllib.parse.urlencode(pairs)
    assert urlencode(tuple(pairs)) == urllib.parse.urlencode(pairs)  # from the kept clauses
