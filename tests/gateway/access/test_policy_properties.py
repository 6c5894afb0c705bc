"""Property-based tests: the policy against a reference written from DESIGN.md.

Random policies (valid by construction), callers, purposes, dates and catalogues are
checked against ``reference_policy``, which shares no code with ``gateway/policy.py``.
Every test is derandomized and keeps no example database (see ``policy_strategies``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gateway.access.policy import Caller, Policy
from gateway.config import ConfigError
from schema import graphql_types as gql
from schema.model import (
    ContactPoint,
    DataField,
    Dataset,
    Department,
    Distribution,
    OpenType,
    Sensitivity,
    ShareType,
)
from tests.gateway.policy_strategies import (
    PURPOSES,
    Traits,
    as_caller,
    as_seen,
    callers,
    catalogues,
    make_policy,
    moments,
    policies,
    properties,
    purposes,
)
from tests.gateway.reference_policy import MASKABLE, Who, reference_access

# -- the policy against the reference -------------------------------------------------------


def _boundaries(raw: dict[str, Any]) -> list[datetime]:
    """The first and last minute of each day a grant starts or stops being in force."""
    moments = []
    for grant in raw["grants"]:
        for key in ("valid_from", "valid_until"):
            if key in grant:
                start = datetime.combine(grant[key], datetime.min.time(), UTC)
                moments += [start, start - timedelta(minutes=1)]
    return moments


@properties(150)
@given(policies, st.lists(callers, min_size=2, max_size=2), moments, catalogues, st.data())
def test_grant_set_access_equals_the_reference_for_every_dataset(
    raw: dict[str, Any],
    drawn: list[Who],
    now: datetime,
    catalogue: list[Dataset],
    data: st.DataObject,
) -> None:
    policy = Policy.parse(raw)
    if _boundaries(raw):
        now = data.draw(st.sampled_from([now, *_boundaries(raw)]))
    for who in [Who("anonymous", anonymous=True), *drawn]:
        for purpose in (None, *PURPOSES, "other"):
            grant_set = policy.grant_set(as_caller(who), purpose, now)
            for dataset in catalogue:
                expected = reference_access(raw, who, purpose, now, dataset)
                assert as_seen(grant_set.access(dataset)) == expected, (who, purpose, dataset)


NOT_SHARED_ONLY_GRANT = make_policy(
    {}, [{"to": {"callers": ["c0"]}, "allow": {"share_types": ["NOT_SHARED"]}}]
)
A_SHARED_DATASET = [
    Traits(None, (), ShareType.UNCONDITIONAL, OpenType.NOT_OPEN, Sensitivity.L1, None, "a").dataset(
        "s", 0
    )
]


@example(NOT_SHARED_ONLY_GRANT, Who("c0"), None, datetime(2025, 1, 1, tzinfo=UTC), A_SHARED_DATASET)
@properties(150, shrink=False)
@given(policies, callers, purposes, moments, catalogues)
def test_the_visibility_pushed_to_sources_is_exactly_what_the_caller_may_see(
    raw: dict[str, Any], who: Who, purpose: str | None, now: datetime, catalogue: list[Dataset]
) -> None:
    grant_set = Policy.parse(raw).grant_set(as_caller(who), purpose, now)
    for dataset in catalogue:
        expected = reference_access(raw, who, purpose, now, dataset)
        pushed = any(f.matches(dataset) for f in grant_set.visibility())
        assert pushed == (expected is not None), dataset


@properties(150)
@given(
    st.sampled_from(["use", "discover"]),
    st.lists(st.sampled_from(sorted(MASKABLE)), unique=True).map(frozenset),
)
def test_the_graphql_object_never_carries_a_field_above_privilege_or_masked(
    privilege: str, mask: frozenset[str]
) -> None:
    dataset = Dataset(
        source_id="s",
        local_id="s-1",
        title="t",
        share_condition="SECRET condition",
        landing_page="http://secret/landing",
        contact_point=ContactPoint("SECRET name", "secret@x", "555"),
        distributions=(
            Distribution("f", "CSV", "text/csv", "http://secret/access", "http://secret/dl", 9),
        ),
        fields=(DataField("secret_column"),),
        spatial="SECRET spatial",
    )
    node = gql.dataset_type(dataset, use=privilege == "use", mask=mask)
    use = privilege == "use"
    assert (node.share_condition is None) == ("share_condition" in mask)
    assert (node.landing_page is None) == ("landing_page" in mask)
    assert (node.contact_point is None) == ("contact_point" in mask)
    assert (node.spatial is None) == ("spatial" in mask)
    assert (node.fields is None) == (not use or "fields" in mask)
    if "distributions" in mask:
        assert node.distributions == []
    else:
        [dist] = node.distributions
        assert (dist.access_url, dist.download_url) == (
            ("http://secret/access", "http://secret/dl") if use else (None, None)
        )


def test_a_public_scope_with_no_open_types_is_refused_or_shows_nothing() -> None:
    try:
        policy = Policy.parse({"public": {"open_types": [], "max_sensitivity": "L2"}})
    except ConfigError:
        return
    grant_set = policy.grant_set(Caller("anonymous", anonymous=True), None, datetime.now(UTC))
    closed = Dataset(
        "s",
        "s-1",
        "t",
        open_type=OpenType.NOT_OPEN,
        share_type=ShareType.CONDITIONAL,
        sensitivity=Sensitivity.L1,
    )
    assert grant_set.access(closed) is None


@pytest.mark.parametrize("key", ["departments", "themes", "share_types", "open_types"])
def test_an_empty_allow_list_is_refused_or_grants_nothing(key: str) -> None:
    raw = {
        "callers": [{"id": "c0"}],
        "grants": [{"id": "g", "to": {"callers": ["c0"]}, "allow": {key: []}}],
    }
    try:
        policy = Policy.parse(raw)
    except ConfigError:
        return
    dataset = Dataset(
        "s",
        "s-1",
        "t",
        department=Department("d0", "D0"),
        themes=("env",),
        share_type=ShareType.CONDITIONAL,
        open_type=OpenType.NOT_OPEN,
        sensitivity=Sensitivity.L1,
    )
    assert policy.grant_set(Caller("c0"), None, datetime.now(UTC)).access(dataset) is None
