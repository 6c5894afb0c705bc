"""Choosing the language of titles, descriptions and keywords (schema.lang)."""

from __future__ import annotations

import pytest

from schema import lang
from schema.lang import available, localize, normalize_tag, preferences
from schema.model import Dataset, Translation

BUS = Dataset(
    source_id="transport",
    local_id="1",
    title="公交线路",
    description="全市公交线路与站点。",
    keywords=("公交", "线路"),
    translations=(
        Translation("en", "Bus routes", "Bus routes and stops of the city.", ("bus", "routes")),
        Translation("fr-CA", "Lignes d'autobus"),
    ),
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, ()),
        ("", ()),
        ("en", ("en",)),
        ("zh-CN,zh;q=0.9,en;q=0.8", ("zh-cn", "zh", "en")),
        ("en;q=0.5, fr;q=0.9, *;q=0.1", ("fr", "en")),
        ("de;q=0, en", ("en",)),
        ("en_GB", ("en-gb",)),
        ("<script>, en", ("en",)),
        ("en;q=abc, fr", ("fr",)),
    ],
)
def test_accept_language_preferences(header: str | None, expected: tuple[str, ...]) -> None:
    assert preferences(header) == expected


def test_at_most_eight_preferences() -> None:
    tags = [a + b for a in "abcdef" for b in "ghijklm"]
    assert len(preferences(",".join(tags))) == 8


def test_a_translation_is_served_when_asked_for() -> None:
    text = localize(BUS, ("en",), source_language="zh")
    assert (text.title, text.description, text.keywords, text.language) == (
        "Bus routes",
        "Bus routes and stops of the city.",
        ("bus", "routes"),
        "en",
    )


def test_the_original_wins_when_it_is_the_language_asked_for_first() -> None:
    text = localize(BUS, ("zh-cn", "en"), source_language="zh")
    assert text.title == "公交线路" and text.language == "zh"


def test_without_the_source_language_a_listed_translation_is_served() -> None:
    assert localize(BUS, ("zh", "en")).title == "Bus routes"
    assert localize(BUS, ("zh", "en")).language == "en"


def test_primary_subtags_match_both_ways() -> None:
    assert localize(BUS, ("en-us",)).title == "Bus routes"
    assert localize(BUS, ("fr",)).title == "Lignes d'autobus"


def test_a_partial_translation_falls_back_to_the_original_for_the_rest() -> None:
    text = localize(BUS, ("fr-ca",), source_language="zh")
    assert text.title == "Lignes d'autobus"
    assert text.description == "全市公交线路与站点。"
    assert text.keywords == ("公交", "线路")


def test_an_unpublished_language_gets_what_the_platform_has() -> None:
    text = localize(BUS, ("de", "ja"), source_language="zh")
    assert text.title == "公交线路" and text.language == "zh"
    assert localize(BUS, ()).language is None


def test_the_records_own_language_beats_the_sources() -> None:
    english_record = Dataset(
        source_id="s",
        local_id="2",
        title="Parks",
        language="en",
        translations=(Translation("zh", "公园"),),
    )
    assert localize(english_record, ("en", "zh"), source_language="zh").title == "Parks"
    assert available(english_record, source_language="zh") == ("en", "zh")


def test_available_lists_the_original_first() -> None:
    assert available(BUS, source_language="zh") == ("zh", "en", "fr-ca")
    assert available(BUS) == ("en", "fr-ca")


@pytest.mark.parametrize(("tag", "normal"), [("zh_CN", "zh-cn"), ("EN", "en"), ("e n", None)])
def test_normalize_tag(tag: str, normal: str | None) -> None:
    assert normalize_tag(tag) == normal


def test_a_long_string_is_normalized_alike_but_not_kept() -> None:
    long_tag = "en-" + "-".join(["abcdefgh"] * 10)
    assert lang.normalize_tag(long_tag.upper()) == long_tag
    assert lang.normalize_tag("x" * 100) is None
    kept = lang._normalize_kept.cache_info().currsize
    lang.normalize_tag("Y" * 100)
    assert lang._normalize_kept.cache_info().currsize == kept
