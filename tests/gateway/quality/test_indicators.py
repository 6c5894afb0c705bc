"""Quality indicators (gateway.quality.indicators) against the rules of DESIGN.md."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gateway.quality import WEIGHTS, LinkResult, LinkState, ProblemCode, Timeliness, assess
from gateway.quality.indicators import add_months, openness, timeliness, update_period
from schema.model import (
    ContactPoint,
    Dataset,
    Department,
    Distribution,
    Grade,
    OpenType,
    ShareType,
    Temporal,
    UpdateFrequency,
)
from schema.vocab import period_days

MODIFIED = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def complete(**changes: object) -> Dataset:
    """A dataset every check passes (but the link check, unless given)."""
    dataset = Dataset(
        source_id="s",
        local_id="1",
        title="Bus stops",
        identifier="330100/JTJ-00001",
        description="Every bus stop.",
        keywords=("bus",),
        themes=("transport",),
        department=Department("transport", "Transport Bureau", "11330100MB0000001X"),
        issued=MODIFIED - timedelta(days=400),
        modified=MODIFIED,
        update_frequency=UpdateFrequency.MONTHLY,
        share_type=ShareType.UNCONDITIONAL,
        open_type=OpenType.OPEN,
        license="CC-BY-4.0",
        contact_point=ContactPoint("Desk", "desk@example.gov", "555"),
        distributions=(
            Distribution(
                format="CSV",
                media_type="text/csv",
                access_url="http://x.example/a",
                download_url="http://x.example/a.csv",
                byte_size=10,
            ),
        ),
        spatial="Hexi",
        temporal=Temporal(MODIFIED - timedelta(days=365), MODIFIED),
        resource_code="330100/JTJ-00001",
        resource_class="部门信息资源",
        format_class="电子表格",
        share_method="文件下载",
        grade=Grade.GENERAL,
    )
    return replace(dataset, **changes)  # type: ignore[arg-type]


OK = LinkResult(LinkState.OK, MODIFIED, 200)


def codes(dataset: Dataset, now: datetime = MODIFIED, link: LinkResult = OK) -> set[ProblemCode]:
    return {p.code for p in assess(dataset, now=now, link=link).problems}


def test_a_complete_dataset_scores_100_with_no_problem() -> None:
    quality = assess(complete(), now=MODIFIED, link=OK)
    assert quality.problems == ()
    dims = (
        quality.findability,
        quality.accessibility,
        quality.interoperability,
        quality.reusability,
        quality.contextuality,
    )
    assert dims == (100, 100, 100, 100, 100)
    assert quality.score == 100 and quality.openness == 3


def test_the_score_weighs_the_dimensions_as_the_mqa_does() -> None:
    # No keywords, themes, spatial or temporal: findability 0, the rest 100.
    quality = assess(
        complete(keywords=(), themes=(), spatial=None, temporal=None), now=MODIFIED, link=OK
    )
    assert quality.findability == 0
    total = sum(WEIGHTS.values())
    assert quality.score == round(100 * (total - WEIGHTS["findability"]) / total)


@pytest.mark.parametrize(
    ("frequency", "due"),
    [
        (UpdateFrequency.DAILY, MODIFIED + timedelta(days=1.1)),
        (UpdateFrequency.CONT, MODIFIED + timedelta(days=1.1)),
        (UpdateFrequency.HOURLY, MODIFIED + timedelta(days=1.1)),
        (UpdateFrequency.WEEKLY, MODIFIED + timedelta(days=7.7)),
        # Jan 31 + 1 month = Feb 28 (28 days), + 10% of those 28 days.
        (UpdateFrequency.MONTHLY, datetime(2026, 2, 28, 12, tzinfo=UTC) + timedelta(days=2.8)),
        (UpdateFrequency.QUARTERLY, datetime(2026, 4, 30, 12, tzinfo=UTC) + timedelta(days=8.9)),
        (UpdateFrequency.ANNUAL_2, datetime(2026, 7, 31, 12, tzinfo=UTC) + timedelta(days=18.1)),
        (UpdateFrequency.ANNUAL, datetime(2027, 1, 31, 12, tzinfo=UTC) + timedelta(days=36.5)),
    ],
)
def test_expected_by_is_modified_plus_one_period_plus_a_tenth_of_it(
    frequency: UpdateFrequency, due: datetime
) -> None:
    result = timeliness(complete(update_frequency=frequency), now=MODIFIED)
    assert result.status is Timeliness.ON_TIME
    assert result.expected_by == due
    late = timeliness(complete(update_frequency=frequency), now=due + timedelta(days=3, hours=1))
    assert (late.status, late.days_overdue) == (Timeliness.OVERDUE, 3)
    assert timeliness(complete(update_frequency=frequency), now=due).status is Timeliness.ON_TIME


def test_the_grace_is_configurable() -> None:
    weekly = complete(update_frequency=UpdateFrequency.WEEKLY)
    assert timeliness(weekly, MODIFIED, grace_fraction=0.0).expected_by == MODIFIED + timedelta(7)


@pytest.mark.parametrize(
    "frequency", [UpdateFrequency.IRREG, UpdateFrequency.UNKNOWN, UpdateFrequency.NEVER]
)
def test_no_periodic_frequency_gives_unknown(frequency: UpdateFrequency) -> None:
    far = MODIFIED + timedelta(days=3650)
    result = timeliness(complete(update_frequency=frequency), far)
    assert (result.status, result.expected_by, result.days_overdue) == (
        Timeliness.UNKNOWN,
        None,
        None,
    )


# The periods as indicators.py stated them before it read schema.vocab.period_days: the
# oracle for the frequencies it had (calendar months stay calendar months).
STATED_BEFORE = {
    UpdateFrequency.CONT: (0, 1),
    UpdateFrequency.HOURLY: (0, 1),
    UpdateFrequency.DAILY: (0, 1),
    UpdateFrequency.WEEKLY: (0, 7),
    UpdateFrequency.BIWEEKLY: (0, 14),
    UpdateFrequency.MONTHLY: (1, 0),
    UpdateFrequency.BIMONTHLY: (2, 0),
    UpdateFrequency.QUARTERLY: (3, 0),
    UpdateFrequency.ANNUAL_2: (6, 0),
    UpdateFrequency.ANNUAL: (12, 0),
    UpdateFrequency.BIENNIAL: (24, 0),
}


@pytest.mark.parametrize("frequency", list(STATED_BEFORE), ids=lambda f: f.value)
def test_a_period_read_from_the_vocabulary_is_the_one_stated_before(
    frequency: UpdateFrequency,
) -> None:
    assert update_period(frequency) == STATED_BEFORE[frequency]


@pytest.mark.parametrize(
    ("frequency", "period"),
    [
        (UpdateFrequency.WEEKLY_2, (0, 3.5)),
        (UpdateFrequency.MONTHLY_2, (0, 365.25 / 24)),
        (UpdateFrequency.ANNUAL_3, (4, 0)),
        (UpdateFrequency.TRIENNIAL, (36, 0)),
        (UpdateFrequency.DECENNIAL, (120, 0)),
    ],
    ids=lambda v: getattr(v, "value", ""),
)
def test_every_regular_frequency_of_the_vocabulary_is_checked(
    frequency: UpdateFrequency, period: tuple[int, float]
) -> None:
    assert update_period(frequency) == pytest.approx(period)
    result = timeliness(complete(update_frequency=frequency), now=MODIFIED)
    assert result.status is Timeliness.ON_TIME


def test_only_frequencies_without_a_vocabulary_period_are_unknown() -> None:
    unknown = {f for f in UpdateFrequency if update_period(f) is None}
    assert unknown == {f for f in UpdateFrequency if period_days(f) is None} - {
        UpdateFrequency.CONT
    }


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(datetime(2024, 1, 31), 1) == datetime(2024, 2, 29)
    assert add_months(datetime(2025, 11, 30), 3) == datetime(2026, 2, 28)


@pytest.mark.parametrize(
    ("formats", "related", "stars"),
    [
        ((), (), 0),
        (("PDF",), (), 1),
        (("PDF", "XLSX"), (), 2),
        (("XLS", "csv"), (), 3),
        (("JSON",), (), 3),
        (("XML",), (), 3),
        (("TTL",), (), 4),
        (("JSON-LD",), ("330100/JTJ-00002",), 4),
        (("RDF",), ("https://data.example.gov/dataset/2",), 5),
        (("SHP",), (), 1),
    ],
)
def test_openness_stars_come_from_the_best_format(
    formats: tuple[str, ...], related: tuple[str, ...], stars: int
) -> None:
    dataset = complete(
        distributions=tuple(Distribution(format=f) for f in formats), related_resources=related
    )
    assert openness(dataset) == stars


def test_each_problem_code_is_raised_by_its_rule() -> None:
    assert codes(complete(share_type=ShareType.CONDITIONAL)) == {
        ProblemCode.MISSING_SHARE_CONDITION
    }
    assert ProblemCode.MISSING_SHARE_CONDITION not in codes(
        complete(share_type=ShareType.CONDITIONAL, share_condition="Sign an agreement")
    )
    assert codes(complete(share_type=ShareType.NOT_SHARED, open_type=OpenType.NOT_OPEN)) == {
        ProblemCode.MISSING_NOT_SHARED_BASIS
    }
    assert codes(complete(contact_point=ContactPoint(name="Desk"))) == {ProblemCode.MISSING_CONTACT}
    assert codes(complete(contact_point=None)) == {ProblemCode.MISSING_CONTACT}
    assert codes(complete(license="License not specified")) == {ProblemCode.MISSING_LICENSE}
    assert codes(complete(license=None, open_type=OpenType.NOT_OPEN)) == set()
    assert codes(complete(update_frequency=UpdateFrequency.UNKNOWN)) == {
        ProblemCode.MISSING_UPDATE_FREQUENCY
    }
    assert codes(complete(description="  ")) == {ProblemCode.MISSING_DESCRIPTION}
    assert codes(complete(distributions=(Distribution(format="PDF"),))) == {
        ProblemCode.NO_MACHINE_READABLE_FORMAT
    }
    assert codes(complete(), now=MODIFIED + timedelta(days=60)) == {ProblemCode.OVERDUE}
    assert codes(complete(), link=LinkResult(LinkState.BROKEN, MODIFIED, 404)) == {
        ProblemCode.BROKEN_LINK
    }
    assert codes(complete(format_class="光盘")) == {ProblemCode.UNKNOWN_CLASS_VALUE}
    assert codes(complete(share_method="FTP", resource_class="其他资源")) == {
        ProblemCode.UNKNOWN_CLASS_VALUE
    }


def test_problems_name_the_field_and_say_how_late() -> None:
    late = assess(complete(), now=MODIFIED + timedelta(days=60), link=OK)
    (problem,) = late.problems
    assert problem.field == "modified"
    assert str(late.timeliness.days_overdue) in problem.message


def test_a_broken_link_costs_accessibility_and_an_unchecked_one_half_of_it() -> None:
    broken = assess(complete(), now=MODIFIED, link=LinkResult(LinkState.BROKEN, MODIFIED, 500))
    unchecked = assess(complete(), now=MODIFIED)
    assert (broken.accessibility, unchecked.accessibility) == (70, 85)
    assert unchecked.links.state is LinkState.UNCHECKED
