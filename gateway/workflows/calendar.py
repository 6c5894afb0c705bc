"""Deadlines in Chinese working days: statutory holidays and make-up working days included.

The holiday data comes from the ``chinesecalendar`` package (imported as
``chinese_calendar``), which follows the State Council's yearly notice; each year's data
arrives with a package release, usually in the preceding November or December. For a year
the installed package does not cover, the calendar falls back to Monday to Friday and logs
a warning once per year: upgrade the package to get that year's holidays.

>>> calendar = WorkingCalendar("Asia/Shanghai")
>>> calendar.add_working_days(date(2026, 9, 30), 1)     # the National Day week is skipped
datetime.date(2026, 10, 8)
>>> calendar.due_at(submitted_at, 10)                   # the moment the 10th day ends
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger("gateway.workflows")

DEFAULT_TIME_ZONE = "Asia/Shanghai"


def _official_workday(day: date) -> bool:
    return bool(chinese_calendar.is_workday(day))


class WorkingCalendar:
    """Working days in ``time_zone`` (``server.time_zone``). ``is_workday`` is the source of
    the official calendar; it raises ``NotImplementedError`` for a year it does not cover."""

    def __init__(
        self,
        time_zone: str = DEFAULT_TIME_ZONE,
        *,
        is_workday: Callable[[date], bool] = _official_workday,
    ) -> None:
        self.zone = ZoneInfo(time_zone)
        self._is_workday = is_workday
        self._warned_years: set[int] = set()

    def today(self, now: datetime) -> date:
        """The calendar day ``now`` falls on in the gateway's time zone."""
        return now.astimezone(self.zone).date()

    def is_working_day(self, day: date) -> bool:
        try:
            return self._is_workday(day)
        except NotImplementedError:
            if day.year not in self._warned_years:
                self._warned_years.add(day.year)
                log.warning(
                    "no official holiday data for %d: counting Monday to Friday as working "
                    "days; upgrade the chinesecalendar package for that year",
                    day.year,
                )
            return day.weekday() < 5

    def add_working_days(self, start: date | datetime, n: int) -> date:
        """The ``n``-th working day after ``start``'s calendar day (``start`` itself does not
        count, whether it is a working day or not). ``n`` must be at least 1."""
        if n < 1:
            raise ValueError(f"n must be at least 1, not {n}")
        day = self.today(start) if isinstance(start, datetime) else start
        remaining = n
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def due_at(self, start: datetime, n: int) -> datetime:
        """The moment the ``n``-th working day after ``start`` ends (midnight that follows
        it, in the time zone): an answer before it is on time, ``overdue`` from it on."""
        last = self.add_working_days(start, n)
        return datetime.combine(last + timedelta(days=1), time(), tzinfo=self.zone)

    def overdue(self, due: datetime, now: datetime) -> bool:
        return now >= due
