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
    QueryDepthLimiter,
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
            *(
                _coded(rule, "QUERY_TOO_DEEP", maxDepth=self.config.max_depth)
                for rule in QueryDepthLimiter(max_depth=self.config.max_depth).validation_rules
            ),
            _alias_rule(self.config.max_aliases),
        )

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
        """The estimated cost of the operation that would run (0 if there is none)."""
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return 0
        root = schema.get_root_type(operation.operation)
        if root is None:
            return 0
        estimator = _CostEstimator(
            schema, document, operation, dict(variables or {}), self.config.list_size, self
        )
        return estimator.cost(operation.selection_set, root, 1, None, frozenset())

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
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.variables = variables
        self.defaults = {
            d.variable.name.value: d.default_value for d in operation.variable_definitions or ()
        }
        self.list_size = list_size
        self.limits = limits

    def cost(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType,
        count: int,
        page: int | None,
        fragments_in_use: frozenset[str],
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent, count, page, fragments_in_use)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                if target is not None:
                    total += self.cost(
                        selection.selection_set, target, count, page, fragments_in_use
                    )
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in fragments_in_use:
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value)
                if target is not None:
                    total += self.cost(
                        fragment.selection_set, target, count, page, fragments_in_use | {name}
                    )
        return total

    def _field(
        self,
        node: FieldNode,
        parent: GraphQLNamedType,
        count: int,
        page: int | None,
        fragments_in_use: frozenset[str],
    ) -> int:
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
        total = count * size
        if node.selection_set is not None:
            total += self.cost(node.selection_set, named, total, first, fragments_in_use)
        return total

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


def _is_list(output_type: GraphQLOutputType) -> bool:
    if isinstance(output_type, GraphQLNonNull):
        output_type = output_type.of_type
    return isinstance(output_type, GraphQLList)


def _coded(rule: type[ASTValidationRule], code: str, **details: Any) -> type[ASTValidationRule]:
    """``rule`` with ``extensions.code`` (and ``details``) on every error it reports."""

    class _Context:
        def __init__(self, context: ValidationContext) -> None:
            self._context = context

        def __getattr__(self, name: str) -> Any:
            return getattr(self._context, name)

        def report_error(self, error: GraphQLError) -> None:
            self._context.report_error(
                GraphQLError(
                    error.message,
                    error.nodes,
                    extensions={**(error.extensions or {}), "code": code, **details},
                )
            )

    class Coded(rule):  # type: ignore[valid-type,misc]
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(_Context(context))

    Coded.__name__ = rule.__name__
    return Coded


def _alias_rule(max_aliases: int) -> type[ValidationRule]:
    class MaxAliases(ValidationRule):
        """Refuses documents with more than ``max_aliases`` aliased fields (each fragment
        counted as often as it is spread): aliases repeat expensive fields cheaply."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            count = sum(
                _aliases(d.selection_set, fragments, frozenset())
                for d in document.definitions
                if isinstance(d, OperationDefinitionNode)
            )
            if count > max_aliases:
                context.report_error(
                    GraphQLError(
                        f"the document has {count} aliased fields, above the limit of "
                        f"{max_aliases}; split it into several requests",
                        extensions={"code": "TOO_MANY_ALIASES"},
                    )
                )

    return MaxAliases


def _aliases(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    in_use: frozenset[str],
) -> int:
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += selection.alias is not None
            if selection.selection_set is not None:
                count += _aliases(selection.selection_set, fragments, in_use)
        elif isinstance(selection, InlineFragmentNode):
            count += _aliases(selection.selection_set, fragments, in_use)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in in_use:
                count += _aliases(fragment.selection_set, fragments, in_use | {name})
    return count
