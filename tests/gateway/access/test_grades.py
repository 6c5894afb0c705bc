"""GB/T 43697 grades in the one policy point: IMPORTANT is never public, CORE is visible to
its own department only, whatever the public scope or a grant says."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway.access.policy import Caller, Policy
from schema.model import Grade
from tests.gateway.policy_strategies import (
    DEPARTMENTS,
    ROLES,
    as_caller,
    callers,
    catalogues,
    properties,
)
from tests.gateway.reference_policy import Who

NOW = datetime(2025, 1, 5, tzinfo=UTC)

# Everything opened to everyone: the widest public scope and a grant naming every caller.
WIDE_OPEN: dict[str, Any] = {
    "public": {"open_types": ["OPEN", "CONDITIONAL", "NOT_OPEN"], "max_sensitivity": "L4"},
    "callers": [{"id": "c0"}, {"id": "c1"}],
    "grants": [
        {
            "id": "everything",
            "to": {"callers": ["c0", "c1"], "roles": list(ROLES), "departments": list(DEPARTMENTS)},
            "allow": {"max_sensitivity": "L4"},
            "privilege": "use",
        }
    ],
}


@properties(200)
@given(callers, catalogues, st.sampled_from(Grade))
def test_core_data_is_seen_by_its_own_department_only_whatever_a_grant_says(
    who: Who, catalogue: list[Any], grade: Grade
) -> None:
    grant_set = Policy.parse(WIDE_OPEN).grant_set(as_caller(who), None, NOW)
    for dataset in catalogue:
        if dataset.grade is not Grade.CORE:
            continue
        own = (
            who.department is not None
            and dataset.department is not None
            and dataset.department.id == who.department
        )
        assert grant_set.visible(dataset) == own, (who, dataset)
        assert any(f.matches(dataset) for f in grant_set.visibility()) == own


@properties(200)
@given(catalogues)
def test_important_data_is_never_public(catalogue: list[Any]) -> None:
    anonymous = Policy.parse(WIDE_OPEN).grant_set(Caller("anonymous", anonymous=True), None, NOW)
    for dataset in catalogue:
        if dataset.effective_grade is not Grade.GENERAL:
            assert not anonymous.visible(dataset)
            assert not any(f.matches(dataset) for f in anonymous.visibility())


@properties(100)
@given(catalogues)
def test_a_grant_may_reveal_important_data_of_another_department(catalogue: list[Any]) -> None:
    staff = Policy.parse(WIDE_OPEN).grant_set(Caller("c0", roles=("staff",)), None, NOW)
    for dataset in catalogue:
        if dataset.grade is Grade.IMPORTANT and dataset.share_type.value != "NOT_SHARED":
            assert staff.visible(dataset)


def test_a_clauses_derived_fields_leave_its_key_equality_and_replace_alone() -> None:
    from dataclasses import replace

    from connectors.sdk import DatasetFilter
    from gateway.access.policy import Access, Clause, Privilege, grant_key

    clause = Clause("g", DatasetFilter(departments=("transport",)), Privilege.DISCOVER)
    assert "access" not in repr(clause) and "_grades" not in repr(clause)
    assert clause == Clause("g", DatasetFilter(departments=("transport",)), Privilege.DISCOVER)
    assert grant_key((clause,)) == grant_key((replace(clause),))
    assert clause.access == Access(Privilege.DISCOVER, frozenset(), None)
    wider = replace(clause, privilege=Privilege.USE, own_department=True)
    assert wider.access == Access(Privilege.USE, frozenset(), None)  # derived anew
    assert wider.allowed_grades() == tuple(Grade) and clause.allowed_grades() != tuple(Grade)
