"""Authorization policy: who may discover or use which datasets.

The policy file (``policy.yaml``) is validated into a frozen ``Policy``. For each request,
``Policy.grant_set(caller, purpose, now)`` compiles what applies into a ``GrantSet``: a
list of clauses, each a canonical ``DatasetFilter`` with a privilege and masks. A dataset
is visible when any clause matches it. The federation engine pushes a single clause down
to sources that can apply it and always post-filters with ``GrantSet.visible``.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from connectors.sdk import DatasetFilter
from gateway.access.issued import NO_ISSUED_GRANTS, IssuedGrants
from gateway.access.jwt_settings import JwtSettings
from gateway.access.workflow_settings import WorkflowSettings
from gateway.problems import ConfigError, Problem, pydantic_problems, read_yaml
from schema.model import Dataset, Grade, OpenType, Sensitivity, ShareType


class Privilege(enum.Enum):
    DISCOVER = "discover"  # metadata only
    USE = "use"  # also access/download URLs and data items

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Privilege):
            return NotImplemented
        return self is Privilege.USE or other is Privilege.DISCOVER


MASKABLE_FIELDS = frozenset(
    {"contact_point", "distributions", "fields", "landing_page", "share_condition", "spatial"}
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PublicScope(_Strict):
    open_types: tuple[OpenType, ...] = (OpenType.OPEN,)
    max_sensitivity: Sensitivity = Sensitivity.L1
    privilege: Privilege = Privilege.USE

    @field_validator("open_types", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and not value:
            raise ValueError("an empty list would open everything; name the open types")
        return value


def _hashed_key(key: str) -> str:
    if not (key.startswith("sha256:") and len(key) == 71 and _is_hex(key[7:])):
        raise ValueError(
            "api_keys must be stored hashed as 'sha256:<64 hex digits>' "
            "(catalogue-gateway hash-key prints it); never the key in clear"
        )
    return key


HashedKey = Annotated[str, AfterValidator(_hashed_key)]


class CallerConfig(_Strict):
    id: str = Field(min_length=1)
    department: str | None = None
    roles: tuple[str, ...] = ()
    api_keys: tuple[HashedKey, ...] = Field(default=(), description="sha256:<hex> of each key")
    # The operator (授权运营) this caller works for: operation agreements with it apply.
    operator: str | None = Field(default=None, min_length=1, max_length=256)


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


class GrantTo(_Strict):
    callers: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _names_someone(self) -> GrantTo:
        if not (self.callers or self.roles or self.departments):
            raise ValueError("a grant must name callers, roles or departments")
        return self


class GrantAllow(_Strict):
    """What a grant allows. A key left out is no constraint; an empty list is refused,
    since reading it as "nothing" or as "anything" would surprise someone."""

    departments: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    share_types: tuple[ShareType, ...] = ()
    open_types: tuple[OpenType, ...] = ()
    max_sensitivity: Sensitivity = Sensitivity.L1

    @field_validator("departments", "themes", "share_types", "open_types", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and not value:
            raise ValueError(
                "an empty list would grant nothing; leave the key out for no constraint, "
                "or remove the grant"
            )
        return value


class GrantConfig(_Strict):
    id: str = Field(min_length=1)
    to: GrantTo
    allow: GrantAllow
    scenarios: tuple[str, ...] = ()
    valid_from: date | None = None
    valid_until: date | None = None
    privilege: Privilege = Privilege.DISCOVER
    mask: tuple[str, ...] = ()

    @field_validator("mask")
    @classmethod
    def _maskable(cls, mask: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(mask) - MASKABLE_FIELDS)
        if unknown:
            raise ValueError(
                f"cannot mask {', '.join(unknown)}; maskable: {', '.join(sorted(MASKABLE_FIELDS))}"
            )
        return mask

    @field_validator("valid_until")
    @classmethod
    def _after_valid_from(cls, value: date | None, info: ValidationInfo) -> date | None:
        valid_from = info.data.get("valid_from")
        if value is not None and valid_from is not None and value <= valid_from:
            raise ValueError(f"must be after valid_from ({valid_from.isoformat()})")
        return value


class PolicyFile(_Strict):
    public: PublicScope = PublicScope()
    callers: tuple[CallerConfig, ...] = ()
    grants: tuple[GrantConfig, ...] = ()
    jwt: JwtSettings | None = None
    workflows: WorkflowSettings = WorkflowSettings()


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking. ``anonymous`` callers get the public scope only."""

    id: str
    department: str | None = None
    roles: tuple[str, ...] = ()
    anonymous: bool = False
    operator: str | None = None


