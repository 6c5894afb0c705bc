"""What a new policy file would open up compared with the one in force.

A file read while it is being written is a prefix of the new file: at a line break it is
often valid YAML and a valid policy, with the keys of its last grant missing. A missing
key means "no constraint", so a prefix can drop a grant's ``scenarios`` or ``mask`` and
widen it. ``widenings(old, new)`` lists every way ``new`` lets someone see more through a
grant (same ``id``) or the public scope that ``old`` already had, each with its key path
in ``new``; the automatic reload refuses a file with any::

    for problem in widenings(holder.current.document, candidate.document):
        print(problem)          # grants[0].scenarios: no longer bound to a scenario (was: x)

New grants and removed grants are not widenings of an existing grant: removing narrows,
and a new grant is new. In the ``jwt:`` block, a key that was written and is now missing
counts too (its default, e.g. the allowed algorithms or the leeway, may accept more).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from pydantic import BaseModel

from gateway.access.policy import GrantConfig, PolicyFile, Privilege, PublicScope
from gateway.problems import Problem
from schema.model import Sensitivity

__all__ = ["widenings"]

_LEVELS = list(Sensitivity)


def widenings(old: PolicyFile, new: PolicyFile) -> list[Problem]:
    """Every way ``new`` widens the public scope or a grant that ``old`` has too."""
    problems = _public(old.public, new.public)
    if old.jwt is not None and new.jwt is not None:
        problems += _unset("jwt", old.jwt, new.jwt)
    before = {grant.id: grant for grant in old.grants}
    for index, grant in enumerate(new.grants):
        previous = before.get(grant.id)
        if previous is not None:
            problems += _grant(previous, grant, f"grants[{index}]")
    return problems


def _public(old: PublicScope, new: PublicScope) -> list[Problem]:
    problems = _added("public.open_types", old.open_types, new.open_types)
    problems += _higher("public.max_sensitivity", old.max_sensitivity, new.max_sensitivity)
    problems += _privilege("public.privilege", old.privilege, new.privilege)
    return problems


def _grant(old: GrantConfig, new: GrantConfig, path: str) -> list[Problem]:
    problems: list[Problem] = []
    for who in ("callers", "roles", "departments"):
        problems += _added(f"{path}.to.{who}", getattr(old.to, who), getattr(new.to, who))
    for key in ("departments", "themes", "share_types", "open_types"):
        problems += _narrowing_list(
            f"{path}.allow.{key}", getattr(old.allow, key), getattr(new.allow, key)
        )
    problems += _higher(
        f"{path}.allow.max_sensitivity", old.allow.max_sensitivity, new.allow.max_sensitivity
    )
    if old.scenarios and not new.scenarios:
        problems.append(
            Problem(
                f"{path}.scenarios",
                f"no longer bound to a scenario (was: {', '.join(old.scenarios)})",
            )
        )
    else:
        problems += _added(f"{path}.scenarios", old.scenarios, new.scenarios)
    unmasked = [field for field in old.mask if field not in new.mask]
    if unmasked:
        problems.append(Problem(f"{path}.mask", f"no longer masks {', '.join(unmasked)}"))
    if old.valid_from is not None and (new.valid_from is None or new.valid_from < old.valid_from):
        shown = new.valid_from.isoformat() if new.valid_from else "no start"
        problems.append(
            Problem(f"{path}.valid_from", f"starts earlier: {shown} (was {old.valid_from})")
        )
    if old.valid_until is not None and (
        new.valid_until is None or new.valid_until > old.valid_until
    ):
        shown = new.valid_until.isoformat() if new.valid_until else "no end"
        problems.append(
            Problem(f"{path}.valid_until", f"ends later: {shown} (was {old.valid_until})")
        )
    problems += _privilege(f"{path}.privilege", old.privilege, new.privilege)
    return problems


def _unset(path: str, old: BaseModel, new: BaseModel) -> list[Problem]:
    """Keys of a settings block that were written and are now missing (so back to their
    defaults): for the ``jwt:`` block a default may accept more (algorithms, leeway, claims)."""
    problems = []
    for key in sorted(old.model_fields_set - new.model_fields_set):
        problems.append(Problem(f"{path}.{key}", "no longer set (it takes its default)"))
    for key in sorted(old.model_fields_set & new.model_fields_set):
        before, after = getattr(old, key), getattr(new, key)
        if isinstance(before, BaseModel) and isinstance(after, BaseModel):
            problems += _unset(f"{path}.{key}", before, after)
    return problems


def _narrowing_list(path: str, old: Iterable[object], new: Iterable[object]) -> list[Problem]:
    """An ``allow`` list: empty means "any", so losing it is the widest change of all."""
    old, new = tuple(old), tuple(new)
    if old and not new:
        return [Problem(path, f"no longer restricted (was: {_names(old)})")]
    if not old:
        return []
    return _added(path, old, new)


def _added(path: str, old: Iterable[object], new: Iterable[object]) -> list[Problem]:
    before = set(old)
    extra = [value for value in new if value not in before]
    return [Problem(path, f"adds {_names(extra)}")] if extra else []


def _higher(path: str, old: Sensitivity, new: Sensitivity) -> list[Problem]:
    if _LEVELS.index(new) > _LEVELS.index(old):
        return [Problem(path, f"raised to {new.value} (was {old.value})")]
    return []


def _privilege(path: str, old: Privilege, new: Privilege) -> list[Problem]:
    if old is Privilege.DISCOVER and new is Privilege.USE:
        return [Problem(path, "raised to use (was discover)")]
    return []


def _names(values: Iterable[object]) -> str:
    return ", ".join(str(v.value) if isinstance(v, Enum) else str(v) for v in values)
