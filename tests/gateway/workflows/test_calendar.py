from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

from gateway.workflows import WorkingCalendar

calendar = WorkingCalendar("Asia/Shanghai")


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # National Day and Mid-Autumn 2026: Oct 1-7 off, Saturday Oct 10 is a make-up day.
        (date(2026, 9, 30), 1, date(2026, 10, 8)),
        (date(2026, 9, 30), 3, date(2026, 10, 10)),
        (date(2026, 9, 30), 4, date(2026, 10, 12)),
        # Spring Festival 2026: Saturday Feb 14 is a make-up working day, Feb 15-23 off.
        (date(2026, 2, 13), 1, date(2026, 2, 14)),
        (date(2026, 2, 13), 2, date(2026, 2, 24)),
        # An ordinary week: the weekend is skipped, the start day does not count.
        (date(2026, 3, 5), 1, date(2026, 3, 6)),
        (date(2026, 3, 6), 1, date(2026, 3, 9)),
        (date(2026, 3, 7), 5, date(2026, 3, 13)),
    ],
)
def test_working_days_skip_holidays_and_count_make_up_days(
    start: date, n: int, expected: date
) -> None:
    assert calendar.add_working_days(start, n) == expected


def test_a_moment_counts_from_its_day_in_the_time_zone() -> None:
    # 2026-09-30 17:00 UTC is already October 1st in Shanghai (a holiday).
    late = datetime(2026, 9, 30, 17, 0, tzinfo=UTC)
    assert calendar.today(late) == date(2026, 10, 1)
    assert calendar.add_working_days(late, 1) == date(2026, 10, 8)
    assert WorkingCalendar("UTC").add_working_days(late, 1) == date(2026, 10, 8)
    assert WorkingCalendar("UTC").today(late) == date(2026, 9, 30)


def test_due_at_is_the_end_of_the_last_working_day_and_overdue_from_then() -> None:
    submitted = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    due = calendar.due_at(submitted, 1)
    assert due == datetime(2026, 10, 8, 16, 0, tzinfo=UTC)  # Oct 9 00:00 in Shanghai
    assert not calendar.overdue(due, datetime(2026, 10, 8, 15, 59, tzinfo=UTC))
    assert calendar.overdue(due, due)


def test_a_year_without_data_falls_back_to_monday_to_friday_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fallback = WorkingCalendar(is_workday=_official)
    with caplog.at_level(logging.WARNING, logger="gateway.workflows"):
        # Friday 2099-01-02 + 1 working day: Monday (no holiday data for 2099).
        assert fallback.add_working_days(date(2099, 1, 2), 1) == date(2099, 1, 5)
        assert fallback.add_working_days(date(2099, 1, 5), 2) == date(2099, 1, 7)
    warnings = [r for r in caplog.records if "2099" in r.getMessage()]
    assert len(warnings) == 1  # once per year
    assert "Monday to Friday" in warnings[0].getMessage()


def test_the_installed_package_really_raises_for_a_year_it_does_not_cover() -> None:
    # The fallback above relies on this behaviour of chinese_calendar.
    with pytest.raises(NotImplementedError):
        _official(date(2099, 1, 2))
    assert WorkingCalendar().add_working_days(date(2099, 1, 2), 1) == date(2099, 1, 5)


def test_n_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        calendar.add_working_days(date(2026, 3, 5), 0)


def _official(day: date) -> bool:
    import chinese_calendar

    return bool(chinese_calendar.is_workday(day))