ANONYMOUS = Caller(id="anonymous", anonymous=True)


@dataclass(frozen=True, slots=True)
class Clause:
    """One way a caller may see datasets: a filter, a privilege and masked fields."""

    grant_id: str
    filter: DatasetFilter
    privilege: Privilege
    mask: frozenset[str] = frozenset()
    own_department: bool = False
    valid_until: date | None = None
    public: bool = False
    # Data items shown (a grant for named fields); None: every item.
    items: frozenset[str] | None = None
    # Derived from the fields above, once: every row fetched is decided against them.
    access: Access = field(init=False, repr=False, compare=False)
    _grades: tuple[Grade, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "access", Access(self.privilege, self.mask, self.items))
        if self.own_department:
            grades = tuple(Grade)
        else:
            grades = (Grade.GENERAL,) if self.public else (Grade.IMPORTANT, Grade.GENERAL)
        object.__setattr__(self, "_grades", grades)

    def matches(self, dataset: Dataset) -> bool:
        if not self.filter.matches(dataset):
            return False
        if self.own_department:
            return True
        # Whatever a grant says: NOT_SHARED and CORE data are visible to their own
        # department only; IMPORTANT data is never public (GB/T 43697).
        if dataset.share_type is ShareType.NOT_SHARED:
            return False
        return dataset.effective_grade in self._grades

    def allowed_grades(self) -> tuple[Grade, ...]:
        """The grades this clause may show (all of them for the own department)."""
        return self._grades


@dataclass(frozen=True, slots=True)
class Access:
    privilege: Privilege
    mask: frozenset[str]
    items: frozenset[str] | None = None  # data items shown; None: every one


