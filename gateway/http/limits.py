"""How big a GraphQL document may be: depth, aliases, tokens and estimated cost.

``QueryLimits`` is built once per schema from the ``limits.query`` section of gateway.yaml;
``QueryLimits.extensions()`` goes into ``strawberry.Schema(extensions=...)``. Its
validation rules are created once, so every request passes the same rule classes and
strawberry's ``ValidationCache`` (keyed by them) hits::

    limits = QueryLimits(QueryLimitsConfig(max_cost=5_000), max_first=100)
    schema = strawberry.Schema(query=Query, extensions=[*limits.extensions(), ...])

The cost is an estimate of how many objects the answer can hold, made before anything
runs, with the request's variables:

- a field returning an object costs 1 for each time it appears in the answer;
- a list field costs its length: its ``first`` argument, or for ``edges`` the ``first`` of
  its connection (default 20, capped at ``graphql.max_first``), or else ``list_size``;
- what a field selects is multiplied by the field's count;
- scalars, enums and introspection (``__schema``, ``__type``) cost nothing.

So ``datasets(first: 50) { edges { node { title distributions { format } } } }`` costs
1 (datasets) + 50 (edges) + 50 (node) + 50 x 10 (distributions) = 601. A document over
``max_cost`` is refused before any source is called, with ``extensions.code``
``QUERY_TOO_COSTLY``, the estimate and the limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from cachetools import LRUCache
from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_operation_ast,
    is_leaf_type,
    value_from_ast,
)
from pydantic import BaseModel, ConfigDict, Field
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    SchemaExtension,
)

from gateway.access import RateLimitConfig

DEFAULT_FIRST = 20


class QueryLimitsConfig(BaseModel):
    """The ``limits.query`` section of gateway.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_depth: int = Field(default=12, ge=2, le=100)
    max_aliases: int = Field(default=20, ge=0, le=10_000)
    max_tokens: int = Field(default=5_000, ge=100, le=1_000_000)
    max_cost: int = Field(default=10_000, ge=1, le=1_000_000_000)
    list_size: int = Field(
        default=10, ge=1, le=10_000, description="assumed length of lists without `first`"
    )


