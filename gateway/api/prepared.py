"""Prepared operations: a query document strawberry has accepted runs on graphql-core directly.

``strawberry.Schema.execute`` wraps every request in its extension machinery: a fresh
instance of each extension, a runner entering their hooks around parsing, validation and
execution, the parser and validation caches' lookups, a middleware manager. For a document
it has already parsed and validated, none of that changes the answer: what it decides
depends on the text alone (parsing, the token limit, validation with the depth, alias and
introspection rules), except the cost check, which reads the variables.

``PreparedSchema`` keeps, per query text and operation name, the document strawberry
accepted (``_Prepare``, an extension that sees the request once validation passed, before
anything is executed). The next request with the same text runs it as strawberry would:
the cost check with its variables, graphql-core's ``execute`` with the same arguments
(execution context class, empty middleware, strawberry's awaitable check), errors passed
to ``process_errors`` once, then masked as ``MaskErrors`` masks them. Anything else --
a new text, a cost above the limit, other allowed operation types, a root value -- goes
through ``strawberry.Schema.execute``, which stays the oracle: ``graphql.fast_path:
false`` switches this off with the compiled plans, and
``tests/gateway/api/test_compiled.py`` compares both byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, cast

import strawberry
from cachetools import LRUCache
from graphql import DocumentNode, GraphQLError
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution import execute
from graphql.execution.middleware import MiddlewareManager
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe

from gateway.http import QueryLimits

_Key = tuple[str, str | None]
# The query text and operation name of the request strawberry is executing (set by
# ``PreparedSchema.execute`` for ``_Prepare``, which sees only the resolved name).
_REQUESTED: ContextVar[_Key | None] = ContextVar("prepared_request", default=None)


class _Prepared:
    """The documents strawberry accepted, by query text and requested operation name."""

    def __init__(self, maxsize: int = 512) -> None:
        # The document and the operation name strawberry resolved for it.
        self.documents: LRUCache[_Key, tuple[DocumentNode, str | None]] = LRUCache(maxsize)
        self.direct = 0  # requests run on graphql-core directly


class _Prepare(SchemaExtension):
    """Notes a query document once strawberry has parsed and validated it."""

    def __init__(self, prepared: _Prepared) -> None:
        self.prepared = prepared

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        key = _REQUESTED.get()
        if (
            key is not None
            and key[0] == context.query
            and document is not None
            and context.allowed_operations == DEFAULT_ALLOWED_OPERATION_TYPES
            and context.operation_type is OperationType.QUERY
        ):
            self.prepared.documents[key] = (document, context.operation_name)
        yield


class PreparedSchema(strawberry.Schema):
    """The gateway's schema with prepared operations (see the module docstring)."""

    def __init__(
        self,
        *,
        limits: QueryLimits,
        mask_errors: Callable[[], MaskErrors],
        extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]],
        **kwargs: Any,
    ) -> None:
        self.prepared = _Prepared()
        prepared = self.prepared
        super().__init__(extensions=[*extensions, lambda: _Prepare(prepared)], **kwargs)
        self.limits = limits
        self.mask_errors = mask_errors
        # Only when no extension resolves fields and no schema directive needs strawberry's
        # directives extension: then an empty middleware is what strawberry passes too.
        self.direct_allowed = not self.directives and not any(
            extension._implements_resolve() for extension in self.get_extensions()
        )

    async def execute(  # noqa: PLR0917 - strawberry's signature
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        found = (
            self.prepared.documents.get((query, operation_name))
            if query is not None
            and root_value is None
            and allowed_operation_types is None
            and self.direct_allowed
            else None
        )
        if found is None or not self._within_cost(found, variable_values):
            token = _REQUESTED.set(None if query is None else (query, operation_name))
            try:
                return await super().execute(
                    query,
                    variable_values,
                    context_value,
                    root_value,
                    operation_name,
                    allowed_operation_types,
                    operation_extensions,
                )
            finally:
                _REQUESTED.reset(token)
        document, resolved_name = found
        self.prepared.direct += 1
        try:
            result: GraphQLExecutionResult = await await_maybe(
                execute(
                    self._schema,
                    document,
                    root_value=None,
                    middleware=MiddlewareManager(),
                    variable_values=variable_values,
                    operation_name=resolved_name,
                    context_value=context_value,
                    is_awaitable=cast(Any, optimized_is_awaitable),
                    executor_class=self.execution_context_class,
                    operation_extensions=operation_extensions,
                )
            )
        except Exception as exc:  # noqa: BLE001 - as strawberry answers it: unmasked
            error = (
                exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)
            )
            self._process_errors([error])
            return PreExecutionError(data=None, errors=[error], extensions={})
        errors = result.errors
        if errors:
            self._process_errors(errors)
            errors = _masked(self.mask_errors(), errors)
        return ExecutionResult(data=result.data, errors=errors, extensions={})

    def _within_cost(
        self, found: tuple[DocumentNode, str | None], variables: dict[str, Any] | None
    ) -> bool:
        document, resolved_name = found
        # strawberry's cost check reads the resolved operation name (ExecutionContext).
        try:
            cost = self.limits.estimate(self._schema, document, resolved_name, variables)
        except Exception:  # noqa: BLE001 - strawberry's path reports it as it always did
            return False
        return cost <= self.limits.config.max_cost


def _masked(masking: MaskErrors, errors: list[GraphQLError]) -> list[GraphQLError]:
    """The errors as ``MaskErrors`` hands them to the client."""
    return [masking.anonymise_error(e) if masking.should_mask_error(e) else e for e in errors]