def grant_key(clauses: tuple[Clause, ...]) -> str:
    return hashlib.sha256(repr(clauses).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class GrantSet:
    """The clauses in force for one request; the single place visibility is decided."""

    clauses: tuple[Clause, ...]
    # Names the clauses' content: equal keys decide every dataset alike (cursors and the
    # engine's memo of decisions rely on it), so it is derived here when not given.
    key: str = field(default="")

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", grant_key(self.clauses))

    def access(self, dataset: Dataset) -> Access | None:
        """How the caller may see ``dataset``, or ``None`` if they may not discover it."""
        best: Access | None = None
        for clause in self.clauses:
            if not clause.matches(dataset):
                continue
            if best is None:
                best = clause.access  # the same object for every row this clause shows
                continue
            privilege = max(best.privilege, clause.privilege, key=lambda p: p is Privilege.USE)
            if clause.privilege is best.privilege:
                mask = best.mask & clause.mask
                items = _more_items(best.items, clause.items)
            elif clause.privilege is privilege:
                mask, items = clause.mask, clause.items
            else:
                mask, items = best.mask, best.items
            best = Access(privilege, mask, items)
        return best

    def visible(self, dataset: Dataset) -> bool:
        return self.access(dataset) is not None

    def visibility(self) -> tuple[DatasetFilter, ...]:
        """One filter per clause, any of which a visible dataset satisfies.

        Sent to sources as ``SearchQuery.any_of`` so platforms return and count only what
        the caller may see; ``access`` still decides, whatever a source claims.
        """
        filters = []
        for clause in self.clauses:
            if clause.own_department:
                filters.append(clause.filter)
                continue
            # NOT_SHARED is never visible through a non-department clause, nor CORE data
            # (nor IMPORTANT data through the public one); a clause left with no share
            # type shows nothing (an empty tuple would mean "any").
            share_types = clause.filter.share_types or tuple(ShareType)
            shared = tuple(t for t in share_types if t is not ShareType.NOT_SHARED)
            grades = clause.allowed_grades()
            if clause.filter.grades:
                grades = tuple(g for g in grades if g in clause.filter.grades)
            if shared and grades:
                filters.append(replace(clause.filter, share_types=shared, grades=grades))
        return tuple(filters)


def _more_items(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """The data items two equal clauses show together (``None``: every item)."""
    if a is None or b is None:
        return None
    return a | b


@dataclass(frozen=True, slots=True)
class GrantInfo:
    """One grant of a caller as ``me`` lists it, in force for this request or not."""

    id: str
    origin: str  # policy | access_request:<id> | agreement:<id>
    privilege: Privilege
    scenarios: tuple[str, ...]
    valid_from: date | None
    valid_until: date | None  # inclusive
    in_force: bool


class Policy:
    """A validated policy file. Build with ``Policy.load(path)`` or ``Policy.parse(raw)``."""

    def __init__(self, document: PolicyFile) -> None:
        self.document = document
        self._callers_by_key: dict[str, CallerConfig] = {}
        for caller in document.callers:
            for key in caller.api_keys:
                self._callers_by_key[key[7:]] = caller

    @property
    def workflows(self) -> WorkflowSettings:
        """The ``workflows:`` block: bureau and reviewer roles, deadlines, demand limits."""
        return self.document.workflows

    @classmethod
    def default(cls) -> Policy:
        return cls(PolicyFile())

    @classmethod
    def parse(cls, raw: Any, *, source_name: str = "<policy>") -> Policy:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError(source_name, [Problem("", "the policy must be a YAML mapping")])
        problems = _cross_check(raw)  # on the raw file, so one run reports everything
        try:
            document = PolicyFile.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(source_name, [*pydantic_problems(exc), *problems]) from None
        if problems:
            raise ConfigError(source_name, problems)
        return cls(document)

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Read and validate a policy file; ``ConfigError`` lists every problem.

        An empty file is refused: read halfway through being written, it would otherwise
        take every caller's access away (or, for a file of defaults, set them).
        """
        raw = read_yaml(path)
        if raw is None:
            raise ConfigError(
                str(path),
                [Problem("", "the policy file is empty; an empty file is never taken as a policy")],
            )
        return cls.parse(raw, source_name=str(path))

    def caller_for_api_key(self, api_key: str) -> Caller | None:
        """Constant-time comparison of the key's hash against every stored hash."""
        digest = hashlib.sha256(api_key.encode()).hexdigest()
        found: CallerConfig | None = None
        for stored, caller in self._callers_by_key.items():
            if hmac.compare_digest(stored, digest):
                found = caller
        if found is None:
            return None
        return Caller(
            id=found.id, department=found.department, roles=found.roles, operator=found.operator
        )

    def grant_set(
        self,
        caller: Caller,
        purpose: str | None,
        now: datetime,
        issued: IssuedGrants = NO_ISSUED_GRANTS,
        today: date | None = None,
    ) -> GrantSet:
        """The clauses in force: the public scope, the own department, the policy file's
        grants, and the store's ``issued`` grants (approved access requests, active
        agreements of the caller's operator). ``today`` is the calendar day in the
        gateway's time zone (issued grants are valid by calendar day, inclusive)."""
        public = self.document.public
        clauses = [
            Clause(
                "public",
                DatasetFilter(open_types=public.open_types, max_sensitivity=public.max_sensitivity),
                public.privilege,
                public=True,
            )
        ]
        if not caller.anonymous:
            if caller.department:
                clauses.append(
                    Clause(
                        "own-department",
                        DatasetFilter(departments=(caller.department,)),
                        Privilege.USE,
                        own_department=True,
                    )
                )
            utc_day = now.date()
            for grant in self.document.grants:
                if not _applies(grant, caller, purpose, utc_day):
                    continue
                allow = grant.allow
                clauses.append(
                    Clause(
                        grant.id,
                        DatasetFilter(
                            departments=allow.departments,
                            themes=allow.themes,
                            share_types=allow.share_types,
                            open_types=allow.open_types,
                            max_sensitivity=allow.max_sensitivity,
                        ),
                        grant.privilege,
                        frozenset(grant.mask),
                        valid_until=grant.valid_until,
                    )
                )
            clauses += _issued_clauses(caller, purpose, issued, today or now.date())
        return GrantSet(tuple(clauses))

    def describe_grants(
        self,
        caller: Caller,
        purpose: str | None,
        now: datetime,
        issued: IssuedGrants = NO_ISSUED_GRANTS,
        today: date | None = None,
    ) -> list[GrantInfo]:
        """Every grant naming ``caller`` (``me``), with whether it is in force now."""
        if caller.anonymous:
            return []
        day = today or now.date()
        found = [
            GrantInfo(
                grant.id,
                "policy",
                grant.privilege,
                grant.scenarios,
                grant.valid_from,
                # The policy file's valid_until is exclusive; listed as the last valid day.
                grant.valid_until - timedelta(days=1) if grant.valid_until else None,
                _applies(grant, caller, purpose, now.date()),
            )
            for grant in self.document.grants
            if _names(grant, caller)
        ]
        for request in issued.for_caller(caller.id):
            found.append(
                GrantInfo(
                    request.origin,
                    request.origin,
                    Privilege(request.privilege),
                    (request.purpose,),
                    request.valid_from,
                    request.valid_until,
                    request.in_force(purpose, day),
                )
            )
        for agreement in issued.for_operator(caller.operator):
            found.append(
                GrantInfo(
                    agreement.origin,
                    agreement.origin,
                    Privilege.USE,
                    agreement.scenarios,
                    agreement.valid_from,
                    agreement.valid_until,
                    agreement.in_force(purpose, day),
                )
            )
        return found


def _issued_clauses(
    caller: Caller, purpose: str | None, issued: IssuedGrants, today: date
) -> list[Clause]:
    clauses = []
    for request in issued.for_caller(caller.id):
        if request.in_force(purpose, today):
            clauses.append(
                Clause(
                    request.origin,
                    DatasetFilter(dataset_ids=request.dataset_ids),
                    Privilege(request.privilege),
                    frozenset(request.mask),
                    valid_until=request.valid_until,
                    items=None if request.items is None else frozenset(request.items),
                )
            )
    for agreement in issued.for_operator(caller.operator):
        if agreement.in_force(purpose, today):
            clauses += [
                Clause(agreement.origin, scope, Privilege.USE, valid_until=agreement.valid_until)
                for scope in agreement.filters()
            ]
    return clauses


def _names(grant: GrantConfig, caller: Caller) -> bool:
    to = grant.to
    return (
        caller.id in to.callers
        or bool(set(caller.roles) & set(to.roles))
        or (caller.department is not None and caller.department in to.departments)
    )


def _applies(grant: GrantConfig, caller: Caller, purpose: str | None, today: date) -> bool:
    if not _names(grant, caller):
        return False
    if grant.scenarios and purpose not in grant.scenarios:
        return False
    if grant.valid_from and today < grant.valid_from:
        return False
    return not (grant.valid_until and today >= grant.valid_until)


def _cross_check(raw: Mapping[str, Any]) -> list[Problem]:
    """What one entry cannot check alone: unique ids, keys, known callers.

    Works on the raw file (skipping what is malformed: the schema reports that), so these
    problems are reported in the same run as the schema's.
    """
    callers = _entries(raw.get("callers"))
    grants = _entries(raw.get("grants"))
    problems: list[Problem] = []
    problems += _duplicates(((i, c.get("id")) for i, c in callers), "callers", "id")
    problems += _duplicates(((i, g.get("id")) for i, g in grants), "grants", "id")
    seen_keys: dict[str, Any] = {}
    for index, caller in callers:
        keys = caller.get("api_keys")
        for position, key in enumerate(keys if isinstance(keys, list) else ()):
            if not isinstance(key, str):
                continue
            if key in seen_keys and seen_keys[key] != caller.get("id"):
                problems.append(
                    Problem(
                        f"callers[{index}].api_keys[{position}]",
                        f"key also used by {seen_keys[key]!r}",
                    )
                )
            seen_keys[key] = caller.get("id")
    known_callers = {c.get("id") for _, c in callers}
    for index, grant in grants:
        to = grant.get("to")
        named = to.get("callers") if isinstance(to, dict) else None
        for position, name in enumerate(named if isinstance(named, list) else ()):
            if isinstance(name, str) and name not in known_callers:
                problems.append(
                    Problem(f"grants[{index}].to.callers[{position}]", f"unknown caller {name!r}")
                )
    return problems


def _entries(value: Any) -> list[tuple[int, dict[str, Any]]]:
    if not isinstance(value, list):
        return []
    return [(index, entry) for index, entry in enumerate(value) if isinstance(entry, dict)]


def _duplicates(ids: Iterable[tuple[int, Any]], section: str, key: str) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for index, value in ids:
        if not isinstance(value, str):
            continue
        if value in seen:
            problems.append(
                Problem(
                    f"{section}[{index}].{key}",
                    f"duplicate {value!r} (also {section}[{seen[value]}])",
                )
            )
        seen.setdefault(value, index)
    return problems


def hash_api_key(api_key: str) -> str:
    """The form a key is stored in: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(api_key.encode()).hexdigest()
