"""Property tests: the grant fingerprint the response cache shares answers on."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway.access import GrantFingerprints, Policy, grant_fingerprint
from schema.model import Dataset
from tests.gateway.access.test_issued_grant_properties import as_issued
from tests.gateway.policy_strategies import (
    CALLER_IDS,
    DAY0,
    DEPARTMENTS,
    OPERATORS,
    PURPOSES,
    as_caller,
    callers,
    catalogues,
    issued_grants,
    policies,
    properties,
    workflow_callers,
)
from tests.gateway.reference_policy import Who

days = st.integers(-1, 10).map(lambda n: DAY0 + timedelta(days=n))
purposes = st.none() | st.sampled_from([*PURPOSES, "other"])
askers = callers | workflow_callers


def _noon(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)


def _near(one: tuple[Any, str | None, date]) -> st.SearchStrategy[tuple[Any, str | None, date]]:
    """Another request, often alike in all but one thing (the id, a role, the purpose,
    the day...): where a fingerprint that overlooked something would collide."""
    who, purpose, day = one
    variants = st.one_of(
        st.builds(lambda w: (w, purpose, day), askers),
        st.builds(lambda i: (replace(who, id=i), purpose, day), st.sampled_from(CALLER_IDS)),
        st.builds(lambda p: (who, p, day), purposes),
        st.builds(lambda d: (who, purpose, d), days),
        st.builds(lambda r: (replace(who, roles=r), purpose, day), st.sampled_from(ROLE_SETS)),
        st.builds(lambda o: (replace(who, operator=o), purpose, day), st.sampled_from(OPERATORS)),
        st.builds(lambda d: (replace(who, department=d), purpose, day), st.sampled_from(DEPTS)),
    )
    return variants


ROLE_SETS = [(), ("staff",), ("operator",), ("staff", "operator")]
DEPTS = [None, *DEPARTMENTS]


@properties(150)
@given(policies, issued_grants, st.tuples(askers, purposes, days), st.data(), catalogues)
def test_equal_fingerprints_decide_every_dataset_alike(
    raw: dict[str, Any],
    issued: dict[str, Any],
    one: tuple[Any, str | None, date],
    data: st.DataObject,
    catalogue: list[Dataset],
) -> None:
    """An answer kept for one request may be served to another only on an equal
    fingerprint: then every dataset is decided alike (visible or not, privilege, mask,
    data items), and the callers are alike in department, roles, operator and purpose."""
    other = data.draw(_near(one))
    policy, loaded = Policy.parse(raw), as_issued(issued)
    sets, prints = [], []
    for who, purpose, day in (one, other):
        caller = as_caller(who)
        grant_set = policy.grant_set(caller, purpose, _noon(day), loaded, day)
        sets.append(grant_set)
        prints.append(grant_fingerprint(grant_set, caller, purpose))
    if prints[0] == prints[1]:
        for dataset in catalogue:
            assert sets[0].access(dataset) == sets[1].access(dataset), dataset
        assert sets[0].clauses == sets[1].clauses
        a, b = as_caller(one[0]), as_caller(other[0])
        assert (a.anonymous, a.department, set(a.roles), a.operator, one[1]) == (
            b.anonymous,
            b.department,
            set(b.roles),
            b.operator,
            other[1],
        )


@properties(50)
@given(policies, issued_grants, askers, purposes, st.lists(days, min_size=1, max_size=6))
def test_the_memo_gives_the_fingerprint_computed_afresh(
    raw: dict[str, Any],
    issued: dict[str, Any],
    who: Any,
    purpose: str | None,
    moments: list[date],
) -> None:
    """Remembered per day, policy and issued grants: never a stale fingerprint when the
    day moves (an expiry), the issued grants change (a revocation) or the policy does."""
    policies_seen = [Policy.parse(raw), Policy.parse(raw)]  # a reload: a new object
    first = as_issued(issued)
    revoked = replace(first, revision=first.revision + 1, requests={}, agreements={})
    memo = GrantFingerprints()
    caller = as_caller(who)
    for i, day in enumerate(moments * 2):
        policy = policies_seen[i % 2]
        loaded = first if (i // 2) % 2 == 0 else revoked
        expected = grant_fingerprint(
            policy.grant_set(caller, purpose, _noon(day), loaded, day), caller, purpose
        )
        assert memo.of(policy, caller, purpose, _noon(day), loaded, day) == expected


def test_callers_alike_in_grants_but_not_in_roles_get_different_fingerprints() -> None:
    policy = Policy.default()
    now = _noon(DAY0)
    staff = as_caller(Who("c0", department="d0", roles=("staff",)))
    plain = replace(staff, roles=())
    assert policy.grant_set(staff, None, now).key == policy.grant_set(plain, None, now).key
    assert grant_fingerprint(policy.grant_set(staff, None, now), staff, None) != (
        grant_fingerprint(policy.grant_set(plain, None, now), plain, None)
    )