class LimitsConfig(BaseModel):
    """The ``limits:`` section of gateway.yaml: request rates and query sizes.

    ``rate`` is off unless configured; the query limits always apply (with their defaults).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate: RateLimitConfig | None = None
    query: QueryLimitsConfig = QueryLimitsConfig()


class QueryTooCostly(GraphQLError):
    """A document whose estimated cost is above ``max_cost``; a request error (HTTP 400)."""

    def __init__(self, cost: int, max_cost: int) -> None:
        super().__init__(
            f"the query's estimated cost is {cost:,}, above the limit of {max_cost:,}; "
            "ask for fewer items (first), fewer nested lists or fewer aliased fields",
            extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": max_cost},
        )


class QueryLimits:
    """The query limits of one schema; build it once, next to the schema."""

    def __init__(self, config: QueryLimitsConfig | None = None, *, max_first: int = 100) -> None:
        self.config = config or QueryLimitsConfig()
        self.max_first = max_first
        self.validation_rules: tuple[type[ASTValidationRule], ...] = (
            _depth_rule(self.config.max_depth),
            _alias_rule(self.config.max_aliases),
        )
        self._costs: LRUCache[tuple[int, int, str | None], tuple[DocumentNode, GraphQLSchema, int]]
        self._costs = LRUCache(maxsize=512)

    def extensions(self) -> list[Callable[[], SchemaExtension]]:
        """Extension factories for ``strawberry.Schema``: token limit, depth and alias
        rules (the same classes on every request), and the cost check."""
        max_tokens = self.config.max_tokens
        rules = list(self.validation_rules)
        return [
            lambda: MaxTokensLimiter(max_token_count=max_tokens),
            lambda: AddValidationRules(rules),
            lambda: _CostLimiter(self),
        ]

    def estimate(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> int:
        """The estimated cost of the operation that would run (0 if there is none).

        Without variables the cost depends on the document alone: it is kept per
        document (strawberry's parser cache hands the same object for the same text)."""
        if variables:
            return self._estimate(schema, document, operation_name, variables)
        key = (id(schema), id(document), operation_name)
        known = self._costs.get(key)
        if known is not None and known[0] is document and known[1] is schema:
            return known[2]
        cost = self._estimate(schema, document, operation_name, variables)
        self._costs[key] = (document, schema, cost)  # held: their ids are not reused
        return cost

    def _estimate(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> int:
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return 0
        root = schema.get_root_type(operation.operation)
        if root is None:
            return 0
        estimator = _CostEstimator(
            schema, document, operation, dict(variables or {}), self.config.list_size, self
        )
        return estimator.cost(operation.selection_set, root, 1, None)

    def check(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        """Raise ``QueryTooCostly`` when the operation's estimate is above ``max_cost``."""
        cost = self.estimate(schema, document, operation_name, variables)
        if cost > self.config.max_cost:
            raise QueryTooCostly(cost, self.config.max_cost)

    def page_size(self, first: Any) -> int:
        if isinstance(first, bool) or not isinstance(first, int):
            return DEFAULT_FIRST
        return min(max(first, 0), self.max_first)


class _CostLimiter(SchemaExtension):
    # on_execute runs after validation (cached or not) with the request's variables;
    # a validation rule could not see them, and would be cached per document.
    def __init__(self, limits: QueryLimits) -> None:
        self.limits = limits

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            self.limits.check(
                context.schema._schema,
                context.graphql_document,
                context.operation_name,
                context.variables,
            )
        yield


class _CostEstimator:
    """Costs each fragment once per page size it is spread under (memoised), so the work
    is linear in the document however often fragments spread one another."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: dict[str, Any],
        list_size: int,
        limits: QueryLimits,
    ) -> None:
        self.schema = schema
        self.fragments = _fragments(document)
        self.variables = variables
        self.defaults = {
            d.variable.name.value: d.default_value for d in operation.variable_definitions or ()
        }
        self.list_size = list_size
        self.limits = limits
        self._fragment_costs: dict[tuple[str, int | None], int] = {}

    def cost(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType,
        count: int,
        page: int | None,
    ) -> int:
        return _saturated(count * self._unit(selection_set, parent, page))

    def _unit(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType, page: int | None
    ) -> int:
        """The cost of ``selection_set`` for one ``parent`` object."""
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                if target is not None:
                    total += self._unit(selection.selection_set, target, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value, page)
        return _saturated(total)

    def _fragment(self, name: str, page: int | None) -> int:
        key = (name, page)
        known = self._fragment_costs.get(key)
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None:
            return 0
        self._fragment_costs[key] = 0  # a cycle (refused by validation anyway) costs nothing
        target = self.schema.get_type(fragment.type_condition.name.value)
        cost = self._unit(fragment.selection_set, target, page) if target is not None else 0
        self._fragment_costs[key] = cost
        return cost

    def _field(self, node: FieldNode, parent: GraphQLNamedType, page: int | None) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        first = self._first(node, definition)
        if not _is_list(definition.type):
            size = 1
        elif first is not None:
            size = first
        elif name in ("edges", "nodes") and page is not None:
            size = page
        else:
            size = self.list_size
        if node.selection_set is None:
            return size
        return _saturated(size * (1 + self._unit(node.selection_set, named, first)))

    def _first(self, node: FieldNode, definition: GraphQLField) -> int | None:
        """The page size this field asks for, or None if it takes no ``first``."""
        argument = definition.args.get("first")
        if argument is None:
            return None
        given = next((a.value for a in node.arguments or () if a.name.value == "first"), None)
        value: Any = None
        if isinstance(given, VariableNode):
            variable = given.name.value
            if variable in self.variables:
                value = self.variables[variable]
            elif self.defaults.get(variable) is not None:
                value = value_from_ast(self.defaults[variable], argument.type)
        elif given is not None:
            value = value_from_ast(given, argument.type, self.variables)
        if value is None:
            value = getattr(argument, "default_value", None)
        return self.limits.page_size(value)


# Counts stop growing here: a document of fragments that spread each other twice can
# describe astronomically many fields, and the figure only has to say "too many".
_CEILING = 2**53 - 1


def _saturated(value: int) -> int:
    return min(value, _CEILING)


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _is_list(output_type: GraphQLOutputType) -> bool:
    if isinstance(output_type, GraphQLNonNull):
        output_type = output_type.of_type
    return isinstance(output_type, GraphQLList)


class _DocumentShape:
    """Aliases and depth of a document's operations, each fragment walked once.

    A fragment's alias count and depth are the same wherever it is spread, so they are
    memoised by name: the work is linear in the document even when every fragment spreads
    the next one twice (a 900-byte document can describe millions of fields).
    """

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = _fragments(document)
        self._aliases: dict[str, int] = {}
        self._depths: dict[str, int] = {}

    def aliases(self, selection_set: SelectionSetNode) -> int:
        """Aliased fields in ``selection_set``, each fragment counted once per spread."""
        count = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                count += selection.alias is not None
                if selection.selection_set is not None:
                    count += self.aliases(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                count += self.aliases(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                count += self._memo(selection.name.value, self._aliases, self.aliases)
        return _saturated(count)

    def depth(self, selection_set: SelectionSetNode) -> int:
        """Nesting depth: a field with a selection is one level more than its deepest
        child; leaves and introspection fields (``__schema``...) add nothing."""
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.selection_set is None or selection.name.value.startswith("__"):
                    continue
                deepest = max(deepest, 1 + self.depth(selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                deepest = max(deepest, self._memo(name, self._depths, self.depth))
        return deepest

    def _memo(
        self, name: str, memo: dict[str, int], measure: Callable[[SelectionSetNode], int]
    ) -> int:
        known = memo.get(name)
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None:
            return 0
        memo[name] = 0  # a cycle (refused by validation anyway) adds nothing
        memo[name] = measure(fragment.selection_set)
        return memo[name]


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def _alias_rule(max_aliases: int) -> type[ValidationRule]:
    class MaxAliases(ValidationRule):
        """Refuses documents with more than ``max_aliases`` aliased fields (each fragment
        counted as often as it is spread): aliases repeat expensive fields cheaply."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            shape = _DocumentShape(context.document)
            count = sum(shape.aliases(o.selection_set) for o in _operations(context.document))
            if count > max_aliases:
                shown = f"{count:,}" if count < _CEILING else "more than 9 quadrillion"
                context.report_error(
                    GraphQLError(
                        f"the document has {shown} aliased fields, above the limit of "
                        f"{max_aliases}; split it into several requests",
                        extensions={"code": "TOO_MANY_ALIASES"},
                    )
                )

    return MaxAliases


def _depth_rule(max_depth: int) -> type[ValidationRule]:
    class MaxDepth(ValidationRule):
        """Refuses operations nested deeper than ``max_depth`` (fragments included)."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            shape = _DocumentShape(context.document)
            for operation in _operations(context.document):
                if shape.depth(operation.selection_set) > max_depth:
                    name = operation.name.value if operation.name else "anonymous"
                    context.report_error(
                        GraphQLError(
                            f"'{name}' exceeds maximum operation depth of {max_depth}",
                            [operation],
                            extensions={"code": "QUERY_TOO_DEEP", "maxDepth": max_depth},
                        )
                    )

    return MaxDepth
