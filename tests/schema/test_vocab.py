import pytest

from schema.model import OpenType, Sensitivity, ShareType, UpdateFrequency
from schema.vocab import (
    FREQUENCY_PERIOD_DAYS,
    SHARE_TYPES,
    frequency_for_days,
    frequency_for_duration,
    parse_open_type,
    parse_sensitivity,
    parse_share_type,
    parse_update_frequency,
    parse_update_frequency_days,
    period_days,
    raw_values,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("实时", UpdateFrequency.CONT),
        ("每日", UpdateFrequency.DAILY),
        ("每周", UpdateFrequency.WEEKLY),
        ("每月", UpdateFrequency.MONTHLY),
        ("每季度", UpdateFrequency.QUARTERLY),
        ("每半年", UpdateFrequency.ANNUAL_2),
        ("每年", UpdateFrequency.ANNUAL),
        ("不定期", UpdateFrequency.IRREG),
        (
            "http://publications.europa.eu/resource/authority/frequency/MONTHLY",
            UpdateFrequency.MONTHLY,
        ),
        ("R/P1M", UpdateFrequency.MONTHLY),
    ],
)
def test_update_cycles_map_to_dcat_frequencies(raw: str, expected: UpdateFrequency) -> None:
    assert parse_update_frequency(raw) is expected


def test_access_levels_map_to_open_types() -> None:
    assert parse_open_type("public") is OpenType.OPEN
    assert parse_open_type("restricted public") is OpenType.CONDITIONAL
    assert parse_open_type("non-public") is OpenType.NOT_OPEN
    assert (
        parse_open_type("http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC")
        is OpenType.NOT_OPEN
    )
    assert parse_open_type("有条件开放") is OpenType.CONDITIONAL


def test_chinese_share_types_and_levels() -> None:
    assert parse_share_type(" 无条件共享 ") is ShareType.UNCONDITIONAL
    assert parse_share_type("不予共享") is ShareType.NOT_SHARED
    assert parse_sensitivity("二级") is Sensitivity.L2


def test_unknown_values_are_none_so_source_defaults_apply() -> None:
    assert parse_share_type("maybe") is None
    assert parse_open_type("") is None
    assert parse_sensitivity(None) is None


def test_raw_values_lists_every_spelling() -> None:
    assert set(raw_values(SHARE_TYPES, ShareType.UNCONDITIONAL)) == {"unconditional", "无条件共享"}


def test_sensitivity_is_ordered() -> None:
    assert Sensitivity.L1 < Sensitivity.L2 <= Sensitivity.L2 < Sensitivity.L4


# -- unrecognised spellings: the least open class, never the source default ---------------


