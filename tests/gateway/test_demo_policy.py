"""The demo policy's dated grant is relative to the day the demo starts (issue 10)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

import gateway.demo.run as demo_run
from gateway.access.policy import Caller, Policy
from gateway.demo.run import demo_policy

OPERATOR = Caller(id="city-operator", roles=("operator",))
POLICY_FILE = Path(demo_run.__file__).with_name("policy.yaml")


def in_force(policy: Policy, day: date) -> bool:
    moment = datetime.combine(day, time(12), tzinfo=UTC)
    clauses = policy.grant_set(OPERATOR, "traffic-forecasting", moment).clauses
    return "operator-traffic" in [c.grant_id for c in clauses]


@pytest.mark.parametrize("start", [date(2026, 12, 3), date(2027, 1, 2), date(2031, 7, 1)])
def test_the_scenario_grant_is_in_force_on_the_day_the_demo_starts_whatever_the_year(
    start: date,
) -> None:
    policy = demo_policy(today=start)
    assert in_force(policy, start)
    [grant] = [g for g in policy.document.grants if g.id == "operator-traffic"]
    assert (grant.valid_from, grant.valid_until) == (
        date.fromordinal(start.toordinal() - 30),
        date.fromordinal(start.toordinal() + 335),
    )
    assert not in_force(policy, grant.valid_until)  # the period still ends


def test_the_demo_policy_works_today() -> None:
    assert in_force(demo_policy(), datetime.now(UTC).date())


def test_the_shipped_file_carries_no_fixed_period() -> None:
    policy = Policy.load(POLICY_FILE)
    [grant] = [g for g in policy.document.grants if g.id == "operator-traffic"]
    assert (grant.valid_from, grant.valid_until) == (None, None)
