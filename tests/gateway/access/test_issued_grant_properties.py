"""Property tests: the policy merged with the store's issued grants (approved access
requests, operation agreements) against the reference model."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway.access import AgreementGrant, IssuedGrants, Policy, RequestGrant
from schema.ids import encode_id
from schema.model import Dataset, Sensitivity
from tests.gateway.policy_strategies import (
    DAY0,
    PURPOSES,
    as_caller,
    as_seen,
    catalogues,
    issued_grants,
    policies,
    properties,
    workflow_callers,
)
from tests.gateway.reference_policy import reference_access


def _global(key: str) -> str:
    source, local = key.split("/", 1)
    return encode_id("Dataset", source, local)


def as_issued(raw: dict[str, Any]) -> IssuedGrants:
    """The store's view: only APPROVED requests and ACTIVE agreements are loaded."""
    requests: dict[str, list[RequestGrant]] = {}
    for i, r in enumerate(raw["requests"]):
        if r["state"] != "APPROVED":
            continue
        requests.setdefault(r["requester"], []).append(
            RequestGrant(
                request_id=f"r{i}",
                caller_id=r["requester"],
                dataset_ids=tuple(_global(k) for k in r["datasets"]),
                purpose=r["purpose"],
                privilege=r["privilege"],
                valid_from=r["valid_from"],
                valid_until=r["valid_until"],
                mask=tuple(r["mask"]),
            )
        )
    agreements: dict[str, list[AgreementGrant]] = {}
    for i, a in enumerate(raw["agreements"]):
        if a["status"] != "ACTIVE":
            continue
        agreements.setdefault(a["operator"], []).append(
            AgreementGrant(
                agreement_id=f"a{i}",
                operator=a["operator"],
                mode=a["mode"],
                departments=tuple(a["departments"]),
                themes=tuple(a["themes"]),
                dataset_ids=tuple(_global(k) for k in a["datasets"]),
                max_sensitivity=Sensitivity(a["max_sensitivity"]),
                scenarios=tuple(a["scenarios"]),
                valid_from=a["valid_from"],
                valid_until=a["valid_until"],
            )
        )
    return IssuedGrants(
        1,
        {k: tuple(v) for k, v in requests.items()},
        {k: tuple(v) for k, v in agreements.items()},
    )


days = st.integers(-1, 10).map(lambda n: DAY0 + timedelta(days=n))


@properties(200)
@given(policies, issued_grants, workflow_callers, days, catalogues)
def test_policy_and_issued_grants_decide_every_dataset_as_the_reference(
    raw: dict[str, Any],
    issued: dict[str, Any],
    who: Any,
    today: date,
    catalogue: list[Dataset],
) -> None:
    policy = Policy.parse(raw)
    now = datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=12)
    loaded = as_issued(issued)
    for purpose in (None, *PURPOSES, "other"):
        grant_set = policy.grant_set(as_caller(who), purpose, now, loaded, today)
        pushed = grant_set.visibility()
        for dataset in catalogue:
            expected = reference_access(raw, who, purpose, now, dataset, issued, today)
            assert as_seen(grant_set.access(dataset)) == expected, (who, purpose, dataset)
            # What is pushed to sources admits exactly what the caller may see.
            assert any(f.matches(dataset) for f in pushed) == (expected is not None), dataset
