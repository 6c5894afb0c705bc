"""Compiled completion: the execution fast path for the catalogue types.

graphql-core completes an answer field by field: for each of the ~200 fields of a
20-dataset page it builds a resolve info, calls strawberry's wrapper, checks awaitables,
walks the type (non-null, list, leaf, object) and collects the sub-selection again. Here,
as graphql-jit does for graphql-js, the selection below a field is compiled once into a
plan: one generated function per object type and selection (reading attributes
directly, checking the common String/ID case inline) and small closures for lists, enums
and other scalars. Plans are kept per schema (``Plans``, bounded), per selection (the
parsed document's field nodes, which strawberry's parser cache keeps the same for the
same text) and per value of the variables its ``@include`` / ``@skip`` read.

What runs as before: parsing, validation and ``QueryLimits`` (strawberry's parser and
validation caches memoise them per document), variable coercion, and every **root**
resolver, called by graphql-core with its arguments and ``Info`` (so the context's side
effects -- audit fields, source reports, withheld counts, grant checks -- are the same).

What a plan covers: completing an object of a strawberry type whose selected fields are
plain attributes or one of ``PURE_RESOLVERS`` called without arguments; aliases; inline
and named fragments with their type conditions; ``@include`` / ``@skip`` (the plan is kept
per value of the variables they name); ``__typename``; lists; enums and scalars
(serialised by the schema's own ``coerce_output_value``, so dates and ids read exactly as
on the plain path); null values.

What it does not cover, left to graphql-core: fields with arguments below the root
(``title(lang:)``), resolvers with ``Info`` or side effects (``Dataset.quality``,
``DatasetCopy.dataset``), interfaces and unions below the root, introspection, ``@defer``.
A plan is not built for such a selection, and graphql-core completes it as before.

Errors: a plan never makes an error itself. When anything unexpected happens while a plan
runs (a getter raises, a non-null field is null, a value has an unexpected type), the
plan's partial answer is dropped and graphql-core completes the same object from the
start, so messages, paths, locations, extensions and null propagation are graphql-core's.
The completion of these types reads values and has no side effect, so doing it twice is
safe. The plain path stays the oracle: ``graphql.fast_path: false`` switches this off, and
``tests/gateway/api/test_compiled.py`` compares both byte for byte.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cachetools import LRUCache
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    InlineFragmentNode,
    SelectionSetNode,
    Undefined,
    VariableNode,
    is_enum_type,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, collect_subfields
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

# Resolvers a plan may call with the source alone: synchronous, no ``Info``, no side
# effect, and called only when the field has no arguments (their arguments are optional).
PURE_RESOLVERS = frozenset(
    {
        ("Dataset", "title"),
        ("Dataset", "description"),
        ("Dataset", "keywords"),
        ("Dataset", "language"),
        ("Dataset", "languages"),
        ("Dataset", "alsoPublishedBy"),
        ("DatasetEdge", "cursor"),
    }
)

Complete = Callable[[Any], Any]
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_MISSING = object()


class _Bail(Exception):
    """The plan met something it does not complete itself; graphql-core takes over."""


_BAIL = _Bail()


@dataclass(slots=True)
class _Entry:
    """The plans of one selection (one list of field nodes, one object type)."""

    nodes: tuple[FieldNode, ...]  # held so that the ids in the key are never reused
    variables: tuple[str, ...]  # the variables its @include / @skip read
    plans: dict[tuple[Any, ...], Complete | None] = field(default_factory=dict)


class Plans:
    """The compiled plans of one schema, bounded (least recently used dropped first)."""

    def __init__(self, maxsize: int = 1024) -> None:
        self._entries: LRUCache[tuple[Any, ...], _Entry] = LRUCache(maxsize=maxsize)
        self.compiled = 0  # plans built (a cache miss)
        self.fallbacks = 0  # objects graphql-core completed (no plan, or the plan gave up)

    def __len__(self) -> int:
        return len(self._entries)


class CompiledExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, with object completion through compiled plans.

    ``build_schema`` makes a subclass per schema that sets ``plans``."""

    plans: Plans = Plans()

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        # Within a request, the items of a list share one field_details_list (graphql-core
        # memoises its sub-fields the same way): one lookup for all of them.
        memo = self.__dict__.setdefault("_plan_memo", {})
        found = memo.get((return_type, id(field_details_list)))
        if found is None:
            found = (field_details_list, self._plan(return_type, field_details_list))
            memo[(return_type, id(field_details_list))] = found  # the list is held too
        plan = found[1]
        if plan is not None:
            try:
                return plan(result)
            except Exception:  # noqa: BLE001 - graphql-core completes it and reports
                pass
        self.plans.fallbacks += 1
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _plan(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Complete | None:
        key: tuple[Any, ...] = (return_type, *(id(d.node) for d in field_details_list))
        entries = self.plans._entries
        entry = entries.get(key)
        if entry is None or any(
            e is not d.node for e, d in zip(entry.nodes, field_details_list, strict=True)
        ):
            nodes = tuple(d.node for d in field_details_list)
            entry = _Entry(nodes, tuple(sorted(_directive_variables(self, nodes))))
            entries[key] = entry
        coerced = self.variable_values.coerced
        values = tuple(coerced.get(name, _MISSING) for name in entry.variables)
        try:
            return entry.plans[values]
        except KeyError:
            pass
        except TypeError:  # a value that cannot be a key: no plan
            return None
        plan = self._compile_object(return_type, field_details_list)
        entry.plans[values] = plan
        self.plans.compiled += 1
        return plan

    # -- compiling ----------------------------------------------------------------------

    def _compile_object(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Complete | None:
        definition = object_type.extensions.get("strawberry-definition")
        if not isinstance(definition, StrawberryObjectDefinition):
            return None
        if any(
            d.defer_usage is not None or d.fragment_variable_values is not None
            for d in field_details_list
        ):
            return None
        grouped, defer_usages, forbidden = collect_subfields(
            self.schema,
            self.fragments,
            self.variable_values,
            self.operation,
            object_type,
            field_details_list,
            self.hide_suggestions,
        )
        if defer_usages or forbidden:
            return None
        steps: list[_Step] = []
        for response_key, sub in grouped.items():
            step = self._compile_field(object_type, sub)
            if step is None or not response_key.isidentifier():
                return None
            steps.append(_Step(response_key, *step))
        return _object_plan(definition.origin, tuple(steps))

    def _compile_field(
        self, object_type: GraphQLObjectType, sub: FieldDetailsList
    ) -> tuple[Complete, Complete, str | None, str, Complete | None] | None:
        """The getter, the completion, the attribute the getter reads (if it is one), how
        the plan's code may inline the completion (``_object_plan``) and the plan of the
        object type inside the field's type, if there is one."""
        name = sub[0].node.name.value
        if name == "__typename":
            typename = object_type.name
            return (lambda _source: typename), _identity, None, "typename", None
        if name.startswith("__") or any(d.node.arguments or _directed(d.node) for d in sub):
            return None
        graphql_field = object_type.fields.get(name)
        if graphql_field is None:
            return None
        getter = _getter(object_type, name, graphql_field)
        if getter is None:
            return None
        object_plans: list[Complete] = []
        complete = self._compile_type(graphql_field.type, sub, object_plans)
        if complete is None:
            return None
        attribute = getattr(getter, "attribute", None)
        inside = object_plans[0] if object_plans else None
        return getter, complete, attribute, _inline_kind(graphql_field.type), inside

    def _compile_type(
        self, type_: GraphQLOutputType, sub: FieldDetailsList, object_plans: list[Complete]
    ) -> Complete | None:
        """The completion of ``type_``; the plan of the object type inside it, if any, is
        appended to ``object_plans``."""
        if isinstance(type_, GraphQLNonNull):
            inner = self._compile_type(type_.of_type, sub, object_plans)
            return None if inner is None else _non_null(inner)
        if isinstance(type_, GraphQLList):
            inner = self._compile_type(type_.of_type, sub, object_plans)
            return None if inner is None else _list(inner)
        if is_leaf_type(type_):
            return _leaf(type_)  # type: ignore[arg-type]
        if isinstance(type_, GraphQLObjectType):
            plan = self._compile_object(type_, sub)
            if plan is not None:
                object_plans.append(plan)
            return None if plan is None else _nullable(plan)
        return None  # interfaces and unions below the root: graphql-core


# -- plan pieces --------------------------------------------------------------------------


def _directed(node: FieldNode) -> bool:
    """Whether a directive other than @include / @skip is on the field."""
    return any(d.name.value not in ("include", "skip") for d in node.directives or ())


def _identity(value: Any) -> Any:
    return value


class _Step(NamedTuple):
    """One field of an object's plan (``_compile_field`` says what each part is)."""

    key: str
    get: Complete
    complete: Complete
    attribute: str | None
    kind: str
    inside: Complete | None


# The leaf types whose common case the plan's code checks inline: the Python type their
# values usually have, and what else makes a value uncommon (``{v}``: the value), if any.
_INLINE_LEAVES = {
    "String": ("str", ""),
    "ID": ("str", ""),
    "Boolean": ("bool", ""),
    "Int": ("int", f" or not {_INT_MIN} <= {{v}} <= {_INT_MAX}"),
}


def _inline_kind(type_: GraphQLOutputType) -> str:
    """How the plan's code completes a field of ``type_`` (``!``: non-null):
    ``leaf:String`` / ``leaf:String!`` and the like for the ``_INLINE_LEAVES``, whose
    common case it checks inline; ``object`` / ``object!`` for an object type, whose plan
    it calls directly; ``objects`` / ``objects?`` for a list of non-null / nullable
    objects, whose plan it calls per item of a list; ``call`` for anything else. Whatever
    the common case does not cover goes to the field's completion, as before."""
    non_null = isinstance(type_, GraphQLNonNull)
    named = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    bang = "!" if non_null else ""
    if isinstance(named, GraphQLScalarType) and named.name in _INLINE_LEAVES:
        return f"leaf:{named.name}{bang}"
    if isinstance(named, GraphQLObjectType):
        return f"object{bang}"
    if isinstance(named, GraphQLList):
        item = named.of_type
        if isinstance(item, GraphQLNonNull) and isinstance(item.of_type, GraphQLObjectType):
            return "objects"
        if isinstance(item, GraphQLObjectType):
            return "objects?"
    return "call"


def _step_lines(i: int, value: str, kind: str) -> list[str]:
    """The code that sets ``v{i}`` to the completed ``value`` of step ``i``, for a
    ``kind`` of ``_inline_kind`` other than ``typename``. ``c{i}`` is the step's
    completion, ``p{i}`` the plan of the object type inside."""
    v, c, p = f"v{i}", f"c{i}", f"p{i}"
    lines = [f"    {v} = {value}"]
    if kind.startswith("leaf:"):
        python_type, extra = _INLINE_LEAVES[kind[5:].rstrip("!")]
        odd = f"type({v}) is not {python_type}{extra.format(v=v)}"
        if not kind.endswith("!"):
            odd = f"{v} is not None and ({odd})"
        return [*lines, f"    if {odd}:", f"        {v} = {c}({v})"]
    if kind == "object!":  # the plan refuses None (not its type): graphql-core reports it
        return [f"    {v} = {p}({value})"]
    if kind == "object":
        return [*lines, f"    if {v} is not None:", f"        {v} = {p}({v})"]
    if kind in ("objects", "objects?"):
        item = f"{p}(x)" if kind == "objects" else f"None if x is None else {p}(x)"
        return [
            *lines,
            f"    if type({v}) is list:",
            f"        {v} = [{item} for x in {v}]",
            "    else:",
            f"        {v} = {c}({v})",
        ]
    return [f"    {v} = {c}({value})"]


def _object_plan(origin: type, steps: tuple[_Step, ...]) -> Complete:
    """The plan of one object as one generated function: reads each field in order,
    checks the common leaf case inline, calls the plans of objects inside directly and
    calls the completion otherwise (as graphql-jit generates JavaScript). Response keys
    are GraphQL names and attributes Python identifiers, so they are written into the
    code as they are."""
    env: dict[str, Any] = {"origin": origin, "BAIL": _BAIL}
    lines = ["def plan(source):", "    if type(source) is not origin:", "        raise BAIL"]
    for i, step in enumerate(steps):
        env[f"g{i}"], env[f"c{i}"], env[f"p{i}"] = step.get, step.complete, step.inside
        if step.kind == "typename":
            env[f"v{i}"] = step.get(None)
            continue
        attribute = step.attribute
        value = f"source.{attribute}" if attribute and attribute.isidentifier() else f"g{i}(source)"
        lines += _step_lines(i, value, step.kind)
    # Response keys are names (_compile_object checks): written into the code as they are.
    fields = ", ".join(f"{step.key!r}: v{i}" for i, step in enumerate(steps))
    lines.append("    return {" + fields + "}")
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), env, namespace)  # noqa: S102 - code built from names only
    plan: Complete = namespace["plan"]
    return plan


