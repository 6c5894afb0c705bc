"""Property test: the response cache against the plain path (its oracle).

Random policies, issued grants, callers, purposes and languages; between requests the day
moves (grants expire), an issued grant is revoked (the store's revision moves) or the
policy is reloaded (its generation moves). Every answer of the gateway with the cache must
be byte-identical to the answer of the same gateway without it: an entry built for one grant
set served to another, or surviving a revocation, an expiry or a reload, would differ.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from gateway.access import NO_ISSUED_GRANTS, Caller, IssuedGrants, PolicyHolder
from gateway.app import Gateway
from gateway.config import parse_config
from schema.model import Dataset
from tests.gateway.access.test_issued_grant_properties import as_issued
from tests.gateway.conftest import asgi_client
from tests.gateway.memory_connector import MemoryConnector
from tests.gateway.policy_strategies import (
    CALLER_IDS,
    DAY0,
    as_caller,
    callers,
    catalogues,
    issued_grants,
    policies,
    properties,
    purposes,
    workflow_callers,
)

QUERY = (
    "query Q($first: Int) { datasets(first: $first) { totalCount "
    "edges { node { id title sensitivity shareType } } } }"
)
# Every caller asks the same (purpose, language, page size): where a key that overlooked
# what tells their grants apart would serve one's answer to another.
ask = st.tuples(
    st.just("ask"),
    st.permutations(range(4)),  # in which order the callers ask
    purposes,
    st.sampled_from([None, "en", "zh-CN"]),
    st.sampled_from([5, 50]),
)
steps = st.lists(
    ask | st.tuples(st.sampled_from(["next day", "revoke", "reload"]), st.integers(1, 4)),
    min_size=2,
    max_size=6,
)


@st.composite
def neighbours(draw: st.DrawFn) -> list[Any]:
    """Four callers, three of them alike in all but the id or the roles (grants name
    callers by id and by role), and anonymous."""
    base = draw(workflow_callers)
    twin = replace(base, id=next(i for i in CALLER_IDS if i != base.id))
    other_roles = replace(base, roles=() if base.roles else ("staff",))
    return [base, twin, other_roles, draw(callers)]


class World:
    """What both gateways share: the clock, the store's issued grants, the policy file."""

    def __init__(self, issued: IssuedGrants, policy_path: Path) -> None:
        self.now = datetime.combine(DAY0, datetime.min.time(), UTC) + timedelta(hours=12)
        self.issued = issued
        self.policy_path = policy_path

    def revoke(self) -> None:
        """Drop the first issued grant (a revocation or an agreement ended): a new revision."""
        requests = {k: v[1:] for k, v in self.issued.requests.items()}
        agreements = {k: v[1:] for k, v in self.issued.agreements.items()}
        self.issued = replace(
            self.issued, revision=self.issued.revision + 1, requests=requests,
            agreements=agreements,
        )  # fmt: skip


def build(world: World, catalogue: list[Dataset], client: httpx.AsyncClient, ttl: float) -> Gateway:
    config = parse_config(
        {
            "sources": [{"id": "s", "connector": "ckan", "url": "http://127.0.0.1:9"}],
            "graphql": {"response_cache": {"ttl_seconds": ttl}},
        }
    )
    connector = MemoryConnector(config.sources[0].settings, client, catalogue)
    gateway = Gateway(config, client=client, connectors=[connector], cursor_secret=b"k" * 32)
    gateway.policies = PolicyHolder.load(world.policy_path)
    gateway.clock = lambda: world.now

    async def issued(caller: Caller) -> IssuedGrants:
        # As the gateway's own: no issued grant applies to the anonymous caller.
        return NO_ISSUED_GRANTS if caller.anonymous else world.issued

    async def authenticate(request: Request, policy: Any) -> Caller:
        return CALLERS[int(request.headers["x-test-caller"])]

    gateway._issued_grants = issued  # type: ignore[method-assign]
    gateway.authenticate = authenticate  # type: ignore[method-assign]
    return gateway


CALLERS: list[Caller] = []


@properties(20)
@given(
    policies,
    policies,
    issued_grants,
    neighbours(),
    catalogues,
    steps,
)
def test_the_cache_answers_exactly_what_the_plain_path_answers(
    raw: dict[str, Any],
    reloaded: dict[str, Any],
    issued: dict[str, Any],
    who: list[Any],
    catalogue: list[Dataset],
    script: list[tuple[Any, ...]],
) -> None:
    CALLERS[:] = [as_caller(w) for w in who]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yaml"
        path.write_text(yaml.safe_dump(raw))
        world = World(as_issued(issued), path)
        asyncio.run(_compare(world, catalogue, reloaded, script))


async def _compare(
    world: World, catalogue: list[Dataset], reloaded: dict[str, Any], script: list[tuple[Any, ...]]
) -> None:
    async with httpx.AsyncClient() as http_client:
        cached = build(world, catalogue, http_client, ttl=600)
        plain = build(world, catalogue, http_client, ttl=0)
        assert cached.response_cache is not None and plain.response_cache is None
        async with asgi_client(cached) as with_cache, asgi_client(plain) as without:
            for step in [*script, *script]:  # the second pass finds entries to hit
                if step[0] == "next day":
                    world.now += timedelta(days=step[1])
                elif step[0] == "revoke":
                    world.revoke()
                elif step[0] == "reload":
                    world.policy_path.write_text(yaml.safe_dump(reloaded))
                    assert cached.policies.reload() and plain.policies.reload()
                else:
                    _, order, purpose, language, first = step
                    for caller in order:
                        headers = {"x-test-caller": str(caller)}
                        if purpose is not None:
                            headers["x-purpose"] = purpose
                        if language is not None:
                            headers["accept-language"] = language
                        body = {"query": QUERY, "variables": {"first": first}}
                        expected = await without.post("/graphql", json=body, headers=headers)
                        got = await with_cache.post("/graphql", json=body, headers=headers)
                        assert got.status_code == expected.status_code == 200
                        assert got.content == expected.content, (step, CALLERS[caller])
