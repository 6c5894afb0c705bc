"""Whole GraphQL answers kept per grant set (``graphql.response_cache``; docs/performance.md).

A hit skips parsing, validation and every source; it still authenticates, rate-limits and
writes its audit record (the entry keeps what that record needs). The key is a SHA-256 over:

- the normalised document (``print_ast`` of the parse, remembered per raw string) and the
  ``operationName``, the canonical JSON of the variables;
- the response media type (legacy ``application/json`` and ``graphql-response+json`` answer
  with different status codes) and the ``Accept-Language`` preferences (titles follow them);
- the fingerprint of the caller's effective grant set, purpose included
  (``gateway.access.GrantFingerprints``), the policy generation and the store's grant
  revision: an entry built for one grant set is never found for another, and a reload, an
  approval, a revocation or an expiry leaves the old entries unreachable.

Only queries whose every root field is a catalogue read decided by the key alone are kept
(``CACHEABLE_ROOT_FIELDS``; ``node`` only for a Dataset id), never one selecting a field
that reads the store or the clock (``UNCACHEABLE_FIELDS``), never one sending
``X-Demand-Receipt``. The HTTP layer stores an answer only when it has no error, every
source answered (fresh, not stale) and no resolver refused for a rate limit.

Entries live in the process (``LocalAnswers``: at most ``max_entries`` and
``MAX_TOTAL_BYTES``, none larger than ``MAX_ANSWER_BYTES``) or in the shared Redis
(``RedisAnswers``); a Redis that fails is logged once and the request runs as if it missed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from cachetools import LRUCache, TTLCache
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    parse,
    print_ast,
)
from redis.asyncio import Redis
from redis.exceptions import RedisError

from schema.ids import decode_id

__all__ = [
    "CACHEABLE_ROOT_FIELDS",
    "MAX_ANSWER_BYTES",
    "MAX_TOTAL_BYTES",
    "UNCACHEABLE_FIELDS",
    "AnswerStore",
    "CachePlan",
    "CachedAnswer",
    "LocalAnswers",
    "RedisAnswers",
    "ResponseCache",
    "sources_complete",
]

log = logging.getLogger("gateway.response_cache")

# Root fields whose answer depends only on the key: the federated catalogue as the grant
# set shows it. Not ``me``, the workflow roots (accessRequests, operationAgreements,
# dataDemands...), ``sources`` (live breaker state), ``qualityReport`` (the store).
CACHEABLE_ROOT_FIELDS = frozenset({"datasets", "dataset", "departments", "node", "__typename"})
# Fields, at any depth, computed from the clock or the store: ``Dataset.quality``
# (timeliness at the request's moment, link checks from the store), a department's
# ``demands`` and ``history``.
UNCACHEABLE_FIELDS = frozenset({"quality", "demands", "history"})

MAX_ANSWER_BYTES = 1024 * 1024  # a larger answer is not kept
MAX_TOTAL_BYTES = 32 * 1024 * 1024  # what every in-process entry together may hold
# Documents whose plan is remembered: short enough that the memo's bound holds memory too.
_PLANNED_DOCUMENT_CHARS = 16_384
_KEY_VERSION = "1"
# json.dumps with keyword arguments builds an encoder per call; the key's parts use these.
_VARIABLES_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_TEXT_JSON = json.JSONEncoder(ensure_ascii=False)
# Operation names, media types and language preferences encoded for keys, remembered (a
# few combinations repeat; cleared when this many, so the memo stays small).
_ENCODED_PARTS = 256


@dataclass(frozen=True, slots=True)
class CachePlan:
    """A cacheable operation: its normalised text, and the ``node`` ids (literals or
    variable names) that must name a Dataset for a request to be cacheable."""

    normalised: str
    node_literals: tuple[str, ...] = ()
    node_variables: tuple[str, ...] = ()
    digest: str = ""  # SHA-256 of ``normalised``, derived when not given

    def __post_init__(self) -> None:
        if not self.digest:
            digest = hashlib.sha256(self.normalised.encode("utf-8", "surrogatepass")).hexdigest()
            object.__setattr__(self, "digest", digest)

    def nodes_are_datasets(self, variables: Mapping[str, Any] | None) -> bool:
        ids: list[Any] = list(self.node_literals)
        ids += [(variables or {}).get(name) for name in self.node_variables]
        for value in ids:
            decoded = decode_id(value) if isinstance(value, str) else None
            if decoded is None or decoded[0] != "Dataset":
                return False
        return True


def plan_of(query: str, operation_name: str | None) -> CachePlan | None:
    """The plan for a cacheable query, or ``None`` (not a query, not parseable, a root field
    outside ``CACHEABLE_ROOT_FIELDS``, a field in ``UNCACHEABLE_FIELDS``)."""
    try:
        document = parse(query, no_location=True, max_tokens=20_000)
    except GraphQLError:
        return None
    operation = _operation(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    roots: list[FieldNode] = []
    if not _fields(operation.selection_set, fragments, roots, set()):
        return None
    literals: list[str] = []
    variables: list[str] = []
    for root in roots:
        if root.name.value not in CACHEABLE_ROOT_FIELDS:
            return None
        if root.name.value != "node":
            continue
        argument = next((a for a in root.arguments or () if a.name.value == "id"), None)
        if argument is None:
            return None
        if isinstance(argument.value, StringValueNode):
            literals.append(argument.value.value)
        elif isinstance(argument.value, VariableNode):
            variables.append(argument.value.name.value)
        else:
            return None
    for root in roots:
        if root.selection_set is not None and _selects_uncacheable(
            root.selection_set, fragments, set()
        ):
            return None
    return CachePlan(print_ast(document), tuple(literals), tuple(variables))


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        operations = [o for o in operations if o.name is not None and o.name.value == name]
    return operations[0] if len(operations) == 1 else None


def _fields(
    selections: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    found: list[FieldNode],
    seen: set[str],
) -> bool:
    """The fields of one level, through fragments; False for an unknown or cyclic spread."""
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            if not _fields(selection.selection_set, fragments, found, seen):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen or name not in fragments:
                return False
            if not _fields(fragments[name].selection_set, fragments, found, {*seen, name}):
                return False
    return True


def _selects_uncacheable(
    selections: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode], seen: set[str]
) -> bool:
    fields: list[FieldNode] = []
    if not _fields(selections, fragments, fields, seen):
        return True
    for field in fields:
        if field.name.value in UNCACHEABLE_FIELDS:
            return True
        if field.selection_set is not None and _selects_uncacheable(
            field.selection_set, fragments, seen
        ):
            return True
    return False


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """One kept answer: the bytes, and what the audit record of a hit repeats."""

    body: bytes
    status: int
    media_type: str
    dataset_ids: tuple[str, ...] = ()
    withheld: int = 0
    sources: tuple[tuple[str, str], ...] = ()  # (source id, status) as the audit names them
    agreement_hits: tuple[tuple[str, int], ...] = ()  # agreement global id, datasets
    outcome: str = "ok"

    @property
    def size(self) -> int:
        return len(self.body) + 64 * (len(self.dataset_ids) + len(self.sources) + 4)

    def encode(self) -> bytes:
        """One line of JSON (everything but the body), a newline, then the body."""
        head = {
            "status": self.status,
            "media_type": self.media_type,
            "dataset_ids": list(self.dataset_ids),
            "withheld": self.withheld,
            "sources": [list(s) for s in self.sources],
            "agreement_hits": [list(h) for h in self.agreement_hits],
            "outcome": self.outcome,
        }
        return json.dumps(head, separators=(",", ":")).encode() + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes) -> CachedAnswer | None:
        """The answer ``encode`` wrote, or ``None`` for anything else (a foreign value)."""
        head_bytes, newline, body = raw.partition(b"\n")
        try:
            head = json.loads(head_bytes)
            return cls(
                body=body if newline else b"",
                status=int(head["status"]),
                media_type=str(head["media_type"]),
                dataset_ids=tuple(str(i) for i in head["dataset_ids"]),
                withheld=int(head["withheld"]),
                sources=tuple((str(s), str(st)) for s, st in head["sources"]),
                agreement_hits=tuple((str(a), int(n)) for a, n in head["agreement_hits"]),
                outcome=str(head["outcome"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


class AnswerStore(Protocol):
    """Where entries live: ``LocalAnswers`` (this process) or ``RedisAnswers`` (shared)."""

    async def get(self, key: str) -> CachedAnswer | None: ...

    async def put(self, key: str, answer: CachedAnswer, ttl_seconds: float) -> None: ...


class LocalAnswers:
    """Entries in this process: at most ``max_entries``, ``max_bytes`` together, each
    gone ``ttl_seconds`` after it was stored (least recently used evicted first)."""

    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int,
        *,
        max_bytes: int = MAX_TOTAL_BYTES,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self._entries: TTLCache[str, CachedAnswer] = TTLCache(
            maxsize=max_bytes, ttl=ttl_seconds, timer=timer, getsizeof=_size
        )

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return int(self._entries.currsize)

    async def get(self, key: str) -> CachedAnswer | None:
        return self._entries.get(key)

    async def put(self, key: str, answer: CachedAnswer, ttl_seconds: float) -> None:
        if answer.size > min(MAX_ANSWER_BYTES, self._entries.maxsize):
            return
        self._entries.pop(key, None)
        while len(self._entries) >= self.max_entries:
            self._entries.popitem()
        self._entries[key] = answer


def _size(answer: CachedAnswer) -> int:
    return answer.size


class RedisAnswers:
    """Entries in the shared Redis (``SET key value PX ttl``) under ``prefix``. A Redis
    error is logged once per outage and answers like a miss: the request is executed."""

    def __init__(self, client: Redis, *, prefix: str = "catalogue-gateway:response:") -> None:
        self.client = client
        self.prefix = prefix
        self._failing = False

    async def get(self, key: str) -> CachedAnswer | None:
        try:
            raw = await self.client.get(self.prefix + key)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return None
        self._recovered()
        return CachedAnswer.decode(raw) if isinstance(raw, bytes) else None

    async def put(self, key: str, answer: CachedAnswer, ttl_seconds: float) -> None:
        if answer.size > MAX_ANSWER_BYTES:
            return
        try:
            await self.client.set(
                self.prefix + key, answer.encode(), px=max(1, int(ttl_seconds * 1000))
            )
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return
        self._recovered()

    def _failed(self, exc: BaseException) -> None:
        if not self._failing:
            self._failing = True
            log.warning(
                "the response cache's Redis failed (%s); answering without the cache until "
                "it is back",
                type(exc).__name__,
            )

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            log.warning("the response cache's Redis is back")


class ResponseCache:
    """The whole-answer cache of one gateway: plans, keys and an ``AnswerStore``."""

    def __init__(self, ttl_seconds: float, answers: AnswerStore) -> None:
        self.ttl_seconds = ttl_seconds
        self.answers = answers
        self._plans: LRUCache[tuple[str, str | None], CachePlan | None] = LRUCache(maxsize=512)
        self._encoded: dict[tuple[str | None, str, tuple[str, ...]], tuple[str, str, str]] = {}
        self.hits = 0
        self.misses = 0
        self.stored = 0

    def plan(self, query: str, operation_name: str | None) -> CachePlan | None:
        """The document's plan (remembered per raw string), or ``None``: not cacheable."""
        if len(query) > _PLANNED_DOCUMENT_CHARS:
            return None
        memo_key = (query, operation_name)
        try:
            return self._plans[memo_key]
        except KeyError:
            found = self._plans[memo_key] = plan_of(query, operation_name)
            return found

    def key(
        self,
        plan: CachePlan,
        *,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        media_type: str,
        languages: tuple[str, ...],
        grant_fingerprint: str,
        policy_generation: int,
        grant_revision: int,
    ) -> str | None:
        """The entry's key, or ``None`` when this request is not cacheable (a ``node`` id
        that is not a Dataset's)."""
        if not plan.nodes_are_datasets(variables):
            return None
        try:
            values = _VARIABLES_JSON.encode(variables) if variables else "{}"
        except (TypeError, ValueError):
            return None
        # Each part is JSON (a string quoted, its quotes escaped), so no two different
        # tuples of parts join to the same text.
        request = (operation_name, media_type, languages)
        encoded = self._encoded.get(request)
        if encoded is None:
            if len(self._encoded) >= _ENCODED_PARTS:
                self._encoded.clear()
            encoded = self._encoded[request] = (
                _TEXT_JSON.encode(operation_name),
                json.dumps(media_type),
                _TEXT_JSON.encode(languages),
            )
        material = "\n".join(
            (
                _KEY_VERSION,
                plan.digest,
                encoded[0],
                values,
                encoded[1],
                encoded[2],
                grant_fingerprint,
                str(int(policy_generation)),
                str(int(grant_revision)),
            )
        )
        return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()

    async def get(self, key: str) -> CachedAnswer | None:
        found = await self.answers.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    async def put(self, key: str, answer: CachedAnswer) -> None:
        await self.answers.put(key, answer, self.ttl_seconds)
        self.stored += 1


def sources_complete(reports: Iterable[Any]) -> bool:
    """Whether every source answered fresh (``OK``, or skipped by the query's own filter):
    a partial or stale answer is not kept for the TTL."""
    for report in reports:
        if report.status.value not in ("OK", "SKIPPED") or report.stale:
            return False
    return True