def _nullable(inner: Complete) -> Complete:
    def complete(value: Any) -> Any:
        return None if value is None else inner(value)

    return complete


def _non_null(inner: Complete) -> Complete:
    def complete(value: Any) -> Any:
        completed = inner(value)
        if completed is None:
            raise _BAIL  # graphql-core reports it and nulls the nearest nullable parent
        return completed

    return complete


def _list(inner: Complete) -> Complete:
    def complete(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is not list and type(value) is not tuple:
            raise _BAIL
        return [inner(item) for item in value]

    return complete


def _leaf(type_: GraphQLScalarType) -> Complete:
    coerce = type_.coerce_output_value
    name = type_.name

    def checked(value: Any) -> Any:
        if value is Undefined:  # graphql-core makes it null; let it
            raise _BAIL
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _BAIL
        return coerced

    if is_enum_type(type_):
        return _nullable(checked)
    if name in ("String", "ID"):
        return _nullable(_fast_when(str, checked))
    if name == "Boolean":
        return _nullable(_fast_when(bool, checked))
    if name == "Int":

        def integer(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is int and _INT_MIN <= value <= _INT_MAX:
                return value
            return checked(value)

        return integer
    if name == "Float":

        def number(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is float and math.isfinite(value):
                return value
            return checked(value)

        return number
    return _nullable(checked)


def _fast_when(kind: type, checked: Complete) -> Complete:
    def complete(value: Any) -> Any:
        return value if type(value) is kind else checked(value)

    return complete


def _getter(
    object_type: GraphQLObjectType, name: str, graphql_field: GraphQLField
) -> Complete | None:
    strawberry_field = graphql_field.extensions.get("strawberry-definition")
    if not isinstance(strawberry_field, StrawberryField) or strawberry_field.extensions:
        return None
    if getattr(strawberry_field, "permission_classes", None):
        return None
    resolver = strawberry_field.base_resolver
    if resolver is None:
        return _Attribute(strawberry_field.python_name)
    if (object_type.name, name) not in PURE_RESOLVERS or resolver.is_async:
        return None
    function: Complete = resolver.wrapped_func  # type: ignore[assignment]
    return function


class _Attribute:
    """Reads one attribute (the plan's code reads ``attribute`` directly)."""

    __slots__ = ("attribute",)

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute

    def __call__(self, source: Any) -> Any:
        return getattr(source, self.attribute)


def _directive_variables(
    context: CompiledExecutionContext, nodes: tuple[FieldNode, ...]
) -> set[str]:
    """The variables any directive below ``nodes`` reads (fragments followed once)."""
    found: set[str] = set()
    seen: set[str] = set()

    def selections(selection_set: SelectionSetNode | None) -> Iterator[Any]:
        for selection in selection_set.selections if selection_set else ():
            for directive in selection.directives or ():
                for argument in directive.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        found.add(argument.value.name.value)
            if isinstance(selection, FragmentSpreadNode):
                fragment_name = selection.name.value
                if fragment_name in seen:
                    continue
                seen.add(fragment_name)
                details = context.fragments.get(fragment_name)
                if details is not None:
                    yield details.definition.selection_set
            elif isinstance(selection, InlineFragmentNode | FieldNode):
                yield selection.selection_set

    pending: list[SelectionSetNode | None] = [node.selection_set for node in nodes]
    while pending:
        pending.extend(selections(pending.pop()))
    return found


def execution_context_for(plans: Plans) -> type[CompiledExecutionContext]:
    """A ``CompiledExecutionContext`` subclass whose plans live in ``plans``."""
    return type("SchemaExecutionContext", (CompiledExecutionContext,), {"plans": plans})
