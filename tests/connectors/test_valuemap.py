"""Value maps: platform spellings to canonical values (connectors.sdk._valuemap)."""

from __future__ import annotations

from connectors.sdk._valuemap import ValueMap


def test_known_values_map_ignoring_case_and_spaces() -> None:
    cycles = ValueMap({"每月": "MONTHLY", "Monthly": "MONTHLY", "每年": "ANNUAL"})
    assert cycles("每月") == "MONTHLY"
    assert cycles(" monthly ") == "MONTHLY"
    assert cycles("每年") == "ANNUAL"


def test_unknown_values_become_the_fallback_or_pass_through() -> None:
    with_fallback = ValueMap({"每月": "MONTHLY"}, fallback="UNKNOWN")
    assert with_fallback("每两月") == "UNKNOWN"
    keep = ValueMap({"每月": "MONTHLY"})
    assert keep("WEEKLY") == "WEEKLY"


def test_nothing_maps_to_nothing() -> None:
    values = ValueMap({"": "X"}, fallback="UNKNOWN")
    assert values(None) is None and values("  ") is None


def test_numeric_and_boolean_codes_match_their_text() -> None:
    codes = ValueMap({1: "UNCONDITIONAL", "2": "CONDITIONAL"})
    assert codes(1) == "UNCONDITIONAL" and codes("1") == "UNCONDITIONAL"
    assert codes(2) == "CONDITIONAL"
    flags = ValueMap({True: "OPEN", "false": "NOT_OPEN"})
    assert flags(True) == "OPEN" and flags("TRUE") == "OPEN" and flags(False) == "NOT_OPEN"


def test_case_sensitive_maps_keep_case() -> None:
    strict = ValueMap({"A": "L1", "a": "L2"}, case_sensitive=True)
    assert (strict("A"), strict("a")) == ("L1", "L2")


def test_spellings_list_every_platform_value_of_a_canonical_one() -> None:
    shares = ValueMap(
        {"无条件共享": "UNCONDITIONAL", "1": "UNCONDITIONAL", "有条件共享": "CONDITIONAL"}
    )
    assert shares.spellings("UNCONDITIONAL") == ("无条件共享", "1")
    assert shares.spellings("unconditional") == ("无条件共享", "1")
    assert shares.spellings("NOT_SHARED") == ()
    assert shares.knows("1") and not shares.knows("UNCONDITIONAL")
