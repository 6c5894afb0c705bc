"""The REST connector's filter pushdown: which canonical filters become which parameters.

A filter is pushed only when the platform would keep exactly the records the gateway
would: records that state no class (or no department) get the source's default, which
the platform cannot know, so a filter that wants the default is left to the gateway. A
pushed filter is claimed as applied unless the mapping says the platform's filter only
narrows (``exact: false``). The caller's visibility (``SearchQuery.any_of``) is pushed
when it is one clause the platform can apply exactly, conjoined with the filter.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TypeVar

from connectors._rest_records import FieldRecipe, parse_tz
from connectors.rest_config import CLASS_FIELDS, FilterOptions
from connectors.sdk import DatasetFilter, FilterName, SearchQuery, SourceSettings
from connectors.sdk._valuemap import ValueMap
from schema.model import Dataset, Grade, OpenType, Sensitivity, ShareType

log = logging.getLogger("connectors.rest")

E = TypeVar("E")

# Attributes a record has one value of: "any of A" and "any of B" is "any of A and B".
_SINGLE_VALUED = frozenset(
    {FilterName.DEPARTMENTS, FilterName.SHARE_TYPES, FilterName.OPEN_TYPES, FilterName.GRADES}
)


@dataclass(frozen=True, slots=True)
class Pushed:
    """What a search sends for its filters, and what that lets it claim."""

    params: tuple[tuple[str, str], ...]
    applied: frozenset[FilterName]
    any_of_applied: bool


@dataclass(frozen=True, slots=True)
class FilterRule:
    """How one canonical filter is asked of the platform."""

    name: FilterName
    param: str
    multiple: str
    separator: str
    exact: bool
    exclude: bool
    values: Mapping[str, tuple[str, ...]]
    value_map: ValueMap | None
    date_format: str | None
    tz: tzinfo

    @classmethod
    def build(
        cls, name: FilterName, spec: FilterOptions, fields: Mapping[str, FieldRecipe]
    ) -> FilterRule:
        explicit = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in spec.values.items()}
        source_field = CLASS_FIELDS.get(name) or (
            "department_id" if name is FilterName.DEPARTMENTS else name.value
        )
        recipe = fields.get(source_field)
        return cls(
            name=name,
            param=spec.param,
            multiple=spec.multiple,
            separator=spec.separator,
            exact=spec.exact,
            exclude=spec.exclude,
            values=explicit,
            value_map=recipe.values if recipe is not None else None,
            date_format=spec.format,
            tz=parse_tz(spec.timezone),
        )

    def spellings(self, canonical: str) -> tuple[str, ...]:
        """The platform values meaning ``canonical`` (from ``values`` or the field's map)."""
        if self.values:
            return self.values.get(canonical, ())
        if self.value_map is None:
            return () if self.name in CLASS_FIELDS else (canonical,)
        found = self.value_map.spellings(canonical)
        # Outside the closed class vocabularies, a value the map does not know passes
        # through as itself (see ValueMap), so the platform may use it as it is.
        passes = self.value_map.fallback is None and not self.value_map.knows(canonical)
        if passes and self.name not in CLASS_FIELDS:
            found = (*found, canonical)
        return found

    def params(self, values: Sequence[str]) -> list[tuple[str, str]]:
        if self.multiple == "repeat":
            return [(self.param, v) for v in values]
        return [(self.param, self.separator.join(values))]

    def format_date(self, moment: datetime) -> str:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        local = moment.astimezone(self.tz)
        if self.date_format is None:
            return local.isoformat()
        if local.microsecond and "%f" not in self.date_format:
            # The platform compares whole seconds: t >= 10:00:00.5 is t >= 10:00:01.
            local = local.replace(microsecond=0) + timedelta(seconds=1)
        return local.strftime(self.date_format)


class Pushdown:
    """Turns a ``SearchQuery``'s filters into platform parameters for one source."""

    def __init__(
        self,
        settings: SourceSettings,
        filters: Mapping[FilterName, FilterOptions],
        fields: Mapping[str, FieldRecipe],
    ) -> None:
        self.settings = settings
        self.fields = fields
        self.rules = {name: FilterRule.build(name, spec, fields) for name, spec in filters.items()}

    def plan(self, query: SearchQuery) -> Pushed | None:
        """Parameters for what the platform can apply; ``None``: nothing can match."""
        combined = query.filter
        any_of_applied = False
        alternatives = query.any_of
        if not alternatives or any(not alt.active() for alt in alternatives):
            any_of_applied = True  # no visibility, or one alternative that admits everything
        elif len(alternatives) == 1 and self._pushes_exactly(alternatives[0]):
            expressible, conjunction = conjoin(query.filter, alternatives[0])
            if expressible:
                if conjunction is None:
                    return None
                combined, any_of_applied = conjunction, True
        params: list[tuple[str, str]] = []
        applied: set[FilterName] = set()
        for name in combined.active():
            if self._trivial(name, combined):
                applied.add(name)
                continue
            rule = self.rules.get(name)
            # A filter wanting the source default would drop the records that state no
            # class (they have the default): not pushed at all, the gateway filters.
            if rule is not None and rule.exclude and _complement(name, combined) == ():
                applied.add(name)  # nothing to leave out
                continue
            if rule is None or not self._exact(name, combined, rule.exclude):
                continue
            values = self._platform_values(rule, combined)
            if values is None:
                continue
            if not values:
                return None
            params += rule.params(values)
            if rule.exact:
                applied.add(name)
        if any_of_applied and len(alternatives) == 1:
            any_of_applied = alternatives[0].active() <= applied
        return Pushed(tuple(params), frozenset(applied & query.filter.active()), any_of_applied)

    def verified(
        self, claimed: frozenset[FilterName], f: DatasetFilter, datasets: Iterable[Dataset]
    ) -> frozenset[FilterName]:
        """``claimed`` less any filter a returned record contradicts."""
        kept = set(claimed)
        for dataset in datasets:
            for name in list(kept):
                if not f.matches_one(name, dataset):
                    log.warning(
                        "source %s: the platform's %s filter let %r through; "
                        "the gateway will filter instead",
                        self.settings.id,
                        name.value,
                        dataset.local_id,
                    )
                    kept.discard(name)
        return frozenset(kept)

    def _trivial(self, name: FilterName, f: DatasetFilter) -> bool:
        """A filter every record passes: GENERAL among the wanted grades of a mapping that
        reads no grade (every record is then general data)."""
        return (
            name is FilterName.GRADES and "grade" not in self.fields and Grade.GENERAL in f.grades
        )

    def _pushes_exactly(self, f: DatasetFilter) -> bool:
        for name in f.active():
            if self._trivial(name, f):
                continue
            rule = self.rules.get(name)
            if rule is not None and rule.exclude and _complement(name, f) == ():
                continue
            if rule is None or not rule.exact or not self._exact(name, f, rule.exclude):
                return False
            if self._platform_values(rule, f) is None:
                return False
        return True

    def _exact(self, name: FilterName, f: DatasetFilter, exclude: bool = False) -> bool:
        """Would the platform keep exactly the records the canonical filter keeps?

        An ``exclude`` parameter keeps the records stating no class: exact when the
        default is wanted, where an include parameter is exact when it is not."""
        if exclude:
            return not self._exact(name, f)
        defaults = self.settings.defaults
        match name:
            case FilterName.SHARE_TYPES:
                share = self._default("share_type", ShareType, defaults.share_type)
                return share not in f.share_types
            case FilterName.OPEN_TYPES:
                open_ = self._default("open_type", OpenType, defaults.open_type)
                return open_ not in f.open_types
            case FilterName.MAX_SENSITIVITY:
                level = self._default("sensitivity", Sensitivity, defaults.sensitivity)
                assert f.max_sensitivity is not None
                return not level <= f.max_sensitivity
            case FilterName.GRADES:
                return self._default("grade", Grade, Grade.GENERAL) not in f.grades
            case FilterName.DEPARTMENTS:
                own = self.settings.department
                return own is None or own.id not in f.departments
            case _:
                return True

    def _default(self, field: str, enum: type[E], fallback: E) -> E:
        """The class of a record that states none: the field's default, else the source's."""
        recipe = self.fields.get(field)
        if recipe is not None and recipe.default is not None:
            try:
                return enum(str(recipe.default))  # type: ignore[call-arg]
            except ValueError:
                pass
        return fallback

    def _platform_values(self, rule: FilterRule, f: DatasetFilter) -> list[str] | None:
        """The platform's values for ``rule``'s filter in ``f``; ``None``: cannot express."""
        name = rule.name
        wanted: Sequence[str]
        if rule.exclude:
            left_out = _complement(name, f)
            if left_out is None:
                return None
            wanted = [v.value for v in left_out]
            raw_out: list[str] = []
            for value in wanted:
                raw_out += [s for s in rule.spellings(value) if s not in raw_out]
            return raw_out if raw_out and (len(raw_out) == 1 or rule.multiple != "single") else None
        match name:
            case FilterName.MAX_SENSITIVITY:
                assert f.max_sensitivity is not None
                wanted = [s.value for s in Sensitivity if s <= f.max_sensitivity]
            case FilterName.MODIFIED_AFTER | FilterName.MODIFIED_BEFORE:
                moment = getattr(f, name.value)
                assert isinstance(moment, datetime)
                return [rule.format_date(moment)]
            case FilterName.SHARE_TYPES | FilterName.OPEN_TYPES | FilterName.GRADES:
                wanted = [v.value for v in getattr(f, name.value)]
            case _:
                wanted = list(getattr(f, name.value))
        raw: list[str] = []
        for value in wanted:
            spellings = rule.spellings(value)
            if not spellings:
                return None  # a wanted value the platform cannot be asked for
            raw += [s for s in spellings if s not in raw]
        if len(raw) > 1 and rule.multiple == "single":
            return None
        return raw


_EXCLUDABLE: Mapping[FilterName, type[Grade] | type[ShareType] | type[OpenType]] = {
    FilterName.GRADES: Grade,
    FilterName.SHARE_TYPES: ShareType,
    FilterName.OPEN_TYPES: OpenType,
}


def _complement(name: FilterName, f: DatasetFilter) -> tuple[Any, ...] | None:
    """The class values ``f`` does not want (for an ``exclude`` parameter); ``None`` for a
    filter that is not a class list."""
    enum = _EXCLUDABLE.get(name)
    if enum is None:
        return None
    wanted = getattr(f, name.value)
    return tuple(v for v in enum if v not in wanted)


def conjoin(a: DatasetFilter, b: DatasetFilter) -> tuple[bool, DatasetFilter | None]:
    """``(expressible, one filter matching what matches both)``; ``None``: nothing can.

    A multi-valued attribute (themes, keywords, formats) constrained on both sides is
    not expressible as one filter: "any of A" and "any of B" is not "any of A and B".
    """
    changes: dict[str, Any] = {}
    for name in a.active() & b.active():
        left, right = getattr(a, name.value), getattr(b, name.value)
        if name in _SINGLE_VALUED:
            both = tuple(v for v in left if v in right)
            if not both:
                return True, None
            changes[name.value] = both
        elif name is FilterName.MAX_SENSITIVITY:
            changes[name.value] = left if left <= right else right
        elif name is FilterName.MODIFIED_AFTER:
            changes[name.value] = max(left, right)
        elif name is FilterName.MODIFIED_BEFORE:
            changes[name.value] = min(left, right)
        else:
            return False, None
    for name in b.active() - a.active():
        changes[name.value] = getattr(b, name.value)
    return True, replace(a, **changes)
