"""The Solr ``fq`` subset: parsing, evaluation and the field map CKAN would index."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.peer.compare import capture_params
from simulators.catalogue import build_city_catalogue
from simulators.solr_fq import (
    And,
    Doc,
    DocSets,
    FqSyntaxError,
    Node,
    Not,
    Or,
    index_fields,
    parse_fq,
)

DOC = {
    "organization": ["transport"],
    "groups": ["transport", "urban-planning"],
    "tags": ["公交", "bus"],
    "res_format": ["CSV", "GeoJSON"],
    "name": ["bus-routes-dongcheng-2024"],
    "license_id": ["cc-by"],
    "metadata_modified": ["2024-05-06T09:10:11.654321Z"],
    "num_resources": ["2"],
    "extras_share_type": ["有条件共享"],
    "extras_open_type": ["无条件开放"],
    "extras_sensitivity": ["L2"],
    "text": ["东城区公交线路\nbus routes"],
}
BARE = {
    "organization": ["health"],
    "groups": [],
    "tags": [],
    "res_format": [],
    "name": ["x"],
    "metadata_modified": ["2019-01-01T00:00:00.000000Z"],
}

CASES = [
    ("", DOC, True),
    ("*:*", BARE, True),
    ("organization:transport", DOC, True),
    ("organization:Transport", DOC, False),  # string fields are case-sensitive
    ('organization:"transport"', DOC, True),
    ("groups:urban-planning", DOC, True),
    ("tags:公交", DOC, True),
    ("res_format:(JSON OR GeoJSON)", DOC, True),
    ('res_format:(JSON OR "XLSX")', DOC, False),
    ("res_format:(JSON GeoJSON)", DOC, False),  # juxtaposition is AND
    ("organization:transport AND res_format:PDF", DOC, False),
    ("organization:transport && res_format:CSV", DOC, True),
    ("organization:health OR tags:bus", DOC, True),
    ("organization:health || tags:metro", DOC, False),
    ("organization:transport res_format:CSV", DOC, True),
    ("organization:transport -res_format:CSV", DOC, False),
    ("+organization:transport -tags:metro", DOC, True),
    ("NOT organization:transport", DOC, False),
    ("!organization:health", DOC, True),
    ("-organization:health", DOC, True),
    ("(organization:health OR organization:transport) AND NOT tags:metro", DOC, True),
    ("organization:health OR organization:transport AND tags:metro", DOC, False),
    ("organization:transport OR organization:health AND tags:metro", DOC, True),
    ("extras_share_type:*", DOC, True),
    ("extras_share_type:*", BARE, False),
    ("extras_share_type:[* TO *]", BARE, False),
    ("*:* -extras_share_type:[* TO *]", BARE, True),
    (
        '(extras_share_type:("无条件共享" OR unconditional) OR (*:* -extras_share_type:[* TO *]))',
        DOC,
        False,
    ),
    (
        '(extras_share_type:("无条件共享" OR unconditional) OR (*:* -extras_share_type:[* TO *]))',
        BARE,
        True,
    ),
    (
        '(extras_share_type:("无条件共享" OR unconditional OR "有条件共享") '
        "OR (*:* -extras_share_type:[* TO *])) AND extras_sensitivity:(L1 OR L2)",
        DOC,
        True,
    ),
    ("metadata_modified:[2024-01-01T00:00:00Z TO *]", DOC, True),
    ("metadata_modified:[* TO 2024-01-01T00:00:00Z]", DOC, False),
    ("metadata_modified:[2024-05-06T09:10:11Z TO 2024-05-06T09:10:12Z}", DOC, True),
    ("metadata_modified:{2024-05-06T09:10:11.654321Z TO *]", DOC, False),
    ("metadata_modified:[2024-05-06T09:10:11.654321Z TO *]", DOC, True),
    ("metadata_modified:[2020-01-01T00:00:00Z TO NOW]", DOC, True),
    ("metadata_modified:[NOW-1DAY/DAY TO NOW+1DAY]", DOC, False),
    ("metadata_modified:[* TO 2019-01-01T00:00:00Z]", BARE, True),
    ("metadata_modified:[* TO 2019-01-01T00:00:00Z}", BARE, False),
    ("num_resources:[2 TO 10]", DOC, True),
    ("num_resources:[10 TO *]", DOC, False),  # numeric, not string, comparison
    ("name:bus-routes-*", DOC, True),
    ("name:metro*", DOC, False),
    ("license_id:cc\\-by", DOC, True),
    ("text:BUS", DOC, True),
    ("text:东城区", DOC, True),
    ("extras_sensitivity:[L1 TO L2]", DOC, True),
    ("tags:(bus AND 公交) AND NOT (groups:health OR groups:education)", DOC, True),
]


@pytest.mark.parametrize(
    ("query", "doc", "expected"), CASES, ids=[f"{i}:{c[0][:40]}" for i, c in enumerate(CASES)]
)
def test_query_matches_as_solr_would(query: str, doc: dict[str, list[str]], expected: bool):
    assert parse_fq(query).matches(doc) is expected


@pytest.mark.parametrize(
    "query",
    [
        "organization:",
        "bus",
        "(organization:transport",
        "organization:transport)",
        'tags:"unterminated',
        "tags:[a TO",
        "tags:[a b]",
        "organization:transport AND",
        "OR tags:x",
        "unknown_field:x",
        "metadata_modified:[2024-01-01 TO *]",
        "metadata_modified:[NOW-1FORTNIGHT TO *]",
        "num_resources:two",
    ],
)
def test_invalid_query_raises_syntax_error_with_message(query: str):
    with pytest.raises(FqSyntaxError) as info:
        parse_fq(query)
    assert str(info.value)


def test_default_field_applies_to_bare_terms():
    node = parse_fq("公交 organization:transport", default_field="text")
    assert node.matches(DOC)
    assert not node.matches({**DOC, "text": ["地铁"]})


def test_index_fields_maps_a_ckan_package_to_solr_fields():
    package = build_city_catalogue().platforms["transport-platform"].packages[0]
    doc = index_fields(package)
    assert doc["organization"] == ["transport"]
    assert doc["id"] == [package["id"]] and doc["name"] == [package["name"]]
    assert doc["tags"] == [t["name"] for t in package["tags"]]
    assert doc["groups"] == [g["name"] for g in package["groups"]]
    assert doc["res_format"] == [r["format"] for r in package["resources"] if r["format"]]
    assert doc["metadata_modified"] == [package["metadata_modified"] + "Z"]
    for extra in package["extras"]:
        assert doc[f"extras_{extra['key']}"] == [extra["value"]]
    assert parse_fq(f'extras_identifier:"{doc["extras_identifier"][0]}"').matches(doc)


def test_index_fields_handles_missing_organization_and_empty_formats():
    portal = build_city_catalogue().platforms["city-open-portal"].packages
    orgless = next(p for p in portal if p["organization"] is None)
    doc = index_fields(orgless)
    assert doc["organization"] == []
    assert parse_fq("-organization:*").matches(doc)


# -- evaluation over sets of positions (DocSets) ------------------------------------------

CITY_DOCS = [
    index_fields(package)
    for platform in build_city_catalogue().platforms.values()
    for package in platform.packages
]
SET_DOCS = [DOC, BARE, *CITY_DOCS[::20]]
LEAVES = [parse_fq(query) for query, _, _ in CASES]


def matching(node: Node, docs: Sequence[Doc] = SET_DOCS) -> frozenset[int]:
    return frozenset(i for i, doc in enumerate(docs) if node.matches(doc))


def test_the_sets_of_every_case_are_the_documents_it_matches():
    docs = [DOC, BARE, *CITY_DOCS]
    sets = DocSets(docs)
    for node in LEAVES:
        assert sets.select(node) == matching(node, docs)
    # Asked again, from what was kept: still the same.
    for node in LEAVES:
        assert sets.select(node) == matching(node, docs)


def test_the_sets_of_the_gateways_own_fq_are_the_documents_it_matches():
    sets = DocSets(CITY_DOCS)
    for before in ("2024-01-01T00:00:00Z", "2100-01-01T00:00:00Z"):
        node = parse_fq(dict(capture_params(20, None))["fq"])
        bounded = And((node, parse_fq(f"metadata_modified:[* TO {before}}}")))
        selected = sets.select(bounded)
        assert selected == matching(bounded, CITY_DOCS)
        assert 0 < len(selected) < len(CITY_DOCS)


trees = st.recursive(
    st.sampled_from(LEAVES),
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=4).map(lambda c: And(tuple(c))),
        st.lists(children, min_size=1, max_size=4).map(lambda c: Or(tuple(c))),
        children.map(Not),
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(trees, min_size=1, max_size=6), st.integers(min_value=1, max_value=8))
def test_sets_equal_matching_whatever_the_nesting_and_whatever_was_kept(
    nodes: list[Node], kept: int
) -> None:
    # A small memo: later queries meet kept, evicted and re-evaluated clauses.
    sets = DocSets(SET_DOCS, kept=kept)
    for node in [*nodes, *nodes]:
        assert sets.select(node) == matching(node)
