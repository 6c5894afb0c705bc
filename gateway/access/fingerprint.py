"""What an answer built for one caller may be shared on: the fingerprint of the effective
grant set.

Two requests with equal fingerprints are decided alike for every dataset (the same clauses,
privileges, masks, data items and validity dates) by callers alike in everything a
catalogue answer may depend on (anonymous or not, department, roles, operator) under the
same declared purpose. The response cache keys whole answers on it (with the policy
generation and the store's grant revision), so an answer is never served across grant sets::

    fingerprints = GrantFingerprints()
    key_part = fingerprints.of(policy, caller, purpose, now, issued, today)

A grant that expires drops out of the grant set, so the fingerprint moves with it; a
revocation moves ``issued.revision``; a policy reload replaces ``policy``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

from cachetools import LRUCache

from gateway.access.issued import NO_ISSUED_GRANTS, IssuedGrants
from gateway.access.policy import Caller, GrantSet, Policy

__all__ = ["GrantFingerprints", "grant_fingerprint"]


def grant_fingerprint(grants: GrantSet, caller: Caller, purpose: str | None) -> str:
    """SHA-256 (hex) over the grant set's clauses and what in ``caller`` and ``purpose``
    may change an answer. Equal fingerprints: the same answer may be shown to both."""
    described = json.dumps(
        [
            grants.key,
            repr(grants.clauses),  # the key is a prefix of a hash; the clauses themselves
            caller.anonymous,
            caller.department,
            sorted(caller.roles),
            caller.operator,
            purpose,
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(described.encode("utf-8", "surrogatepass")).hexdigest()


class GrantFingerprints:
    """``grant_fingerprint`` of ``policy.grant_set(...)``, remembered per (policy, issued
    revision, caller, purpose, day): the grant set depends on ``now`` only through the UTC
    day and ``today`` (grants are valid by calendar day), so the memo is exact."""

    def __init__(self, maxsize: int = 4096) -> None:
        self._memo: LRUCache[tuple[object, ...], str] = LRUCache(maxsize=maxsize)
        # The policy and issued grants the memo holds answers for (held, so that their
        # identity cannot pass to another object); either replaced: the memo starts over.
        self._scope: tuple[Policy, IssuedGrants] | None = None

    def of(
        self,
        policy: Policy,
        caller: Caller,
        purpose: str | None,
        now: datetime,
        issued: IssuedGrants = NO_ISSUED_GRANTS,
        today: date | None = None,
    ) -> str:
        """The fingerprint of ``caller``'s effective grants for ``purpose`` at ``now``."""
        scope = self._scope
        if scope is None or scope[0] is not policy or scope[1] is not issued:
            self._memo.clear()
            self._scope = (policy, issued)
        memo_key = (caller, purpose, now.date(), today)
        found = self._memo.get(memo_key)
        if found is None:
            grants = policy.grant_set(caller, purpose, now, issued, today)
            found = grant_fingerprint(grants, caller, purpose)
            self._memo[memo_key] = found
        return found
