"""connectors.sdk._http.with_query: the same URL as httpx's full parse, built cheaper."""

from __future__ import annotations

import urllib.parse

import httpx
from hypothesis import given
from hypothesis import strategies as st

from connectors.sdk._http import build_url, with_query

BASES = st.sampled_from(
    [
        "http://127.0.0.1:9/api/3/action/package_search",
        "https://data.example.gov.cn/api/explore/v2.1/catalog/datasets",
        "http://[::1]:8080/api/v1/resources",
        "https://user:pw@example.org/%E6%95%B0%E6%8D%AE/",
        "http://127.0.0.1/",
    ]
)
# Values short, and long as a CKAN fq is (clauses joined by " +", encoded one at a time).
VALUES = st.one_of(st.text(max_size=40), st.lists(st.text(max_size=200), max_size=4).map(" +".join))
PARAMS = st.lists(st.tuples(st.text(max_size=12), VALUES), max_size=6)


def same(a: httpx.URL, b: httpx.URL) -> None:
    assert a == b
    assert str(a) == str(b)
    assert (a.scheme, a.host, a.port, a.raw_path, a.query, a.fragment) == (
        b.scheme,
        b.host,
        b.port,
        b.raw_path,
        b.query,
        b.fragment,
    )
    assert list(a.params.multi_items()) == list(b.params.multi_items())


@given(BASES, PARAMS)
def test_an_encoded_query_gives_the_url_httpx_parses(base: str, params: list) -> None:  # type: ignore[type-arg]
    query = urllib.parse.urlencode(params)
    same(with_query(base, query), httpx.URL(f"{base}?{query}"))
    if params:  # what it built before (no params: the base as it is)
        same(build_url(base, params), httpx.URL(f"{base}?{query}"))


@given(BASES, st.text(max_size=60))
def test_any_other_query_takes_httpx_own_parse(base: str, query: str) -> None:
    try:
        expected = httpx.URL(f"{base}?{query}")
    except httpx.InvalidURL:
        return  # control characters: the full parse refuses them, and so does with_query
    same(with_query(base, query), expected)


def test_a_query_with_control_characters_is_refused_as_httpx_refuses_it() -> None:
    try:
        with_query("http://127.0.0.1:9/x", "a=\x00")
    except httpx.InvalidURL:
        return
    raise AssertionError("a control character was let through")
