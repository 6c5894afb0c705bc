"""LocalIndex: exact local search, filters, visibility, sorts, paging and facets."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from connectors.sdk import DatasetFilter, FacetName, SearchQuery, Sort
from connectors.sdk._local_index import LocalIndex
from schema.model import (
    Dataset,
    Department,
    Distribution,
    OpenType,
    Sensitivity,
    ShareType,
)

TRANSPORT = Department("transport", "交通运输局")
HEALTH = Department("health", "卫生健康委员会")
ENVIRONMENT = Department("environment", "生态环境局")


def make(local_id: str, title: str, **fields: object) -> Dataset:
    return Dataset(source_id="s", local_id=local_id, title=title, **fields)  # type: ignore[arg-type]


def at(day: int) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day)


BUS = [
    make(
        "bus-routes",
        "河西市公交线路",
        description="全市公交线路。English: Bus routes of Hexi.",
        keywords=("公交", "bus"),
        themes=("transport",),
        department=TRANSPORT,
        modified=at(3),
    ),
    make(
        "bus-stops",
        "东城区公交站点",
        description="公交站点位置。English: bus stops.",
        keywords=("公交",),
        themes=("transport",),
        department=TRANSPORT,
        modified=at(5),
    ),
    make(
        "metro",
        "地铁客流",
        description="地铁每日客流，含换乘公交线路的乘客。English: metro ridership.",
        themes=("transport",),
        department=TRANSPORT,
        modified=at(1),
    ),
    make(
        "hospitals",
        "医疗机构名录",
        description="Hospitals and clinics.",
        themes=("health",),
        department=HEALTH,
        modified=None,
    ),
]


def search(index: LocalIndex, **query: object) -> list[str]:
    page = index.search(SearchQuery(limit=1000, **query))  # type: ignore[arg-type]
    return [d.local_id for d in page.datasets]


# -- free text --------------------------------------------------------------------------


def test_chinese_search_finds_a_word_inside_unsegmented_titles() -> None:
    index = LocalIndex(BUS)
    assert set(search(index, text="公交")) == {"bus-routes", "bus-stops", "metro"}
    # 公交线路 needs all its bigrams (公交 交线 线路): stops have 公交 but not 线路.
    assert set(search(index, text="公交线路")) == {"bus-routes", "metro"}


def test_english_words_match_case_insensitively_and_ignore_plural_endings() -> None:
    index = LocalIndex(BUS)
    assert set(search(index, text="BUS")) == {"bus-routes", "bus-stops"}
    assert search(index, text="route") == ["bus-routes"]
    assert search(index, text="hospital") == ["hospitals"]


def test_every_query_term_must_match() -> None:
    index = LocalIndex(BUS)
    assert search(index, text="公交 stops") == ["bus-stops"]
    assert search(index, text="公交 hospital") == []
    assert search(index, text="nothing-like-this") == []


def test_a_single_chinese_character_matches_words_containing_it() -> None:
    index = LocalIndex(BUS)
    assert set(search(index, text="铁")) == {"metro"}
    assert set(search(index, text="站")) == {"bus-stops"}


def test_title_matches_rank_above_description_matches() -> None:
    index = LocalIndex(BUS)
    ranked = search(index, text="公交线路", sort=Sort.RELEVANCE)
    assert ranked == ["bus-routes", "metro"]


def test_punctuation_only_text_is_no_search() -> None:
    index = LocalIndex(BUS)
    assert len(search(index, text=" ，。!? ")) == len(BUS)


def test_department_names_and_keywords_are_searchable() -> None:
    index = LocalIndex(BUS)
    assert search(index, text="卫生健康") == ["hospitals"]
    assert set(search(index, text="公交", filter=DatasetFilter(keywords=("BUS",)))) == {
        "bus-routes"
    }


# -- filters, visibility, facets against DatasetFilter.matches -------------------------

FORMATS = ("CSV", "JSON", "XLSX", "API", "GeoJSON")
THEMES = ("transport", "health", "environment", "economy")


def random_catalogue(size: int, seed: int = 7) -> list[Dataset]:
    rng = random.Random(seed)
    departments = (TRANSPORT, HEALTH, ENVIRONMENT, None)
    out = []
    for n in range(size):
        out.append(
            make(
                f"id-{n:04d}",
                rng.choice(["公交线路", "空气质量", "医院名录", "Parking lots", "道路拥堵"])
                + f" {rng.randrange(50)}",
                keywords=tuple(rng.sample(["公交", "Bus", "air", "医院", "traffic"], 2)),
                themes=tuple(rng.sample(THEMES, rng.randrange(0, 3))),
                department=rng.choice(departments),
                distributions=tuple(
                    Distribution(format=rng.choice(FORMATS)) for _ in range(rng.randrange(3))
                ),
                share_type=rng.choice(list(ShareType)),
                open_type=rng.choice(list(OpenType)),
                sensitivity=rng.choice(list(Sensitivity)),
                modified=None if rng.random() < 0.1 else at(rng.randrange(-400, 0)),
            )
        )
    return out


def random_filter(rng: random.Random) -> DatasetFilter:
    fields: dict[str, object] = {}
    if rng.random() < 0.4:
        fields["departments"] = tuple(rng.sample(["transport", "health", "environment", "x"], 2))
    if rng.random() < 0.4:
        fields["themes"] = tuple(rng.sample(THEMES, rng.randrange(1, 3)))
    if rng.random() < 0.3:
        fields["keywords"] = (rng.choice(["bus", "公交", "AIR"]),)
    if rng.random() < 0.3:
        fields["formats"] = (rng.choice(["csv", "geojson", "API", "PDF"]),)
    if rng.random() < 0.4:
        fields["share_types"] = tuple(rng.sample(list(ShareType), rng.randrange(1, 3)))
    if rng.random() < 0.4:
        fields["open_types"] = tuple(rng.sample(list(OpenType), rng.randrange(1, 3)))
    if rng.random() < 0.4:
        fields["max_sensitivity"] = rng.choice(list(Sensitivity))
    if rng.random() < 0.3:
        fields["modified_after"] = at(rng.randrange(-400, 0))
    if rng.random() < 0.3:
        fields["modified_before"] = at(rng.randrange(-400, 0))
    return DatasetFilter(**fields)  # type: ignore[arg-type]


def facet_values(name: FacetName, ds: Dataset) -> tuple[str, ...]:
    match name:
        case FacetName.DEPARTMENTS:
            return (ds.department.id,) if ds.department else ()
        case FacetName.THEMES:
            return ds.themes
        case FacetName.FORMATS:
            return ds.formats
        case FacetName.SHARE_TYPES:
            return (ds.share_type.value,)
        case FacetName.OPEN_TYPES:
            return (ds.open_type.value,)


def test_filters_visibility_totals_and_facets_are_exactly_those_of_datasetfilter() -> None:
    catalogue = random_catalogue(600)
    index = LocalIndex(catalogue)
    rng = random.Random(11)
    for _ in range(150):
        query = SearchQuery(
            filter=random_filter(rng),
            any_of=tuple(random_filter(rng) for _ in range(rng.randrange(0, 3))),
            facets=frozenset(FacetName),
            limit=1000,
        )
        expected = [d for d in catalogue if query.filter.matches(d) and query.matches_any_of(d)]
        page = index.search(query)
        assert {d.local_id for d in page.datasets} == {d.local_id for d in expected}
        assert page.total == len(expected)
        assert page.applied == query.filter.active()
        assert page.any_of_applied is True
        for name in FacetName:
            counts = Counter(v for d in expected for v in facet_values(name, d))
            assert page.facets[name] == dict(counts), name


def test_text_and_filters_combine() -> None:
    catalogue = random_catalogue(300)
    index = LocalIndex(catalogue)
    only_transport = DatasetFilter(departments=("transport",))
    found = index.search(SearchQuery(text="公交", filter=only_transport, limit=1000))
    expected = {
        d.local_id
        for d in catalogue
        if only_transport.matches(d) and ("公交" in d.title or "公交" in d.keywords)
    }
    assert {d.local_id for d in found.datasets} == expected
    assert found.total == len(expected)


def test_naive_filter_dates_are_read_as_utc() -> None:
    index = LocalIndex(BUS)
    naive = DatasetFilter(modified_after=datetime(2026, 1, 4, 0, 0, 1))
    assert set(search(index, filter=naive)) == {"bus-stops"}
    exact = DatasetFilter(modified_before=at(3))
    assert set(search(index, filter=exact)) == {"metro"}


def test_only_the_facets_asked_for_are_counted() -> None:
    page = LocalIndex(BUS).search(SearchQuery(facets=frozenset({FacetName.THEMES})))
    assert dict(page.facets) == {FacetName.THEMES: {"transport": 3, "health": 1}}


# -- sorts and paging -------------------------------------------------------------------


def test_modified_orders_put_undated_records_last_and_break_ties_by_id() -> None:
    tied = [*BUS, make("a-tie", "Z", modified=at(5)), make("z-undated", "A")]
    index = LocalIndex(tied)
    assert search(index, sort=Sort.MODIFIED_DESC) == [
        "a-tie",
        "bus-stops",
        "bus-routes",
        "metro",
        "hospitals",
        "z-undated",
    ]
    assert search(index, sort=Sort.MODIFIED_ASC) == [
        "metro",
        "bus-routes",
        "a-tie",
        "bus-stops",
        "hospitals",
        "z-undated",
    ]


def test_title_order_is_code_point_order_like_the_gateway_merge() -> None:
    index = LocalIndex([make("2", "b"), make("1", "B"), make("3", "公交"), make("0", "b")])
    assert search(index, sort=Sort.TITLE_ASC) == ["1", "0", "2", "3"]


def test_relevance_without_text_is_newest_first() -> None:
    index = LocalIndex(BUS)
    assert search(index) == search(index, sort=Sort.MODIFIED_DESC)


@pytest.mark.parametrize("sort", list(Sort), ids=lambda s: s.value)
@pytest.mark.parametrize("text", [None, "公交", "bus"])
def test_paging_walks_every_match_once_in_order(sort: Sort, text: str | None) -> None:
    catalogue = random_catalogue(250, seed=3)
    index = LocalIndex(catalogue)
    whole = index.search(SearchQuery(text=text, sort=sort, limit=1000))
    seen: list[str] = []
    offset = 0
    while True:
        page = index.search(SearchQuery(text=text, sort=sort, offset=offset, limit=7))
        assert page.total == whole.total
        if not page.datasets:
            break
        seen += [d.local_id for d in page.datasets]
        offset += len(page.datasets)
    assert seen == [d.local_id for d in whole.datasets]
    assert len(seen) == len(set(seen)) == whole.total


def test_offset_past_the_end_is_an_empty_page_with_the_total() -> None:
    page = LocalIndex(BUS).search(SearchQuery(offset=50, limit=10))
    assert page.datasets == () and page.total == len(BUS)


# -- lookups ----------------------------------------------------------------------------


def test_get_and_departments() -> None:
    index = LocalIndex(BUS)
    assert index.get("metro") is BUS[2]
    assert index.get("no-such-id") is None
    assert index.departments() == [HEALTH, TRANSPORT]
    assert len(index) == len(BUS)


def test_a_repeated_local_id_keeps_the_first_record() -> None:
    first, second = make("x", "first"), make("x", "second")
    index = LocalIndex([first, second])
    assert len(index) == 1
    assert index.get("x") is first
    assert search(index, text="second") == []
