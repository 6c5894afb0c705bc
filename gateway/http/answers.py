"""The response cache on a GraphQL request's path (``gateway/http/response_cache.py`` keeps
the entries): whether a request may be answered from it, the lookup, the replay of a hit
and the keeping of an executed answer.

>>> answers = CachedAnswers(cache)
>>> plan = answers.plan(params, request.headers)        # None: this request is executed
>>> found = NOT_CACHEABLE
>>> if plan is not None:
...     found = await answers.lookup(plan, params, media_type=..., grant_fingerprint=...)
>>> if found.answer is not None:
...     return answers.replay(found.answer, event)       # the audit record is filled in
>>> ...                                                  # executed
>>> await answers.keep(found.key, response, event, complete=..., ...)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.responses import Response

from gateway.audit import AuditEvent, Outcome
from gateway.http.graphql_http import GraphQLParams
from gateway.http.response_cache import CachedAnswer, CachePlan, ResponseCache

__all__ = ["NOT_CACHEABLE", "CachedAnswers", "Lookup"]


@dataclass(frozen=True, slots=True)
class Lookup:
    """The entry's key (``None``: this request is not cacheable) and the answer found."""

    key: str | None
    answer: CachedAnswer | None = None


NOT_CACHEABLE = Lookup(None)


class CachedAnswers:
    """A gateway's ``ResponseCache`` as GraphQL requests meet it (``None``: switched off)."""

    def __init__(self, cache: ResponseCache | None) -> None:
        self.cache = cache

    def plan(self, params: GraphQLParams, headers: Mapping[str, str]) -> CachePlan | None:
        """The request's cache plan, or ``None``: the cache is off, the document is not
        cacheable, or the request demands receipts (``X-Demand-Receipt``)."""
        if self.cache is None or headers.get("x-demand-receipt"):
            return None
        return self.cache.plan(params.query, params.operation_name)

    async def lookup(
        self,
        plan: CachePlan,
        params: GraphQLParams,
        *,
        media_type: str,
        languages: tuple[str, ...],
        grant_fingerprint: str,
        policy_generation: int,
        grant_revision: int,
    ) -> Lookup:
        """The key of this request's entry and the answer kept under it, if any."""
        if self.cache is None:
            return NOT_CACHEABLE
        key = self.cache.key(
            plan,
            operation_name=params.operation_name,
            variables=params.variables,
            media_type=media_type,
            languages=languages,
            grant_fingerprint=grant_fingerprint,
            policy_generation=policy_generation,
            grant_revision=grant_revision,
        )
        if key is None:
            return NOT_CACHEABLE
        return Lookup(key, await self.cache.get(key))

    @staticmethod
    def replay(answer: CachedAnswer, event: AuditEvent) -> Response:
        """A hit: the kept bytes, and ``event`` filled in as the executed request filled its
        own (the agreements it used are the caller's to record: ``answer.agreement_hits``)."""
        event.dataset_ids = list(answer.dataset_ids)
        event.withheld = answer.withheld
        event.sources = dict(answer.sources)
        event.cache = "hit"
        event.outcome = Outcome(answer.outcome)
        return Response(
            answer.body, answer.status, media_type=f"{answer.media_type}; charset=utf-8"
        )

    async def keep(
        self,
        key: str | None,
        response: Response,
        event: AuditEvent,
        *,
        media_type: str,
        complete: bool,
        agreement_hits: Mapping[str, int],
    ) -> None:
        """Keep an executed answer under ``key`` when it may be replayed: status 200, no
        error, no resolver refused for a rate limit, every source answered fresh
        (``complete``). ``event`` is the request's filled-in audit record."""
        if self.cache is None or key is None or not complete or response.status_code != 200:
            return
        answer = CachedAnswer(
            bytes(response.body),
            response.status_code,
            media_type,
            tuple(event.dataset_ids),
            event.withheld,
            tuple(event.sources.items()),
            tuple(sorted(agreement_hits.items())),
            event.outcome.value,
        )
        await self.cache.put(key, answer)
