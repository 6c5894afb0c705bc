"""``DatasetFilter.matches`` (its checks built once per filter) against ``matches_one``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sdk import DatasetFilter, FilterName
from schema.ids import encode_id
from schema.model import (
    Dataset,
    Department,
    Distribution,
    Grade,
    OpenType,
    Sensitivity,
    ShareType,
)

WORDS = ["transport", "Transport", "TRANSPORT", "公交", "health", "straße", "STRASSE", ""]
FORMATS = ["csv", "CSV", "Csv", "json", "API", "", None]
DAYS = st.integers(0, 4).map(lambda d: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=d))
IDS = ["a", "b", "c"]


def words(pool: list[str] = WORDS) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(pool), max_size=3).map(tuple)


datasets = st.builds(
    Dataset,
    source_id=st.sampled_from(["s1", "s2"]),
    local_id=st.sampled_from(IDS),
    title=st.just("t"),
    identifier=st.none() | st.sampled_from(IDS),
    keywords=words(),
    themes=words(),
    department=st.none() | st.sampled_from(IDS).map(lambda d: Department(id=d, name=d)),
    modified=st.none() | DAYS,
    share_type=st.sampled_from(ShareType),
    open_type=st.sampled_from(OpenType),
    sensitivity=st.sampled_from(Sensitivity),
    distributions=st.lists(st.builds(Distribution, format=st.sampled_from(FORMATS))).map(tuple),
    grade=st.none() | st.sampled_from(Grade),
)

filters = st.builds(
    DatasetFilter,
    departments=words(IDS),
    themes=words(),
    keywords=words(),
    formats=words([f for f in FORMATS if f]),
    share_types=st.lists(st.sampled_from(ShareType), max_size=2).map(tuple),
    open_types=st.lists(st.sampled_from(OpenType), max_size=2).map(tuple),
    max_sensitivity=st.none() | st.sampled_from(Sensitivity),
    modified_after=st.none() | DAYS,
    modified_before=st.none() | DAYS,
    identifiers=words(IDS),
    grades=st.lists(st.sampled_from(Grade), max_size=2).map(tuple),
    dataset_ids=st.lists(
        st.sampled_from([encode_id("Dataset", s, i) for s in ("s1", "s2") for i in IDS]),
        max_size=3,
    ).map(tuple),
)


@settings(max_examples=300)
@given(flt=filters, dataset=datasets)
def test_matches_is_every_active_filter_applied_one_by_one(
    flt: DatasetFilter, dataset: Dataset
) -> None:
    expected = all(flt.matches_one(name, dataset) for name in flt.active())
    assert flt.matches(dataset) is expected
    assert flt.matches(dataset) is expected  # the prepared checks are reused


@pytest.mark.parametrize("name", list(FilterName), ids=lambda n: n.value)
@settings(max_examples=100)
@given(flt=filters, dataset=datasets)
def test_each_filter_alone_agrees_with_matches_one(
    name: FilterName, flt: DatasetFilter, dataset: Dataset
) -> None:
    alone = DatasetFilter(**{name.value: getattr(flt, name.value)})
    expected = name not in alone.active() or alone.matches_one(name, dataset)
    assert alone.matches(dataset) is expected


@given(flt=filters)
def test_equal_filters_hash_alike_and_key_one_entry(flt: DatasetFilter) -> None:
    twin = DatasetFilter(**{name.value: getattr(flt, name.value) for name in FilterName})
    assert twin == flt and hash(twin) == hash(flt)
    assert len({flt: 1, twin: 2}) == 1
    changed = replace(flt, themes=(*flt.themes, "§"))
    assert changed != flt and len({flt: 1, changed: 2}) == 2
