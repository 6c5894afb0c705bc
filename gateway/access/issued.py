"""Grants issued by the workflows and kept in the store, as the policy merges them.

The store reads approved access requests and operation agreements into these plain
records (``IssuedGrants``); ``Policy.grant_set`` turns the ones that apply to a caller into
clauses beside the policy file's, so visibility is still decided in one place. Whether a
record is in force (its dates, its purpose, its status) is decided here on every request,
so an expiry takes effect on the first request after it, without waiting for a sweep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from connectors.sdk import DatasetFilter
from schema.model import Sensitivity, ShareType


@dataclass(frozen=True, slots=True)
class RequestGrant:
    """The grant an approved access request issued: to ``caller_id``, for exactly
    ``dataset_ids``, under ``purpose`` only, from ``valid_from`` to ``valid_until``
    (inclusive)."""

    request_id: str  # the AccessRequest's global id
    caller_id: str
    dataset_ids: tuple[str, ...]
    purpose: str
    privilege: str  # "discover" | "use"
    valid_from: date
    valid_until: date
    items: tuple[str, ...] | None = None  # data items shown; None: every one
    mask: tuple[str, ...] = ()

    @property
    def origin(self) -> str:
        return f"access_request:{self.request_id}"

    def in_force(self, purpose: str | None, today: date) -> bool:
        return purpose == self.purpose and self.valid_from <= today <= self.valid_until


@dataclass(frozen=True, slots=True)
class AgreementGrant:
    """An ACTIVE operation agreement: what its operator's callers may use."""

    agreement_id: str  # the OperationAgreement's global id
    operator: str
    mode: str  # OVERALL | SECTOR | SCENARIO
    departments: tuple[str, ...]
    themes: tuple[str, ...]
    dataset_ids: tuple[str, ...]
    max_sensitivity: Sensitivity
    scenarios: tuple[str, ...]
    valid_from: date
    valid_until: date

    @property
    def origin(self) -> str:
        return f"agreement:{self.agreement_id}"

    def in_force(self, purpose: str | None, today: date) -> bool:
        if self.scenarios and purpose not in self.scenarios:
            return False
        return self.valid_from <= today <= self.valid_until

    def filters(self) -> tuple[DatasetFilter, ...]:
        """The scope as alternatives: shareable data (never NOT_SHARED, whatever the mode)
        up to ``max_sensitivity``, narrowed to the departments, themes or datasets named."""
        shareable = (ShareType.UNCONDITIONAL, ShareType.CONDITIONAL)
        base = DatasetFilter(share_types=shareable, max_sensitivity=self.max_sensitivity)
        named = [
            DatasetFilter(
                departments=self.departments,
                share_types=shareable,
                max_sensitivity=self.max_sensitivity,
            )
            if self.departments
            else None,
            DatasetFilter(
                themes=self.themes, share_types=shareable, max_sensitivity=self.max_sensitivity
            )
            if self.themes
            else None,
            DatasetFilter(
                dataset_ids=self.dataset_ids,
                share_types=shareable,
                max_sensitivity=self.max_sensitivity,
            )
            if self.dataset_ids
            else None,
        ]
        narrowed = tuple(f for f in named if f is not None)
        if self.mode == "OVERALL" or not narrowed:
            return (base,)
        return narrowed


@dataclass(frozen=True, slots=True)
class IssuedGrants:
    """Every grant the store holds now, indexed by who holds it. ``revision`` names the
    store's state (``grant_changes``): equal revisions hold equal grants."""

    revision: int = 0
    requests: dict[str, tuple[RequestGrant, ...]] = field(default_factory=dict)
    agreements: dict[str, tuple[AgreementGrant, ...]] = field(default_factory=dict)

    def for_caller(self, caller_id: str) -> tuple[RequestGrant, ...]:
        return self.requests.get(caller_id, ())

    def for_operator(self, operator: str | None) -> tuple[AgreementGrant, ...]:
        return () if operator is None else self.agreements.get(operator, ())


NO_ISSUED_GRANTS = IssuedGrants()
