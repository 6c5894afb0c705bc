"""``built_on_read``: fields left to builders are built on first read, once."""

from __future__ import annotations

import pytest

from schema import graphql_types as gql
from schema.built_on_read import built_on_read


def _page(calls: list[str]) -> gql.PageInfo:
    def seal() -> str:
        calls.append("sealed")
        return "cursor"

    return built_on_read(
        gql.PageInfo,
        {"has_next_page": True, "has_previous_page": False, "end_cursor": None},
        {"start_cursor": seal},
    )


def test_a_field_left_to_its_builder_is_built_on_first_read_and_kept() -> None:
    calls: list[str] = []
    page = _page(calls)
    assert calls == []
    assert page.start_cursor == "cursor"
    assert page.start_cursor == "cursor"
    assert calls == ["sealed"]
    assert vars(page)["start_cursor"] == "cursor"


def test_an_instance_made_the_ordinary_way_keeps_its_values() -> None:
    page = gql.PageInfo(
        has_next_page=False, has_previous_page=False, start_cursor="given", end_cursor=None
    )
    assert page.start_cursor == "given"


def test_a_field_with_neither_value_nor_builder_is_an_attribute_error() -> None:
    page = built_on_read(gql.PageInfo, {"has_next_page": True}, {})
    with pytest.raises(AttributeError, match="start_cursor"):
        _ = page.start_cursor


def test_the_connection_fields_left_to_builders_are_declared_on_read() -> None:
    facets = gql.DatasetFacets(departments=[], themes=[], formats=[], share_types=[], open_types=[])
    connection = built_on_read(
        gql.DatasetConnection, {}, {"facets": lambda: facets, "sources": list}
    )
    assert connection.facets is facets
    assert connection.sources == []
