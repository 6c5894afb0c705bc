"""DESIGN.md's security invariants, one test each, through the HTTP layer.

The catalogue, the callers and the helpers are in ``invariant_catalogue``: for each
caller, ``reference_policy`` says which datasets it may see, and every hidden one must be
absent from each answer's bytes. Invariants the gateway breaks today are ``xfail(strict)``
with the reason, so the suite stays green while they show.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from connectors.sdk import FacetName, FatalError, SearchPage, SearchQuery, Sort, SourceUnavailable
from gateway.access.policy import hash_api_key
from gateway.app import Gateway
from gateway.audit.log import AuditLog
from schema.ids import decode_id, encode_id
from schema.model import Dataset
from tests.gateway.conftest import GatewayFactory, asgi_client
from tests.gateway.invariant_catalogue import (
    ALL,
    ANALYST,
    ANONYMOUS,
    AUDITOR,
    BY_ID,
    CALLERS,
    CLERK,
    L1,
    L3,
    NOT_OPEN,
    OPEN,
    OPERATOR,
    OPERATOR_MARKETING,
    OPERATOR_TRAFFIC,
    POLICY,
    SEARCH,
    SOURCES,
    TRANSPORT,
    As,
    C,
    U,
    assert_absent,
    both_paths,
    by_name,
    catalogue_dataset,
    gid,
    graphql,
    page_all,
)
from tests.gateway.memory_connector import MemoryConnector


def test_the_fixture_gives_every_caller_datasets_it_may_and_may_not_see() -> None:
    # The fixture is only worth something if each caller has both kinds.
    for caller in CALLERS:
        assert caller.visible() and caller.hidden(), caller.name


# -- absent everywhere ------------------------------------------------------------------------


@both_paths
@by_name
async def test_a_hidden_dataset_is_absent_from_every_page_of_search_results(
    make_gateway: GatewayFactory, caller: As, push_down: bool
) -> None:
    gateway = make_gateway(SOURCES, policy=POLICY, push_down=push_down)
    async with asgi_client(gateway) as client:
        pages = await page_all(client, caller, first=2)
    served = [e["node"]["id"] for p in pages for e in p.json()["data"]["datasets"]["edges"]]
    assert sorted(served) == sorted(gid(d) for d in caller.visible())
    for page in pages:
        assert_absent(page.content, caller.hidden())


@by_name
async def test_an_exact_total_count_counts_only_what_the_caller_may_see(
    make_gateway: GatewayFactory, caller: As
) -> None:
    gateway = make_gateway(SOURCES, policy=POLICY, push_down=True)
    async with asgi_client(gateway) as client:
        response = await graphql(client, caller, SEARCH, {"first": 1})
    datasets = response.json()["data"]["datasets"]
    assert datasets["totalCountIsExact"] is True
    assert datasets["totalCount"] == len(caller.visible())
    matched = sum(s["matched"] for s in datasets["sources"])
    assert matched == len(caller.visible())


@by_name
async def test_a_lower_bound_total_count_never_counts_a_hidden_dataset(
    make_gateway: GatewayFactory, caller: As
) -> None:
    gateway = make_gateway(SOURCES, policy=POLICY, push_down=False)
    async with asgi_client(gateway) as client:
        pages = await page_all(client, caller, first=1)
    visible = len(caller.visible())
    for page in pages:
        datasets = page.json()["data"]["datasets"]
        assert datasets["totalCountIsExact"] is False
        assert datasets["totalCount"] <= visible
        assert all(s["matched"] is None for s in datasets["sources"])
    # The bound is reached by the end: every visible dataset counted, no hidden one.
    assert pages[-1].json()["data"]["datasets"]["totalCount"] == visible


async def test_an_exact_total_count_never_counts_what_a_not_shared_only_grant_cannot_show(
    make_gateway: GatewayFactory,
) -> None:
    policy = {
        **POLICY,
        "grants": [
            {
                "id": "not-shared-only",
                "to": {"callers": ["operator"]},
                "allow": {"share_types": ["NOT_SHARED"], "max_sensitivity": "L4"},
            }
        ],
    }
    gateway = make_gateway(SOURCES, policy=policy, push_down=True)
    async with asgi_client(gateway) as client:
        response = await graphql(client, OPERATOR, SEARCH, {"first": 1})
    datasets = response.json()["data"]["datasets"]
    visible = OPERATOR.visible(policy=policy)
    assert datasets["totalCount"] == len(visible)  # the public datasets, nothing more


class FacetingConnector(MemoryConnector):
    """Counts facets upstream, over what it applied, as a platform with facets does."""

    async def search(self, query: SearchQuery) -> SearchPage:
        page = await super().search(query)
        if not (self.push_down and query.facets):
            return page
        rows = self._ordered(query)
        counts: dict[FacetName, Counter[str]] = {name: Counter() for name in query.facets}
        for dataset in rows:
            for name, values in _facet_values(dataset).items():
                if name in counts:
                    counts[name].update(values)
        return replace(page, facets={name: dict(c) for name, c in counts.items()})


def _facet_values(dataset: Dataset) -> dict[FacetName, set[str]]:
    return {
        FacetName.DEPARTMENTS: {dataset.department.id} if dataset.department else set(),
        FacetName.THEMES: set(dataset.themes),
        FacetName.FORMATS: set(dataset.formats),
        FacetName.SHARE_TYPES: {dataset.share_type.value},
        FacetName.OPEN_TYPES: {dataset.open_type.value},
    }


FACETS = """
{ datasets(first: 50) { totalCountIsExact facets {
    departments { value count } themes { value count } formats { value count }
    shareTypes { value count } openTypes { value count } } } }
