"""``SelectionMemo.selects`` against strawberry's ``Info.selected_fields`` walk, its oracle."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from graphql import FieldNode, FragmentDefinitionNode, OperationDefinitionNode, parse
from strawberry.types.nodes import convert_selections

from gateway.api.selections import SelectionMemo

_DOCUMENTS = {
    "plain": "{ datasets { totalCount facets { themes { value } } } }",
    "absent": "{ datasets { totalCount edges { node { id } } } }",
    "alias": "{ datasets { counts: facets { themes { value } } } }",
    "alias named facets": "{ datasets { facets: totalCount } }",
    "deep": "{ datasets { edges { node { department { facets: name } } } } }",
    "named fragment": "{ datasets { ...F } } fragment F on DatasetConnection { facets { "
    "formats { value } } }",
    "fragment without": "{ datasets { ...F } } fragment F on DatasetConnection { totalCount }",
    "fragment named facets": "{ datasets { ...facets } } fragment facets on DatasetConnection "
    "{ totalCount }",
    "inline fragment": "{ datasets { ... on DatasetConnection { facets { themes { value } } } } }",
    "include true": "query($v: Boolean!) { datasets { facets @include(if: $v) { themes "
    "{ value } } } }",
    "include false": "query($v: Boolean! = false) { datasets { facets @include(if: $v) { "
    "themes { value } } } }",
    "skip literal": "{ datasets { facets @skip(if: true) { themes { value } } } }",
    "twice": "{ datasets { totalCount } datasets { facets { themes { value } } } }",
}


def _info(document: str, variables: dict[str, Any] | None = None) -> Any:
    """What ``selects`` and strawberry's walk read of a resolve info, for the first root
    field (all root fields with its response key, as graphql-core collects them)."""
    parsed = parse(document)
    operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
    }
    roots = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
    key = roots[0].alias or roots[0].name
    nodes = [r for r in roots if (r.alias or r.name).value == key.value]
    return SimpleNamespace(field_nodes=nodes, fragments=fragments, variable_values=variables or {})


def _strawberry_selects(info: Any, name: str) -> bool:
    """The walk ``gateway/api/schema.py`` made over ``Info.selected_fields`` before."""

    def walk(selections: list[Any]) -> bool:
        for selection in selections:
            if getattr(selection, "name", None) == name:
                return True
            if walk(getattr(selection, "selections", None) or []):
                return True
        return False

    return any(walk(f.selections) for f in convert_selections(info, info.field_nodes))


@pytest.mark.parametrize("document", list(_DOCUMENTS.values()), ids=list(_DOCUMENTS))
@pytest.mark.parametrize("name", ["facets", "sources", "themes", "F"])
def test_selects_answers_as_strawberrys_selected_fields(document: str, name: str) -> None:
    memo = SelectionMemo()
    for variables in ({"v": True}, {"v": False}):
        info = _info(document, variables)
        expected = _strawberry_selects(info, name)
        assert memo.selects(info, name) is expected
        assert memo.selects(info, name) is expected  # the memo's answer too


def test_want_facets_follows_the_document_not_include_variables() -> None:
    memo = SelectionMemo()
    info = _info(_DOCUMENTS["include true"])
    assert memo.selects(info, "facets")
    info.variable_values = {"v": False}  # strawberry does not evaluate @include either
    assert memo.selects(info, "facets")


def test_the_memo_is_keyed_by_the_name_asked() -> None:
    memo = SelectionMemo()
    info = _info(_DOCUMENTS["plain"])
    assert memo.selects(info, "facets")
    assert not memo.selects(info, "sources")


def test_the_memo_is_keyed_by_the_field_nodes() -> None:
    memo = SelectionMemo()
    assert memo.selects(_info(_DOCUMENTS["plain"]), "facets")
    assert not memo.selects(_info(_DOCUMENTS["absent"]), "facets")


def test_a_memo_hit_needs_the_same_fragment_definitions() -> None:
    memo = SelectionMemo()
    info = _info(_DOCUMENTS["named fragment"])
    assert memo.selects(info, "facets")
    other = _info(_DOCUMENTS["fragment without"])
    # The same field nodes with another document's fragment F: answered afresh.
    info.fragments = other.fragments
    assert not memo.selects(info, "facets")
