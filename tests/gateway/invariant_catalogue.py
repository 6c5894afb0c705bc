"""The catalogue and callers the invariant tests share (see ``test_invariants``).

Sources hold datasets each caller may and may not see; which is which comes from
``reference_policy`` (DESIGN.md's rules, not ``gateway/policy.py``). Every string of a
dataset (title, URLs, contact...) contains its local id, a distinctive word, so
``assert_absent`` can check "absent everywhere" on the bytes of an answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gateway.access.policy import hash_api_key
from schema.ids import encode_id
from schema.model import (
    ContactPoint,
    DataField,
    Dataset,
    Department,
    Distribution,
    Grade,
    OpenType,
    Sensitivity,
    ShareType,
)
from tests.gateway.reference_policy import Who, reference_access

TRANSPORT = Department("transport", "Transport Bureau")
HEALTH = Department("health", "Health Commission")


def catalogue_dataset(
    source: str,
    local_id: str,
    department: Department,
    share: ShareType,
    open_type: OpenType,
    sensitivity: Sensitivity,
    theme: str,
    fmt: str,
    **extra: Any,
) -> Dataset:
    """Every string of the dataset contains ``local_id``, so one search finds any leak."""
    return Dataset(
        source_id=source,
        local_id=local_id,
        title=f"{local_id} title",
        identifier=extra.pop("identifier", f"{local_id}-code"),
        description=f"{local_id} description",
        department=department,
        themes=(theme,),
        modified=datetime(2024, 1, 1, tzinfo=UTC),
        share_type=share,
        share_condition=f"{local_id} condition",
        open_type=open_type,
        sensitivity=sensitivity,
        landing_page=f"http://{local_id}.example/landing",
        contact_point=ContactPoint(f"{local_id} desk", f"{local_id}@mail.example", "555"),
        distributions=(
            Distribution(
                title=f"{local_id} file",
                format=fmt,
                access_url=f"http://{local_id}.example/access",
                download_url=f"http://{local_id}.example/download",
            ),
        ),
        fields=(DataField(f"{local_id}_column"),),
        spatial=f"{local_id} area",
        **extra,
    )


U, C, N = ShareType.UNCONDITIONAL, ShareType.CONDITIONAL, ShareType.NOT_SHARED
OPEN, NOT_OPEN = OpenType.OPEN, OpenType.NOT_OPEN
L1, L2, L3, L4 = Sensitivity.L1, Sensitivity.L2, Sensitivity.L3, Sensitivity.L4

SOURCES: dict[str, list[Dataset]] = {
    "transport": [
        catalogue_dataset("transport", "busstops", TRANSPORT, U, OPEN, L1, "transport", "CSV"),
        catalogue_dataset(
            "transport", "sensorfeeds", TRANSPORT, C, NOT_OPEN, L3, "transport", "JSON"
        ),
        catalogue_dataset("transport", "payroll", TRANSPORT, N, NOT_OPEN, L4, "classified", "XLSX"),
        catalogue_dataset("transport", "roadworks", TRANSPORT, U, NOT_OPEN, L2, "roads", "GEOJSON"),
        # Open and unconditional, but core data: its own department only (GB/T 43697).
        catalogue_dataset(
            "transport", "signalcore", TRANSPORT, U, OPEN, L1, "transport", "CSV", grade=Grade.CORE
        ),
    ],
    "health": [
        catalogue_dataset("health", "clinics", HEALTH, U, OPEN, L1, "health", "CSV"),
        catalogue_dataset("health", "patients", HEALTH, N, NOT_OPEN, L4, "health", "XLSX"),
        catalogue_dataset("health", "vaccines", HEALTH, C, NOT_OPEN, L2, "health", "PDF"),
        # Open and unconditional, but important data: never public, a grant may show it.
        catalogue_dataset(
            "health", "genomes", HEALTH, U, OPEN, L1, "health", "CSV", grade=Grade.IMPORTANT
        ),
    ],
}
ALL = [d for datasets in SOURCES.values() for d in datasets]


def _keyed(caller: str, **config: Any) -> dict[str, Any]:
    return {"id": caller, "api_keys": [hash_api_key(f"key-{caller}")], **config}


POLICY: dict[str, Any] = {
    "public": {"open_types": ["OPEN"], "max_sensitivity": "L1"},
    "callers": [
        _keyed("analyst", department="health", roles=["staff"]),
        _keyed("clerk", department="transport"),
        _keyed("operator", roles=["operator"]),
        _keyed("auditor", roles=["auditor"]),
    ],
    "grants": [
        {
            "id": "staff-shared",
            "to": {"roles": ["staff"]},
            "allow": {"share_types": ["UNCONDITIONAL"], "max_sensitivity": "L2"},
            "privilege": "use",
            "mask": ["contact_point", "landing_page"],
        },
        {
            "id": "operator-traffic",
            "to": {"callers": ["operator"]},
            "allow": {
                "themes": ["transport"],
                "share_types": ["CONDITIONAL"],
                "max_sensitivity": "L3",
            },
            "scenarios": ["traffic"],
            "valid_from": "2000-01-01",
            "valid_until": "2999-01-01",
            "privilege": "use",
        },
        {
            "id": "operator-expired",
            "to": {"callers": ["operator"]},
            "allow": {"max_sensitivity": "L4"},
            "valid_from": "2000-01-01",
            "valid_until": "2001-01-01",
            "privilege": "use",
        },
        {
            "id": "operator-not-yet",
            "to": {"callers": ["operator"]},
            "allow": {"max_sensitivity": "L4"},
            "valid_from": "2998-01-01",
            "privilege": "use",
        },
        {
            "id": "auditor-discover",
            "to": {"roles": ["auditor"]},
            "allow": {"share_types": ["UNCONDITIONAL", "CONDITIONAL"], "max_sensitivity": "L4"},
            "privilege": "discover",
        },
    ],
}


@dataclass(frozen=True)
class As:
    """A caller as the HTTP layer sees it (headers) and as the reference does (who)."""

    name: str
    who: Who
    headers: Mapping[str, str]
    purpose: str | None = None

    def visible(
        self, datasets: Iterable[Dataset] = ALL, policy: Mapping[str, Any] = POLICY
    ) -> list[Dataset]:
        now = datetime.now(UTC)
        return [d for d in datasets if reference_access(policy, self.who, self.purpose, now, d)]

    def hidden(self, datasets: Iterable[Dataset] = ALL) -> list[Dataset]:
        seen = {id(d) for d in self.visible()}
        return [d for d in datasets if id(d) not in seen]


def _as(name: str, who: Who, purpose: str | None = None) -> As:
    headers = {} if who.anonymous else {"x-api-key": f"key-{who.id}"}
    if purpose:
        headers["x-purpose"] = purpose
    return As(name, who, headers, purpose)


ANONYMOUS = _as("anonymous", Who("anonymous", anonymous=True))
ANALYST = _as("analyst", Who("analyst", "health", ("staff",)))
CLERK = _as("clerk", Who("clerk", "transport"))
OPERATOR = _as("operator", Who("operator", roles=("operator",)))
OPERATOR_TRAFFIC = _as("operator-traffic", Who("operator", roles=("operator",)), "traffic")
OPERATOR_MARKETING = _as("operator-marketing", Who("operator", roles=("operator",)), "marketing")
AUDITOR = _as("auditor", Who("auditor", roles=("auditor",)))
CALLERS = [ANONYMOUS, ANALYST, CLERK, OPERATOR, OPERATOR_TRAFFIC, OPERATOR_MARKETING, AUDITOR]
by_name = pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.name)
both_paths = pytest.mark.parametrize(
    "push_down", [True, False], ids=["source-filters", "gateway-filters"]
)


def gid(dataset: Dataset) -> str:
    return encode_id("Dataset", dataset.source_id, dataset.local_id)


def assert_absent(body: bytes | str, hidden: Iterable[Dataset]) -> None:
    text = body.decode() if isinstance(body, bytes) else body
    for dataset in hidden:
        assert dataset.local_id not in text, f"{dataset.local_id} leaked"
        assert gid(dataset) not in text, f"{dataset.local_id}'s id leaked"


async def graphql(
    client: httpx.AsyncClient,
    caller: As,
    query: str,
    variables: Mapping[str, Any] | None = None,
) -> httpx.Response:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": dict(variables or {})},
        headers=dict(caller.headers),
    )
    assert response.status_code == 200, response.text
    return response


SEARCH = """
query Search($first: Int, $after: String, $sort: DatasetSort) {
  datasets(first: $first, after: $after, sort: $sort) {
    totalCount totalCountIsExact
    pageInfo { hasNextPage endCursor }
    sources { source { id } status matched message }
    edges { cursor node { id title alsoPublishedBy { id source { id } } } }
  }
}
"""


async def page_all(
    client: httpx.AsyncClient, caller: As, first: int, sort: str = "RELEVANCE"
) -> list[httpx.Response]:
    pages, after = [], None
    for _ in range(50):
        response = await graphql(
            client, caller, SEARCH, {"first": first, "after": after, "sort": sort}
        )
        pages.append(response)
        info = response.json()["data"]["datasets"]["pageInfo"]
        if not info["hasNextPage"]:
            return pages
        after = info["endCursor"]
    raise AssertionError("paging did not end")


BY_ID = """
query ById($id: ID!) {
  dataset(id: $id) { id title }
  node(id: $id) { id ... on Dataset { title } }
}
"""
