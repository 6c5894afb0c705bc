"""Hypothesis strategies for policies, callers, moments and catalogues, and test settings.

Shared by ``test_policy_properties`` and ``test_federation_properties``. Policies are the
raw mappings a ``policy.yaml`` parses to, valid by construction; ``reference_policy``
reads the same mapping.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from gateway.access.policy import Caller
from schema.model import Dataset, Department, Grade, OpenType, Sensitivity, ShareType
from tests.gateway.reference_policy import MASKABLE, Seen, Who


def properties(max_examples: int, *, shrink: bool = True) -> settings:
    """Derandomized, no example database: CI runs the same examples every time.

    ``shrink=False`` for a property known to fail: its minimal example is given with
    ``@example`` (it fails first, and fast); the full run only happens once it is fixed.
    ``PROPERTY_EXAMPLES=N`` runs N random (not derandomized) examples of each, to hunt.
    """
    phases = tuple(Phase) if shrink else (Phase.explicit, Phase.reuse, Phase.generate)
    hunt = int(os.environ.get("PROPERTY_EXAMPLES", "0"))
    return settings(
        max_examples=hunt or max_examples,
        phases=phases,
        derandomize=not hunt,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


# Small vocabularies, so that grants often name the caller and match the datasets.
DEPARTMENTS = ("d0", "d1", "d2")
THEMES = ("transport", "health", "env")
ROLES = ("staff", "operator")
CALLER_IDS = ("c0", "c1")
PURPOSES = ("p0", "p1")
LEVELS = tuple(s.value for s in Sensitivity)
DAY0 = date(2025, 1, 1)  # validity dates and "now" fall in the ten days after it

# -- strategies ----------------------------------------------------------------------------


def _some(values: Sequence[Any]) -> st.SearchStrategy[list[Any]]:
    """A non-empty subset: an omitted key means "no constraint", an empty list is tested apart."""
    return st.lists(st.sampled_from(values), min_size=1, max_size=len(values), unique=True)


_days = st.integers(0, 9).map(lambda n: DAY0 + timedelta(days=n))


def _with_validity(grant: dict[str, Any], start: date | None, end: date | None) -> dict[str, Any]:
    if start is not None and end is not None and end <= start:
        start, end = end, start + timedelta(days=1)
    if start is not None:
        grant["valid_from"] = start
    if end is not None:
        grant["valid_until"] = end
    return grant


_grant = st.builds(
    _with_validity,
    st.fixed_dictionaries(
        {
            "to": st.fixed_dictionaries(
                {},
                optional={
                    "callers": _some(CALLER_IDS),
                    "roles": _some(ROLES),
                    "departments": _some(DEPARTMENTS),
                },
            ).filter(bool),
            "allow": st.fixed_dictionaries(
                {},
                optional={
                    "departments": _some(DEPARTMENTS),
                    "themes": _some(THEMES),
                    "share_types": _some([s.value for s in ShareType]),
                    "open_types": _some([o.value for o in OpenType]),
                    "max_sensitivity": st.sampled_from(LEVELS),
                },
            ),
        },
        optional={
            "scenarios": _some(PURPOSES),
            "privilege": st.sampled_from(["use", "discover"]),
            "mask": st.lists(st.sampled_from(sorted(MASKABLE)), unique=True),
        },
    ),
    st.none() | _days,
    st.none() | _days,
)


def make_policy(public: dict[str, Any], grant_list: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "public": public,
        "callers": [{"id": c} for c in CALLER_IDS],
        "grants": [{**g, "id": f"g{i}"} for i, g in enumerate(grant_list)],
    }


policies = st.builds(
    make_policy,
    st.fixed_dictionaries(
        {},
        optional={
            "open_types": _some([o.value for o in OpenType]),
            "max_sensitivity": st.sampled_from(LEVELS),
            "privilege": st.sampled_from(["use", "discover"]),
        },
    ),
    st.lists(_grant, max_size=4),
)

callers = st.just(Who("anonymous", anonymous=True)) | st.builds(
    Who,
    id=st.sampled_from(CALLER_IDS),
    department=st.none() | st.sampled_from(DEPARTMENTS),
    roles=st.lists(st.sampled_from(ROLES), unique=True, max_size=2).map(tuple),
)
purposes = st.none() | st.sampled_from([*PURPOSES, "other"])
moments = st.builds(
    lambda days, minutes: datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=days, minutes=minutes),
    st.integers(-1, 10),
    st.sampled_from([0, 1, 719, 1439]),  # both ends of a day: valid_until is exclusive
)


def as_caller(who: Who) -> Caller:
    return Caller(who.id, who.department, who.roles, who.anonymous, who.operator)


# -- grants issued by the workflows (the store's rows, as raw mappings) ----------------------

OPERATORS = ("op0", "op1")
DATASET_KEYS = tuple(f"s/s-{i}" for i in range(12))  # the ids catalogues give


def _period(start: date, length: int) -> tuple[date, date]:
    return start, start + timedelta(days=length)


_periods = st.builds(_period, _days, st.integers(0, 4))

access_requests = st.builds(
    lambda fixed, period: {**fixed, "valid_from": period[0], "valid_until": period[1]},
    st.fixed_dictionaries(
        {
            "state": st.sampled_from(["APPROVED", "APPROVED", "REVOKED", "EXPIRED"]),
            "requester": st.sampled_from(CALLER_IDS),
            "purpose": st.sampled_from(PURPOSES),
            "datasets": _some(DATASET_KEYS),
            "privilege": st.sampled_from(["use", "discover"]),
            "mask": st.lists(st.sampled_from(sorted(MASKABLE)), unique=True),
        }
    ),
    _periods,
)
agreements = st.builds(
    lambda fixed, period: {**fixed, "valid_from": period[0], "valid_until": period[1]},
    st.fixed_dictionaries(
        {
            "status": st.sampled_from(["ACTIVE", "ACTIVE", "SUSPENDED", "TERMINATED", "EXPIRED"]),
            "operator": st.sampled_from(OPERATORS),
            "mode": st.sampled_from(["OVERALL", "SECTOR", "SCENARIO"]),
            "departments": st.lists(st.sampled_from(DEPARTMENTS), unique=True, max_size=2),
            "themes": st.lists(st.sampled_from(THEMES), unique=True, max_size=2),
            "datasets": st.lists(st.sampled_from(DATASET_KEYS), unique=True, max_size=3),
            "max_sensitivity": st.sampled_from(LEVELS),
            "scenarios": st.lists(st.sampled_from(PURPOSES), unique=True, max_size=2),
        }
    ),
    _periods,
)
issued_grants = st.fixed_dictionaries(
    {
        "requests": st.lists(access_requests, max_size=4),
        "agreements": st.lists(agreements, max_size=3),
    }
)
workflow_callers = st.builds(
    Who,
    id=st.sampled_from(CALLER_IDS),
    department=st.none() | st.sampled_from(DEPARTMENTS),
    roles=st.lists(st.sampled_from(ROLES), unique=True, max_size=2).map(tuple),
    operator=st.none() | st.sampled_from(OPERATORS),
)


@dataclass(frozen=True)
class Traits:
    """What varies between generated datasets; ids and titles are made unique from it."""

    department: str | None
    themes: tuple[str, ...]
    share_type: ShareType
    open_type: OpenType
    sensitivity: Sensitivity
    modified_day: int | None
    title: str
    identifier: str | None = None
    grade: Grade | None = None

    def dataset(self, source: str, index: int) -> Dataset:
        return Dataset(
            source_id=source,
            local_id=f"{source}-{index}",
            title=f"{self.title} {source}-{index}",
            identifier=self.identifier,
            department=Department(self.department, self.department.upper())
            if self.department
            else None,
            themes=self.themes,
            share_type=self.share_type,
            open_type=self.open_type,
            sensitivity=self.sensitivity,
            grade=self.grade,
            modified=None
            if self.modified_day is None
            else datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=self.modified_day),
        )


traits = st.builds(
    Traits,
    department=st.none() | st.sampled_from(DEPARTMENTS),
    themes=st.lists(st.sampled_from(THEMES), unique=True, max_size=2).map(tuple),
    share_type=st.sampled_from(ShareType),
    open_type=st.sampled_from(OpenType),
    sensitivity=st.sampled_from(Sensitivity),
    modified_day=st.none() | st.integers(0, 6),
    title=st.sampled_from("abcd"),
    grade=st.none() | st.sampled_from(Grade),
)
catalogues = st.lists(traits, min_size=1, max_size=12).map(
    lambda ts: [t.dataset("s", i) for i, t in enumerate(ts)]
)


def known_failure(reason: str) -> pytest.MarkDecorator:
    """A property the code breaks today: kept visible, and failing loudly once fixed."""
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)


def as_seen(access: Any) -> Seen | None:
    return None if access is None else Seen(access.privilege.value, access.mask)