"""
FACET_FIELDS = {
    FacetName.DEPARTMENTS: "departments",
    FacetName.THEMES: "themes",
    FacetName.FORMATS: "formats",
    FacetName.SHARE_TYPES: "shareTypes",
    FacetName.OPEN_TYPES: "openTypes",
}


@pytest.mark.parametrize(
    "push_down", [True, False], ids=["counted-upstream", "counted-by-the-gateway"]
)
@by_name
async def test_every_facet_count_counts_only_what_the_caller_may_see(
    make_gateway: GatewayFactory, caller: As, push_down: bool
) -> None:
    gateway = make_gateway(
        SOURCES, policy=POLICY, push_down=push_down, connector_class=FacetingConnector
    )
    async with asgi_client(gateway) as client:
        response = await graphql(client, caller, FACETS)
    answer = response.json()["data"]["datasets"]
    assert answer["totalCountIsExact"] is push_down
    for name, key in FACET_FIELDS.items():
        expected: Counter[str] = Counter()
        for dataset in caller.visible():
            expected.update(_facet_values(dataset)[name])
        got = {bucket["value"]: bucket["count"] for bucket in answer["facets"][key]}
        assert got == dict(expected), key


@by_name
async def test_dataset_and_node_answer_a_hidden_id_byte_for_byte_like_a_nonexistent_one(
    make_gateway: GatewayFactory, caller: As
) -> None:
    gateway = make_gateway(SOURCES, policy=POLICY)
    missing = [
        encode_id("Dataset", "transport", "nosuchdataset"),
        encode_id("Dataset", "nosuchsource", "busstops"),
    ]
    async with asgi_client(gateway) as client:
        absent = [(await graphql(client, caller, BY_ID, {"id": i})).content for i in missing]
        hidden = [
            (await graphql(client, caller, BY_ID, {"id": gid(d)})).content for d in caller.hidden()
        ]
        shown = await graphql(client, caller, BY_ID, {"id": gid(caller.visible()[0])})
    assert absent[0] == absent[1] == b'{"data":{"dataset":null,"node":null}}'
    assert all(body == absent[0] for body in hidden)
    assert shown.json()["data"]["dataset"]["id"] == gid(caller.visible()[0])  # lookups work


def _copies_gateway(
    make_gateway: GatewayFactory, hidden_is_authoritative: bool
) -> tuple[Gateway, Dataset]:
    """A portal republishes the transport bureau's record; one of the two is hidden."""
    shown = catalogue_dataset(
        "portal", "opencopy", TRANSPORT, U, OPEN, L1, "transport", "CSV", identifier="BUS-1"
    )
    hidden = catalogue_dataset(
        "transport",
        "closedoriginal",
        TRANSPORT,
        C,
        NOT_OPEN,
        L3,
        "roads",
        "CSV",
        identifier="BUS-1",
    )
    if not hidden_is_authoritative:
        shown, hidden = replace(shown, source_id="transport"), replace(hidden, source_id="portal")
    by_source: dict[str, list[Dataset]] = {"portal": [], "transport": []}
    for dataset in (shown, hidden):
        by_source[dataset.source_id].append(dataset)
    gateway = make_gateway(by_source, policy=POLICY, push_down=False)
    for connector in gateway.connectors:
        if connector.source_id == "transport":
            connector.settings = replace(connector.settings, authoritative_for=("transport",))
    return gateway, hidden


