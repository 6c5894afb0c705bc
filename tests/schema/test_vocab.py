import pytest

from schema.model import OpenType, Sensitivity, ShareType, UpdateFrequency
from schema.vocab import (
    SHARE_TYPES,
    parse_open_type,
    parse_sensitivity,
    parse_share_type,
    parse_update_frequency,
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
