"""The execution fast path (gateway/api/compiled.py) against its oracle, graphql-core.

Two gateways over the same catalogue differ only in ``graphql.fast_path``. Random
documents over the catalogue types (aliases, inline and named fragments with type
conditions, ``@include`` / ``@skip`` with variables, ``__typename``, nulls, a non-null
field that is null, a failing source, bad arguments, nested fields with arguments that the
plans leave to graphql-core) must give the same bytes, the same status and the same
audit record from both.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast
from unittest import mock

import httpx
from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLOutputType,
    get_named_type,
    is_leaf_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.sdk import SearchPage, SearchQuery, SourceUnavailable
from gateway.access.policy import Policy
from gateway.api import build_schema
from gateway.api.compiled import CompiledExecutionContext
from gateway.app import Gateway
from gateway.audit import AuditEvent, AuditLog
from gateway.config import parse_config
from gateway.federation import cursor as cursor_module
from schema.model import (
    DataField,
    DatasetRef,
    Department,
    Distribution,
    Temporal,
    UpdateFrequency,
)
from tests.gateway.conftest import asgi_client
from tests.gateway.invariant_catalogue import CALLERS, POLICY, SOURCES, As, gid
from tests.gateway.memory_connector import MemoryConnector

# -- the catalogue: the invariant tests' one, with nulls, copies, a broken record ---------

_BUSSTOPS = SOURCES["transport"][0]
EXTRA = [
    replace(
        _BUSSTOPS,
        source_id="mirror",
        local_id="busstops-mirror",
        description=None,
        contact_point=None,
        temporal=Temporal(datetime(2020, 1, 1, tzinfo=UTC), None),
        distributions=(
            Distribution(title=None, format="CSV", byte_size=2**40),
            Distribution(media_type="text/csv", byte_size=12),
        ),
        fields=(DataField("stop", "string", None), DataField("name")),
        keywords=("bus", "stops"),
        update_frequency=UpdateFrequency.DAILY,
        also_published_by=(DatasetRef("transport", "busstops", None, stale=True),),
    ),
    # A department without a name: Department.name is String!, so graphql-core nulls the
    # department and reports the error (the plan gives up and lets it).
    replace(
        SOURCES["health"][0],
        source_id="mirror",
        local_id="clinics-nameless",
        identifier="nameless-code",
        department=Department("health", cast(str, None)),
    ),
]
CATALOGUE: dict[str, list[Any]] = {**SOURCES, "mirror": EXTRA, "broken": list(EXTRA)}
IDS = [gid(d) for ds in CATALOGUE.values() for d in ds][:6] + ["bm90LWFuLWlk", "", "RGF0YXNldDp4"]


class BrokenConnector(MemoryConnector):
    """A platform that fails every search whose text contains "fail"."""

    async def search(self, query: SearchQuery) -> SearchPage:
        if query.text and "fail" in query.text:
            raise SourceUnavailable("connection refused")
        return await super().search(query)


@dataclass
class Recorder:
    """Stands in for the audit log: keeps the events."""

    events: list[AuditEvent] = field(default_factory=list)

    async def open(self) -> None:
        return None

    async def record(self, event: AuditEvent) -> None:
        self.events.append(event)

    async def aclose(self) -> None:
        return None


def _gateway(fast_path: bool, client: httpx.AsyncClient, audit: Recorder) -> Gateway:
    config = parse_config(
        {
            "sources": [
                {"id": sid, "connector": "ckan", "url": "http://127.0.0.1:9", "timeout_seconds": 5}
                for sid in CATALOGUE
            ],
            # Every example executes: an answer cache hit would compare the cache with itself.
            "graphql": {"fast_path": fast_path, "response_cache": {"ttl_seconds": 0}},
        }
    )
    connectors = [
        (BrokenConnector if e.settings.id == "broken" else MemoryConnector)(
            e.settings, client, CATALOGUE[e.settings.id]
        )
        for e in config.sources
    ]
    return Gateway(
        config,
        client=client,
        connectors=connectors,
        policy=Policy.parse(POLICY),
        cursor_secret=b"compiled-tests",
        audit=cast(AuditLog, audit),
    )


# -- documents ------------------------------------------------------------------------------

SCHEMAS = {flag: build_schema(fast_path=flag) for flag in (True, False)}
SCHEMA = SCHEMAS[False]._schema
# Left out: values that change from one request to the next (latencies), and the quality
# indicators (slow, and a resolver with Info like alsoPublishedBy.dataset, which is in).
SKIPPED = {"latencyMs", "latencyP50Ms", "quality", "grants"}
LANGS = [None] * 9 + ["en", "zh-CN", "!!"]  # an argument sends the object to graphql-core
CONDITIONS = ["", "", "", "@include(if: $yes)", "@skip(if: $yes)", "@include(if: $no)"]
CONDITIONS += ["@skip(if: $no)", "@include(if: true)", "@skip(if: true)"]


@dataclass
class Document:
    """What a drawn operation needs besides its selection: fragments and variables."""

    fragments: list[str] = field(default_factory=list)
    names: itertools.count[int] = field(default_factory=itertools.count)

    def text(self, selection: str) -> str:
        uses = [v for v in ("yes", "no") if f"${v}" in selection + "".join(self.fragments)]
        declared = ", ".join(f"${v}: Boolean!" for v in uses)
        head = f"query Q({declared})" if declared else "query Q"
        return "\n".join([f"{head} {{ {selection} }}", *self.fragments])


def _object(type_: GraphQLOutputType) -> GraphQLObjectType | GraphQLInterfaceType | None:
    named = get_named_type(type_)
    return named if isinstance(named, GraphQLObjectType | GraphQLInterfaceType) else None


@st.composite
def selections(
    draw: st.DrawFn, parent: GraphQLObjectType | GraphQLInterfaceType, doc: Document, depth: int
) -> str:
    names = sorted(
        n
        for n, f in parent.fields.items()
        if n not in SKIPPED and (depth > 0 or is_leaf_type(get_named_type(f.type)))
    )
    common = [n for n in ("id", "title", "name", "node", "edges") if n in names] * 3
    pool = [*names, *common, "__typename"]
    picked = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=6))
    parts = []
    for name in picked:
        part = name
        if draw(st.integers(0, 7)) == 0:  # few enough to stay under max_aliases
            part = f"{name}_{next(doc.names)}: {name}"
        graphql_field = parent.fields.get(name)
        if graphql_field is not None and "lang" in graphql_field.args:
            lang = draw(st.sampled_from(LANGS))
            part += f'(lang: "{lang}")' if lang else ""
        part += " " + draw(st.sampled_from(CONDITIONS))
        child = _object(graphql_field.type) if graphql_field is not None else None
        if child is not None:
            part += " { " + draw(selections(child, doc, depth - 1)) + " }"
        parts.append(part)
    selection = " ".join(parts)
    wrap = draw(st.integers(0, 5))
    if wrap == 0:  # an inline fragment, with or without a type condition
        on = draw(st.sampled_from([f"on {parent.name} ", ""]))
        typename = "__typename"
        return f"... {on}{draw(st.sampled_from(CONDITIONS))} {{ {selection} }} {typename}"
    if wrap == 1:  # a named fragment
        name = f"F{next(doc.names)}"
        doc.fragments.append(f"fragment {name} on {parent.name} {{ {selection} }}")
        return f"...{name} {draw(st.sampled_from(CONDITIONS))} __typename"
    return selection


def _type(name: str) -> GraphQLObjectType:
    found = SCHEMA.get_type(name)
    assert isinstance(found, GraphQLObjectType)
    return found


@st.composite
def operations(draw: st.DrawFn) -> tuple[str, dict[str, bool]]:
    doc = Document()
    roots = []
    kinds = st.sampled_from(["datasets", "datasets", "datasets", "dataset", "node", "more"])
    for root in draw(st.lists(kinds, min_size=1, max_size=2)):
        alias = f"r{next(doc.names)}: "
        if root == "datasets":
            first = draw(st.sampled_from([1, 2, 3, 20, 20, 20, 0, -1]))
            search = draw(st.sampled_from(["", ', search: "title"', ', search: "fail"']))
            sort = draw(st.sampled_from(["", ", sort: TITLE_ASC", ", sort: MODIFIED_DESC"]))
            body = draw(selections(_type("DatasetConnection"), doc, 4))
            if draw(st.booleans()):  # the common shape, a page of datasets, half the time
                node = draw(selections(_type("Dataset"), doc, 2))
                body += f" edges {{ cursor node {{ id {node} }} }}"
            roots.append(f"{alias}datasets(first: {first}{search}{sort}) {{ {body} }}")
        elif root == "dataset":
            body = draw(selections(_type("Dataset"), doc, 2))
            roots.append(f'{alias}dataset(id: "{draw(st.sampled_from(IDS))}") {{ {body} }}')
        elif root == "node":
            body = draw(selections(_type("Dataset"), doc, 2))
            node_id = draw(st.sampled_from(IDS))
            on_dataset = f"__typename ... on Dataset {{ {body} }}"
            roots.append(f'{alias}node(id: "{node_id}") {{ {on_dataset} }}')
        else:
            roots.append(f"{alias}departments {{ id name code }} me {{ id anonymous purpose }}")
    variables = {"yes": draw(st.booleans()), "no": draw(st.booleans())}
    return doc.text(" ".join(roots)), variables


@contextlib.asynccontextmanager
async def _fixed_nonce() -> AsyncIterator[None]:
    """Cursors are sealed with a random nonce; both paths must seal the same bytes."""
    with mock.patch.object(cursor_module, "os", SimpleNamespace(urandom=bytes)):
        yield


# -- the property --------------------------------------------------------------------------


def _audited(event: AuditEvent) -> tuple[Any, ...]:
    return (
        event.caller,
        event.operation,
        event.document_sha256,
        event.dataset_ids,
        event.withheld,
        event.sources,
        event.outcome,
        event.http_status,
        event.agreements,
    )


async def _both(
    query: str, variables: Mapping[str, Any], caller: As
) -> tuple[list[tuple[int, bytes, tuple[Any, ...]]], CompiledExecutionContext]:
    answers = []
    plans: Any = None
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(599))) as c,
        _fixed_nonce(),
    ):
        # One schema per path for every example, as in a server: plans built for earlier
        # documents stay beside the new ones (and no schema is rebuilt per example).
        reuse = mock.patch("gateway.app.build_schema", lambda **kw: SCHEMAS[kw["fast_path"]])
        reuse.start()
        # The fast path twice: strawberry prepares the document, then it runs directly.
        for fast in (True, True, False):
            audit = Recorder()
            gateway = _gateway(fast, c, audit)
            if fast:
                plans = gateway.schema.execution_context_class
            async with asgi_client(gateway) as client:
                response = await client.post(
                    "/graphql",
                    json={"query": query, "variables": dict(variables)},
                    headers={**caller.headers, "x-request-id": "same-id"},
                )
            await gateway.aclose()
            answers.append((response.status_code, response.content, _audited(audit.events[0])))
        reuse.stop()
    return answers, plans


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations(), st.sampled_from(CALLERS))
def test_the_fast_path_answers_byte_for_byte_what_graphql_core_answers(
    operation: tuple[str, dict[str, bool]], caller: As
) -> None:
    query, variables = operation
    (fast, direct, plain), _ = asyncio.run(_both(query, variables, caller))
    assert fast == plain, query
    assert direct == plain, query


def _run(queries: Sequence[str], variables: Mapping[str, Any] | None = None) -> Any:
    async def run() -> Any:
        async with httpx.AsyncClient(
            transport=httpx.MockTransport(lambda r: httpx.Response(599))
        ) as c:
            gateway = _gateway(True, c, Recorder())
            async with asgi_client(gateway) as client:
                for query in queries:
                    response = await client.post(
                        "/graphql", json={"query": query, "variables": dict(variables or {})}
                    )
                    assert response.status_code == 200, response.text
            await gateway.aclose()
            return gateway.schema.execution_context_class.plans  # type: ignore[attr-defined]

    return asyncio.run(run())


ROWS = "{ datasets(first: 20) { totalCount edges { cursor node { id title modified " + (
    "department { id } distributions { format downloadUrl } } } pageInfo { endCursor } } }"
)


def test_a_warm_document_is_compiled_once_and_completed_without_graphql_core() -> None:
    plans = _run([ROWS, ROWS, ROWS])
    assert plans.compiled == 1
    assert plans.fallbacks == 0


def test_a_plan_is_kept_per_value_of_the_variables_its_directives_read() -> None:
    query = "query($yes: Boolean!) { datasets { edges { node { id title @include(if: $yes) } } } }"
    plans = _run([query, query], {"yes": True})
    assert (plans.compiled, plans.fallbacks) == (1, 0)


def test_a_nested_field_with_arguments_is_left_to_graphql_core() -> None:
    query = '{ datasets { edges { node { id title(lang: "en") } } } }'
    plans = _run([query])
    assert plans.fallbacks > 0


# -- prepared operations (gateway/api/prepared.py) -----------------------------------------


def _in_turn(requests: Sequence[tuple[str, Mapping[str, Any]]], fast: bool) -> Any:
    """The answers of one gateway to ``requests`` in turn, and its schema."""

    async def run() -> Any:
        async with httpx.AsyncClient(
            transport=httpx.MockTransport(lambda r: httpx.Response(599))
        ) as c:
            gateway = _gateway(fast, c, Recorder())
            answers = []
            async with asgi_client(gateway) as client:
                for query, variables in requests:
                    response = await client.post(
                        "/graphql", json={"query": query, "variables": dict(variables)}
                    )
                    answers.append((response.status_code, response.content))
            await gateway.aclose()
            return answers, gateway.schema

    with _fixed_nonce_sync():
        return asyncio.run(run())


@contextlib.contextmanager
def _fixed_nonce_sync() -> Any:
    with mock.patch.object(cursor_module, "os", SimpleNamespace(urandom=bytes)):
        yield


_PAGE = "datasets(first: $n) { edges { node { id distributions { format } } } }"
# Cheap with a small page; above max_cost (10,000) with the largest.
PAGED = "query P($n: Int) { " + " ".join(f"p{i}: {_PAGE}" for i in range(10)) + " }"


def test_a_document_strawberry_accepted_runs_directly_the_next_time() -> None:
    answers, schema = _in_turn([(ROWS, {}), (ROWS, {}), ("{ me { id } }", {})], fast=True)
    assert schema.prepared.direct == 1
    assert answers[0] == answers[1]


def test_a_prepared_document_is_still_cost_checked_with_each_requests_variables() -> None:
    requests = [(PAGED, {"n": 2}), (PAGED, {"n": 100_000}), (PAGED, {"n": "two"}), (PAGED, {})]
    fast, schema = _in_turn(requests, fast=True)
    plain, _ = _in_turn(requests, fast=False)
    assert fast == plain
    assert fast[1][0] == 400 and b"QUERY_TOO_COSTLY" in fast[1][1]
    assert schema.prepared.direct == 2  # the variable of the wrong type, and none


def test_an_internal_error_on_a_prepared_document_is_masked_and_logged_as_before() -> None:
    query = "{ datasets(first: 2) { edges { node { id quality { score } } } } }"
    failing = mock.AsyncMock(side_effect=RuntimeError("secret detail"))
    with mock.patch("gateway.api.context.RequestContext.dataset_quality", failing):
        fast, schema = _in_turn([(query, {}), (query, {})], fast=True)
        plain, _ = _in_turn([(query, {}), (query, {})], fast=False)
    assert schema.prepared.direct == 1
    assert fast == plain
    assert b"secret detail" not in fast[1][1]
    assert b"Internal error; it has been logged." in fast[1][1]


def test_an_operation_is_prepared_per_requested_name() -> None:
    two = "query A { me { id } } query B { departments { id } }"
    fast, schema = _in_turn([(two, {}), (two, {})], fast=True)
    plain, _ = _in_turn([(two, {}), (two, {})], fast=False)
    assert fast == plain and fast[0][0] == 400  # which operation is not said
    assert schema.prepared.direct == 0


def test_the_start_cursor_sealed_on_read_is_the_first_edges_cursor() -> None:
    query = "query($n: Int) { datasets(first: $n) { edges { cursor } pageInfo { startCursor } } }"
    for fast in (True, False):
        answers, _ = _in_turn([(query, {"n": 3}), (query, {"n": 0})], fast=fast)
        page, empty = (json.loads(body)["data"]["datasets"] for _, body in answers)
        assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        assert empty["pageInfo"]["startCursor"] is None