@pytest.mark.parametrize(
    "hidden_is_authoritative", [True, False], ids=["hidden-original", "hidden-copy"]
)
async def test_also_published_by_never_lists_a_hidden_copy(
    make_gateway: GatewayFactory, hidden_is_authoritative: bool
) -> None:
    gateway, hidden = _copies_gateway(make_gateway, hidden_is_authoritative)
    async with asgi_client(gateway) as client:
        anonymous = await graphql(client, ANONYMOUS, SEARCH, {"first": 10})
        clerk = await graphql(client, CLERK, SEARCH, {"first": 10})
    [edge] = anonymous.json()["data"]["datasets"]["edges"]
    assert edge["node"]["title"] == "opencopy title"
    assert edge["node"]["alsoPublishedBy"] == []
    assert_absent(anonymous.content, [hidden])
    # The department's own member sees both: one dataset, from the authority, one copy.
    [merged] = clerk.json()["data"]["datasets"]["edges"]
    decoded = decode_id(merged["node"]["id"])
    assert decoded is not None and decoded[1] == "transport"
    assert [c["source"]["id"] for c in merged["node"]["alsoPublishedBy"]] == ["portal"]


class FailingAfterHiddenRows(MemoryConnector):
    """The transport platform answers the first page, then fails on every later call."""

    message = "HTTP 503"

    async def search(self, query: SearchQuery) -> SearchPage:
        if self.source_id == "transport" and self.calls.searches:
            self.calls.searches.append(query)
            raise SourceUnavailable(self.message)
        return await super().search(query)

    async def get(self, local_id: str) -> Dataset | None:
        if self.source_id == "transport":
            raise FatalError(self.message)
        return await super().get(local_id)


@by_name
async def test_a_failing_sources_errors_never_name_a_hidden_dataset(
    make_gateway: GatewayFactory, caller: As
) -> None:
    gateway = make_gateway(
        SOURCES, policy=POLICY, push_down=False, connector_class=FailingAfterHiddenRows
    )
    async with asgi_client(gateway) as client:
        first = await graphql(client, caller, SEARCH, {"first": 1, "sort": "TITLE_ASC"})
        cursor = first.json()["data"]["datasets"]["pageInfo"]["endCursor"]
        later = await graphql(
            client, caller, SEARCH, {"first": 1, "after": cursor, "sort": "TITLE_ASC"}
        )
        by_id = [await graphql(client, caller, BY_ID, {"id": gid(d)}) for d in ALL]
    errors = [e for r in (later, *by_id) for e in r.json().get("errors", ())]
    assert [e["extensions"]["source"] for e in later.json()["errors"]] == ["transport"]
    assert {e["extensions"]["source"] for e in errors} == {"transport"}
    for response in (first, later, *by_id):
        assert_absent(response.content, caller.hidden())


@by_name
async def test_while_a_source_fails_a_hidden_id_answers_like_a_nonexistent_one(
    make_gateway: GatewayFactory, caller: As
) -> None:
    missing_id = encode_id("Dataset", "transport", "nosuchdataset")
    for dataset in caller.hidden(SOURCES["transport"]):
        # A fresh gateway each time: both lookups meet the same source state (no breaker).
        gateway = make_gateway(SOURCES, policy=POLICY, connector_class=FailingAfterHiddenRows)
        async with asgi_client(gateway) as client:
            missing = await graphql(client, caller, BY_ID, {"id": missing_id})
            hidden = await graphql(client, caller, BY_ID, {"id": gid(dataset)})
        assert missing.json()["errors"]  # the source did fail
        assert hidden.content == missing.content


class NamesTheRecordItChokedOn(FailingAfterHiddenRows):
    message = "cannot map record 'payroll title' (payroll): bad date"


async def test_a_failing_sources_error_never_names_a_hidden_dataset_even_if_the_connector_does(
    make_gateway: GatewayFactory,
) -> None:
    gateway = make_gateway(
        SOURCES, policy=POLICY, push_down=False, connector_class=NamesTheRecordItChokedOn
    )
    async with asgi_client(gateway) as client:
        first = await graphql(client, ANONYMOUS, SEARCH, {"first": 1, "sort": "TITLE_ASC"})
        cursor = first.json()["data"]["datasets"]["pageInfo"]["endCursor"]
        later = await graphql(
            client, ANONYMOUS, SEARCH, {"first": 1, "after": cursor, "sort": "TITLE_ASC"}
        )
    assert later.json()["errors"]
    assert_absent(later.content, ANONYMOUS.hidden())