@pytest.mark.parametrize(
    ("read", "raw", "default", "expected"),
    [
        ("share", "不共享", ShareType.UNCONDITIONAL, ShareType.NOT_SHARED),
        ("open", "不开放", OpenType.OPEN, OpenType.NOT_OPEN),
        ("sensitivity", "L5", Sensitivity.L1, Sensitivity.L4),
        ("share", None, ShareType.UNCONDITIONAL, ShareType.UNCONDITIONAL),  # not stated
        ("open", "  ", OpenType.OPEN, OpenType.OPEN),  # blank: not stated
        ("sensitivity", "二级", Sensitivity.L4, Sensitivity.L2),  # known
    ],
)
def test_an_unknown_class_is_the_least_open_and_an_absent_one_the_default(
    read: str, raw: object, default: object, expected: object, caplog: pytest.LogCaptureFixture
) -> None:
    from schema import vocab

    reader = {
        "share": vocab.share_type_or,
        "open": vocab.open_type_or,
        "sensitivity": vocab.sensitivity_or,
    }[read]
    assert reader(raw, default, source=f"test-{read}") is expected  # type: ignore[operator]
    unknown = raw in ("不共享", "不开放", "L5")
    assert (repr(raw) in caplog.text) is unknown  # reported, for the operator


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # English words real platforms write (Socrata, CKAN, open.canada.ca...).
        ("Annually", UpdateFrequency.ANNUAL),
        ("Semi-annually", UpdateFrequency.ANNUAL_2),
        ("semi_annually", UpdateFrequency.ANNUAL_2),
        ("Twice weekly", UpdateFrequency.WEEKLY_2),
        ("As needed", UpdateFrequency.IRREG),
        ("as_needed", UpdateFrequency.IRREG),
        ("not_planned", UpdateFrequency.NEVER),
        ("continual", UpdateFrequency.CONT),
        # ISO 8601 durations, with and without R/ (fractions too).
        ("P1D", UpdateFrequency.DAILY),
        ("R/P1D", UpdateFrequency.DAILY),
        ("R/P3.5D", UpdateFrequency.WEEKLY_2),
        ("P0.5W", UpdateFrequency.WEEKLY_2),
        ("R/P0.33W", UpdateFrequency.WEEKLY_3),
        ("R/P0.5M", UpdateFrequency.MONTHLY_2),
        ("R/P4M", UpdateFrequency.ANNUAL_3),
        ("P1Y", UpdateFrequency.ANNUAL),
        ("R/P10Y", UpdateFrequency.DECENNIAL),
        ("R/PT1H", UpdateFrequency.HOURLY),
        ("R/PT0.1S", UpdateFrequency.CONT),
        ("R/P0,5W", UpdateFrequency.WEEKLY_2),
        (
            "http://publications.europa.eu/resource/authority/frequency/WEEKLY_2",
            UpdateFrequency.WEEKLY_2,
        ),
    ],
)
def test_frequencies_real_platforms_write(raw: str, expected: UpdateFrequency) -> None:
    assert parse_update_frequency(raw) is expected


@pytest.mark.parametrize("raw", ["P300D", "P5D", "R/P", "PT", "whenever", "R/P1Q", "", "  "])
def test_periods_no_frequency_has_are_unknown(raw: str) -> None:
    assert parse_update_frequency(raw) is None


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ("-2", UpdateFrequency.IRREG),  # HDX "as needed"
        ("-1", UpdateFrequency.NEVER),
        ("0", UpdateFrequency.CONT),  # HDX "live"
        ("1", UpdateFrequency.DAILY),
        ("7", UpdateFrequency.WEEKLY),
        ("14", UpdateFrequency.BIWEEKLY),
        ("30", UpdateFrequency.MONTHLY),
        ("90", UpdateFrequency.QUARTERLY),
        ("120", UpdateFrequency.ANNUAL_3),
        ("180", UpdateFrequency.ANNUAL_2),
        ("365", UpdateFrequency.ANNUAL),
        (365, UpdateFrequency.ANNUAL),
        ("730", UpdateFrequency.BIENNIAL),
        ("300", None),  # HDX "every ten months": no DCAT frequency
        ("Every year", None),
        ("monthly", UpdateFrequency.MONTHLY),  # not a number: the vocabulary reads it
    ],
)
def test_hdx_update_frequency_days(days: object, expected: UpdateFrequency | None) -> None:
    assert parse_update_frequency_days(days) is expected


def test_a_dcat_duration_description_maps_by_its_length() -> None:
    assert frequency_for_duration(years=1) is UpdateFrequency.ANNUAL
    assert frequency_for_duration(months=3) is UpdateFrequency.QUARTERLY
    assert frequency_for_duration(seconds=7 * 86400) is UpdateFrequency.WEEKLY
    assert frequency_for_duration() is None


def test_every_regular_frequency_parses_back_from_its_own_period() -> None:
    for frequency, days in FREQUENCY_PERIOD_DAYS.items():
        assert frequency_for_days(days) is frequency
        assert period_days(frequency) == days
    assert period_days(UpdateFrequency.IRREG) is None
