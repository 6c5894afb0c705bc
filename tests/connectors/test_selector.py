"""Selectors: dotted paths into decoded JSON (connectors.sdk._selector)."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.sdk._selector import MISSING, Selector, SelectorNotFound

ANSWER = {
    "code": 0,
    "data": {"total": 2, "list": [{"name": "a", "tags": None}, {"name": "b"}], "x.y": 1},
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("code", 0),
        ("data.total", 2),
        ("$.data.total", 2),
        ("data.list[1].name", "b"),
        ("data.list[-1].name", "b"),
        ('data["x.y"]', 1),
        ("data.list[0].tags", None),
        ("$", ANSWER),
    ],
)
def test_a_selector_finds_its_value(path: str, expected: Any) -> None:
    assert Selector(path).find(ANSWER) == expected


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("data.items", "$.data has no key 'items' (keys: list, total, x.y)"),
        ("data.total.value", "$.data.total is a int, not an object"),
        ("data.list[5]", "$.data.list has 2 items, no [5]"),
        ("code[0]", "$.code is a int, not a list"),
    ],
)
def test_a_selector_that_finds_nothing_says_where_it_stopped(path: str, where: str) -> None:
    with pytest.raises(SelectorNotFound) as caught:
        Selector(path).find(ANSWER)
    assert str(caught.value) == f"selector {path!r} found nothing: {where}"
    assert Selector(path).get(ANSWER, MISSING) is MISSING


@pytest.mark.parametrize("path", ["", "a..b", "a.", "a b", "a[x]", "[0", "data.list["])
def test_malformed_selectors_are_refused(path: str) -> None:
    with pytest.raises(ValueError):
        Selector(path)


def test_selectors_compare_by_their_steps() -> None:
    assert Selector("$.a.b") == Selector("a.b")
    assert len({Selector("a.b"), Selector("$.a.b")}) == 1