class SortlessConnector(MemoryConnector):
    capabilities = replace(MemoryConnector.capabilities, sorts=frozenset({Sort.RELEVANCE}))


async def test_a_source_status_message_never_counts_hidden_datasets(
    make_gateway: GatewayFactory,
) -> None:
    gateway = make_gateway(
        SOURCES, policy=POLICY, push_down=False, connector_class=SortlessConnector
    )
    async with asgi_client(gateway) as client:
        response = await graphql(client, ANONYMOUS, SEARCH, {"first": 10, "sort": "TITLE_ASC"})
    for report in response.json()["data"]["datasets"]["sources"]:
        source = report["source"]["id"]
        everything = len(SOURCES[source])
        visible = len(ANONYMOUS.visible(SOURCES[source]))
        assert visible < everything
        assert str(everything) not in (report["message"] or "")


# -- fields above privilege -------------------------------------------------------------------

FULL = """
fragment Full on Dataset {
  id shareCondition landingPage spatial contactPoint { name email phone }
  distributions { title format accessUrl downloadUrl } fields { name }
}
query Paths($id: ID!) {
  datasets(first: 50) { edges { node { ...Full } } }
  dataset(id: $id) { ...Full }
  node(id: $id) { ...Full }
}
"""


@pytest.mark.parametrize(
    ("caller", "local_id", "use", "masked"),
    [
        (AUDITOR, "sensorfeeds", False, set()),  # discover only
        (AUDITOR, "roadworks", False, set()),
        (ANALYST, "roadworks", True, {"contactPoint", "landingPage"}),  # staff-shared masks
        (ANALYST, "patients", True, set()),  # own department: everything
        (OPERATOR_TRAFFIC, "sensorfeeds", True, set()),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
async def test_fields_above_privilege_are_null_on_search_dataset_and_node(
    make_gateway: GatewayFactory, caller: As, local_id: str, use: bool, masked: set[str]
) -> None:
    [dataset] = [d for d in ALL if d.local_id == local_id]
    gateway = make_gateway(SOURCES, policy=POLICY)
    async with asgi_client(gateway) as client:
        response = await graphql(client, caller, FULL, {"id": gid(dataset)})
    data = response.json()["data"]
    [from_search] = [
        e["node"] for e in data["datasets"]["edges"] if e["node"]["id"] == gid(dataset)
    ]
    for node in (from_search, data["dataset"], data["node"]):
        [dist] = node["distributions"]
        assert (dist["accessUrl"] is not None, dist["downloadUrl"] is not None) == (use, use)
        assert (node["fields"] is not None) == use
        for name in ("contactPoint", "landingPage", "shareCondition", "spatial"):
            assert (node[name] is None) == (name in masked), name
    # The real values are not anywhere in the answer either.
    withheld = []
    if not use:
        withheld += [dist_value(local_id, "access"), dist_value(local_id, "download")]
        withheld.append(f"{local_id}_column")
    if "contactPoint" in masked:
        withheld += [f"{local_id}@mail.example", f"{local_id} desk"]
    if "landingPage" in masked:
        withheld.append(dist_value(local_id, "landing"))
    for value in withheld:
        assert value not in response.text


def dist_value(local_id: str, what: str) -> str:
    return f"http://{local_id}.example/{what}"


# -- cursors, validity and purpose ------------------------------------------------------------


@pytest.mark.parametrize(
    ("issued_to", "used_by"),
    [
        (ANONYMOUS, ANALYST),
        (ANALYST, ANONYMOUS),
        (OPERATOR, OPERATOR_TRAFFIC),
        (OPERATOR_TRAFFIC, OPERATOR_MARKETING),
    ],
    ids=lambda c: c.name,
)
async def test_a_cursor_issued_under_one_grant_set_is_refused_under_another(
    make_gateway: GatewayFactory, issued_to: As, used_by: As
) -> None:
    gateway = make_gateway(SOURCES, policy=POLICY)
    async with asgi_client(gateway) as client:
        first = await graphql(client, issued_to, SEARCH, {"first": 1})
        cursor = first.json()["data"]["datasets"]["pageInfo"]["endCursor"]
        assert first.json()["data"]["datasets"]["pageInfo"]["hasNextPage"]
        same = await graphql(client, issued_to, SEARCH, {"first": 1, "after": cursor})
        other = await graphql(client, used_by, SEARCH, {"first": 1, "after": cursor})
    assert "errors" not in same.json()
    body = other.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_CURSOR"]


ME = "{ me { grants { id inForce } } }"


@pytest.mark.parametrize(
    "caller", [OPERATOR, OPERATOR_TRAFFIC, OPERATOR_MARKETING], ids=lambda c: c.name
)
async def test_an_expired_or_not_yet_valid_grant_gives_nothing(
    make_gateway: GatewayFactory, caller: As
) -> None:
    # Only the expired and future grants would show roadworks and vaccines to the operator.
    only_by_dated_grants = [d for d in ALL if d.local_id in ("roadworks", "vaccines")]
    gateway = make_gateway(SOURCES, policy=POLICY)
    async with asgi_client(gateway) as client:
        me = await graphql(client, caller, ME)
        pages = await page_all(client, caller, first=3)
        by_id = [await graphql(client, caller, BY_ID, {"id": gid(d)}) for d in only_by_dated_grants]
    listed = me.json()["data"]["me"]["grants"]
    in_force = {g["id"] for g in listed if g["inForce"]}
    assert not in_force & {"operator-expired", "operator-not-yet"}
    for response in (*pages, *by_id):
        assert_absent(response.content, only_by_dated_grants)
    assert all(r.json() == {"data": {"dataset": None, "node": None}} for r in by_id)


@pytest.mark.parametrize("caller", [OPERATOR, OPERATOR_MARKETING], ids=lambda c: c.name)
async def test_an_undeclared_or_other_purpose_gives_nothing_of_a_scenario_grant(
    make_gateway: GatewayFactory, caller: As
) -> None:
    [scenario_only] = [d for d in ALL if d.local_id == "sensorfeeds"]
    gateway = make_gateway(SOURCES, policy=POLICY)
    async with asgi_client(gateway) as client:
        me = await graphql(client, caller, ME)
        pages = await page_all(client, caller, first=3)
        by_id = await graphql(client, caller, BY_ID, {"id": gid(scenario_only)})
        declared = await graphql(client, OPERATOR_TRAFFIC, BY_ID, {"id": gid(scenario_only)})
    listed = me.json()["data"]["me"]["grants"]
    assert [g["id"] for g in listed if g["inForce"]] == ["public"]
    for response in (*pages, by_id):
        assert_absent(response.content, [scenario_only])
    assert by_id.json() == {"data": {"dataset": None, "node": None}}
    assert declared.json()["data"]["dataset"]["id"] == gid(scenario_only)  # with the purpose


# -- caching and audit ------------------------------------------------------------------------


async def test_an_answer_computed_for_one_caller_never_serves_another(
    make_gateway: GatewayFactory,
) -> None:
    gateway = make_gateway(SOURCES, policy=POLICY)
    order = [OPERATOR_TRAFFIC, ANONYMOUS, ANALYST, ANONYMOUS, CLERK, OPERATOR, AUDITOR]
    async with asgi_client(gateway) as client:
        for caller in order:
            for _ in range(2):  # a second, identical request may be answered from a cache
                response = await graphql(client, caller, SEARCH, {"first": 50})
                assert_absent(response.content, caller.hidden())
                by_id = await graphql(client, caller, BY_ID, {"id": gid(ALL[1])})
                assert_absent(by_id.content, caller.hidden())


async def test_the_audit_record_lists_only_returned_dataset_ids_and_never_the_api_key(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    gateway = make_gateway(SOURCES, policy=POLICY, push_down=False)
    gateway.audit = AuditLog(tmp_path / "audit.log")
    hidden = ANALYST.hidden()
    async with asgi_client(gateway) as client:
        search = await graphql(client, ANALYST, SEARCH, {"first": 50})
        lookups = [await graphql(client, ANALYST, BY_ID, {"id": gid(d)}) for d in ALL]
    await gateway.aclose()

    records = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert len(records) == 1 + len(ALL)
    returned = [e["node"]["id"] for e in search.json()["data"]["datasets"]["edges"]]
    assert sorted(records[0]["dataset_ids"]) == sorted(
        f"{d.source_id}/{d.local_id}" for d in ALL if gid(d) in returned
    )
    assert records[0]["withheld"] == len(hidden)
    for dataset, response, record in zip(ALL, lookups, records[1:], strict=True):
        shown = response.json()["data"]["dataset"] is not None
        expected = [f"{dataset.source_id}/{dataset.local_id}"] * 2 if shown else []
        assert record["dataset_ids"] == expected  # dataset() and node() each returned it
    log = (tmp_path / "audit.log").read_text()
    assert_absent(log, hidden)
    assert "key-analyst" not in log
    assert hash_api_key("key-analyst")[7:] not in log
