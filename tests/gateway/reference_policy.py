"""A reference for who may see what, written from DESIGN.md and docs/authorization.md.

It shares no code with ``gateway/policy.py``: it reads the policy as the raw mapping a
``policy.yaml`` parses to and decides one dataset at a time, by the rules as documented:

- the public scope (``public.open_types`` up to ``public.max_sensitivity``, default OPEN
  and L1) applies to everyone, with privilege ``use``;
- a caller with a department sees all of that department's datasets, with ``use``;
- NOT_SHARED data is visible to its own department only (no grant reveals it);
- GB/T 43697 grades: CORE data is visible to its own department only (no grant, no public
  scope reveals it); IMPORTANT data is never public (a grant may still reveal it); a
  dataset stating no grade is general data;
- a grant applies to the callers its ``to`` names (by id, role or department), only with
  a declared purpose among its ``scenarios`` (when it has any), from ``valid_from`` up to
  but not including ``valid_until``; it matches the datasets its ``allow`` lets through
  (departments, themes, share types, open types, up to ``max_sensitivity``, default L1);
- the highest privilege among the matching clauses wins; a field is masked only if every
  matching clause of that privilege masks it (own department and public mask nothing).

Grants issued by the workflows (DESIGN.md "Workflows"), given as ``issued`` (the raw
``{"requests": [...], "agreements": [...]}``), are decided here the same way:

- an APPROVED access request grants its requester exactly its ``dataset_ids``, only under
  its ``purpose``, from ``valid_from`` to ``valid_until`` inclusive (calendar days), with its
  privilege and mask;
- an ACTIVE operation agreement grants ``use`` to the callers of its ``operator``, only
  under its ``scenarios`` when it has any, within its dates (inclusive): shareable data
  (UNCONDITIONAL or CONDITIONAL) up to its ``max_sensitivity``; for OVERALL everything
  else, otherwise what its departments, themes or dataset ids name (any of them);
- neither ever shows NOT_SHARED data outside its department.

Two points DESIGN.md leaves open follow ``gateway/policy.py``: ``public.privilege`` may
lower the public scope to ``discover``, and a grant's privilege defaults to ``discover``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from schema.model import Dataset

MASKABLE = frozenset(
    {"contact_point", "distributions", "fields", "landing_page", "share_condition", "spatial"}
)


@dataclass(frozen=True)
class Who:
    """The caller as the reference sees it."""

    id: str
    department: str | None = None
    roles: tuple[str, ...] = ()
    anonymous: bool = False
    operator: str | None = None


@dataclass(frozen=True)
class Seen:
    """How a caller may see one dataset: ``"use"`` or ``"discover"``, and masked fields."""

    privilege: str
    mask: frozenset[str]


def _level(value: Any) -> int:
    """``"L3"`` (or an enum whose value is ``"L3"``) -> 3."""
    text = getattr(value, "value", value)
    return int(str(text)[1:])


def _name(value: Any) -> str:
    return str(getattr(value, "value", value))


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _names_caller(to: Mapping[str, Sequence[str]], who: Who) -> bool:
    if who.id in to.get("callers", ()):
        return True
    if any(role in to.get("roles", ()) for role in who.roles):
        return True
    return who.department is not None and who.department in to.get("departments", ())


def _allows(allow: Mapping[str, Any], dataset: Dataset) -> bool:
    departments = allow.get("departments") or ()
    if departments and (dataset.department is None or dataset.department.id not in departments):
        return False
    themes = allow.get("themes") or ()
    if themes and not any(theme in themes for theme in dataset.themes):
        return False
    share_types = [_name(s) for s in allow.get("share_types") or ()]
    if share_types and dataset.share_type.value not in share_types:
        return False
    open_types = [_name(o) for o in allow.get("open_types") or ()]
    if open_types and dataset.open_type.value not in open_types:
        return False
    return _level(dataset.sensitivity) <= _level(allow.get("max_sensitivity", "L1"))


def _in_force(grant: Mapping[str, Any], who: Who, purpose: str | None, today: date) -> bool:
    if not _names_caller(grant["to"], who):
        return False
    scenarios = grant.get("scenarios") or ()
    if scenarios and purpose not in scenarios:
        return False
    valid_from, valid_until = _day(grant.get("valid_from")), _day(grant.get("valid_until"))
    if valid_from is not None and today < valid_from:
        return False
    return valid_until is None or today < valid_until


def _request_grants(
    request: Mapping[str, Any], who: Who, purpose: str | None, today: date, dataset: Dataset
) -> bool:
    return (
        request["state"] == "APPROVED"
        and request["requester"] == who.id
        and request["purpose"] == purpose
        and request["valid_from"] <= today <= request["valid_until"]
        and f"{dataset.source_id}/{dataset.local_id}" in request["datasets"]
    )


def _agreement_grants(
    agreement: Mapping[str, Any], who: Who, purpose: str | None, today: date, dataset: Dataset
) -> bool:
    if agreement["status"] != "ACTIVE" or who.operator != agreement["operator"]:
        return False
    if agreement["scenarios"] and purpose not in agreement["scenarios"]:
        return False
    if not agreement["valid_from"] <= today <= agreement["valid_until"]:
        return False
    if dataset.share_type.value not in ("UNCONDITIONAL", "CONDITIONAL"):
        return False
    if _level(dataset.sensitivity) > _level(agreement["max_sensitivity"]):
        return False
    named = [
        dataset.department is not None and dataset.department.id in agreement["departments"],
        any(theme in agreement["themes"] for theme in dataset.themes),
        f"{dataset.source_id}/{dataset.local_id}" in agreement["datasets"],
    ]
    nothing_named = not (agreement["departments"] or agreement["themes"] or agreement["datasets"])
    return agreement["mode"] == "OVERALL" or nothing_named or any(named)


def reference_access(
    policy: Mapping[str, Any],
    who: Who,
    purpose: str | None,
    now: datetime,
    dataset: Dataset,
    issued: Mapping[str, Any] | None = None,
    today: date | None = None,
) -> Seen | None:
    """How ``who`` may see ``dataset`` under ``policy`` (and the ``issued`` grants, valid by
    ``today``) at ``now``; ``None``: not at all."""
    matching: list[tuple[str, frozenset[str]]] = []
    grade = _name(dataset.grade) if dataset.grade is not None else "GENERAL"
    # Only the own department sees these, whatever the public scope or a grant says.
    not_shared = dataset.share_type.value == "NOT_SHARED" or grade == "CORE"

    public = policy.get("public") or {}
    open_types = [_name(o) for o in public.get("open_types", ["OPEN"])]
    if (
        not not_shared
        and grade != "IMPORTANT"
        and dataset.open_type.value in open_types
        and _level(dataset.sensitivity) <= _level(public.get("max_sensitivity", "L1"))
    ):
        matching.append((_name(public.get("privilege", "use")), frozenset()))

    if not who.anonymous:
        own = dataset.department is not None and dataset.department.id == who.department
        if who.department is not None and own:
            matching.append(("use", frozenset()))
        if not not_shared:
            for grant in policy.get("grants") or ():
                if _in_force(grant, who, purpose, now.date()) and _allows(grant["allow"], dataset):
                    privilege = _name(grant.get("privilege", "discover"))
                    matching.append((privilege, frozenset(grant.get("mask") or ())))
            day = today or now.date()
            for request in (issued or {}).get("requests", ()):
                if _request_grants(request, who, purpose, day, dataset):
                    matching.append((request["privilege"], frozenset(request["mask"])))
            for agreement in (issued or {}).get("agreements", ()):
                if _agreement_grants(agreement, who, purpose, day, dataset):
                    matching.append(("use", frozenset()))

    if not matching:
        return None
    privilege = "use" if any(p == "use" for p, _ in matching) else "discover"
    masks = [mask for p, mask in matching if p == privilege]
    return Seen(privilege, frozenset.intersection(*masks))
