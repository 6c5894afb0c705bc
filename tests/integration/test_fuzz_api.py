"""Fuzzing the GraphQL API against the demo's eight simulated platforms (issue 16).

Documents come from the schema (hypothesis-graphql: valid ones, and ones with one schema
violation); the ``datasets`` arguments also come as variables, built from the schema's
``DatasetFilter`` input type, so every filter field (and any added later) is fuzzed. For
every request: no server error (HTTP 5xx or a masked "Internal error"), no error logged,
and no source's health changes (every guard stays UP with no failure and no last error).

Bounded and seeded so the suite stays fast: ``FUZZ_EXAMPLES`` examples per test (default
25), derandomized, no example database. A longer run::

    FUZZ_EXAMPLES=2000 pytest tests/integration/test_fuzz_api.py -p no:cacheprovider
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, nodes, queries

from gateway.api import schema as gateway_schema
from gateway.app import Gateway, create_app
from simulators.platforms import PlatformServer
from tests.integration.conftest import fresh_demo_gateway

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # seeded: the same examples on every run
    database=None,
    deadline=None,  # a request crosses eight platforms; never a timing assertion
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=False,
)
SDL = graphql.build_schema(gateway_schema.as_str())

# Dates across the whole range ISO 8601 can write (the was year 6), with and
# without a zone, and strings that are no date at all.
ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-12))])
DATETIMES = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=ZONES
)
EDGE_DATES = st.sampled_from(
    [
        "0006-03-13T23:33:41Z",
        "0001-01-01T00:00:00",
        "0999-12-31T23:59:59+08:00",
        "1899-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
        "9999-12-31T23:59:59-12:00",
    ]
)
DATE_STRINGS = EDGE_DATES | DATETIMES.map(lambda d: d.isoformat()) | st.text(max_size=30)
SCALARS = {
    "DateTime": DATE_STRINGS.map(nodes.String),
    "BigInt": st.integers(min_value=-(2**70), max_value=2**70).map(nodes.Int),
}
FIELDS = ["datasets", "dataset", "node", "departments", "sources", "me"]
# Any text a caller can send in JSON: control characters, lone surrogates, long runs.
TEXT = st.text(st.characters(exclude_categories=()), max_size=40) | st.sampled_from(
    ["", " ", "\u0000x", "\ud800", "x" * 600, "公交", '"', "\\", "*:*", "a' OR '1'='1"]
)


class ErrorLog(logging.Handler):
    """Every record at ERROR or above, and every record carrying an exception."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)


@pytest.fixture
def error_log() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


@pytest.fixture
def fuzz(
    demo_platforms: dict[str, PlatformServer], error_log: ErrorLog
) -> Iterator[Callable[[dict[str, Any]], None]]:
    """``send(payload)``: one request to a gateway over the demo platforms, then the
    issue's invariants. One loop and one gateway serve every example."""
    for server in demo_platforms.values():
        server.fault.reset()
    with asyncio.Runner() as runner:
        gateway = fresh_demo_gateway(demo_platforms)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(gateway)), base_url="http://gateway.test"
        )

        def send(payload: dict[str, Any]) -> None:
            note(f"request: {payload!r}")
            body = json.dumps(payload)  # ASCII escapes: lone surrogates travel as \\udxxx
            response = runner.run(
                client.post("/graphql", content=body, headers={"content-type": "application/json"})
            )
            assert response.status_code < 500, response.text
            assert "Internal error" not in response.text, response.text
            answer = response.json()
            for error in answer.get("errors", ()):
                assert error.get("extensions", {}).get("code") != "SOURCE_TIMEOUT", error
            assert_healthy(gateway)
            assert error_log.records == [], [r.getMessage() for r in error_log.records]

        try:
            runner.run(warm_up(client))
            yield send
        finally:
            runner.run(client.aclose())
            runner.run(gateway.aclose())


async def warm_up(client: httpx.AsyncClient) -> None:
    """The local-index platforms (DCAT, data.json) load their catalogue on first use."""
    response = await client.post(
        "/graphql", json={"query": "{ datasets(first: 1) { totalCount } }"}
    )
    assert "errors" not in response.json(), response.text


def assert_healthy(gateway: Gateway) -> None:
    for connector in gateway.connectors:
        report = gateway.engine.guard(connector.source_id).report()
        assert (report.state.value, report.consecutive_failures, report.last_error) == (
            "UP",
            0,
            None,
        ), connector.source_id


def test_generated_documents_never_break_the_gateway_or_a_source(
    fuzz: Callable[[dict[str, Any]], None],
) -> None:
    documents = queries(SDL, fields=FIELDS, custom_scalars=SCALARS) | queries(
        SDL, fields=FIELDS, custom_scalars=SCALARS, mode=Mode.NEGATIVE
    )

    @FUZZ_SETTINGS
    @given(document=documents)
    def check(document: str) -> None:
        fuzz({"query": document})

    check()


def _input_value(type_: graphql.GraphQLInputType) -> st.SearchStrategy[Any]:
    """Values for one input type of the schema, valid and not."""
    nullable = not isinstance(type_, graphql.GraphQLNonNull)
    inner = type_.of_type if isinstance(type_, graphql.GraphQLNonNull) else type_
    strategy: st.SearchStrategy[Any]
    if isinstance(inner, graphql.GraphQLList):
        strategy = st.lists(_input_value(inner.of_type), max_size=4) | st.lists(
            _input_value(inner.of_type), min_size=100, max_size=120
        )
    elif isinstance(inner, graphql.GraphQLEnumType):
        strategy = st.sampled_from(sorted(inner.values))
    elif isinstance(inner, graphql.GraphQLInputObjectType):
        strategy = st.fixed_dictionaries(
            {}, optional={name: _input_value(f.type) for name, f in inner.fields.items()}
        )
    elif inner.name == "DateTime":
        strategy = DATE_STRINGS
    elif inner.name == "Int":
        strategy = st.integers(min_value=-10, max_value=200) | st.integers()
    else:
        strategy = TEXT
    return st.none() | strategy if nullable else strategy


DATASETS = """
query Fuzz($search: String, $filter: DatasetFilter, $sort: DatasetSort, $first: Int,
           $after: String) {
  datasets(search: $search, filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount totalCountIsExact
    edges { cursor node { id title modified source { id } } }
    pageInfo { hasNextPage endCursor }
    sources { source { id } status message }
  }
}
"""


def test_generated_variables_never_break_the_gateway_or_a_source(
    fuzz: Callable[[dict[str, Any]], None],
) -> None:
    field = SDL.query_type.fields["datasets"] if SDL.query_type else None
    assert field is not None
    arguments = {name: _input_value(a.type) for name, a in field.args.items()}
    variables = st.fixed_dictionaries({}, optional=arguments)

    @FUZZ_SETTINGS
    @given(variables=variables)
    def check(variables: dict[str, Any]) -> None:
        fuzz({"query": DATASETS, "variables": variables})

    check()
