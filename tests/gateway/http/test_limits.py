"""Query limits: estimated cost, aliases, depth, tokens; rules built once per schema."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType, SimpleNamespace
from typing import Any

import orjson
import pytest
import strawberry
from graphql import GraphQLError, get_introspection_query, parse, validate
from pydantic import ValidationError
from strawberry.extensions import AddValidationRules, ValidationCache
from strawberry.schema.config import StrawberryConfig

import gateway.http.limits as limits_module
from gateway.api.schema import Query
from gateway.http.limits import LimitsConfig, QueryLimits, QueryLimitsConfig
from schema import graphql_types as gql


def build(limits: QueryLimits) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        types=[gql.Dataset],
        extensions=[*limits.extensions(), lambda: ValidationCache(maxsize=16)],
        config=StrawberryConfig(scalar_map=gql.SCALAR_MAP),
    )


LIMITS = QueryLimits(QueryLimitsConfig(), max_first=100)
SCHEMA = build(LIMITS)


def cost(query: str, variables: dict[str, Any] | None = None, limits: QueryLimits = LIMITS) -> int:
    return limits.estimate(SCHEMA._schema, parse(query), None, variables)


class NoResolverMayRun:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a resolver ran and read context.{name}")


# --- the estimate ------------------------------------------------------------------------


def test_a_page_costs_first_times_its_nested_lists() -> None:
    query = "{ datasets(first: 50) { edges { node { title distributions { format } } } } }"
    # datasets 1 + edges 50 + node 50 + distributions 50 x 10
    assert cost(query) == 601


def test_a_document_without_variables_is_costed_once_and_one_with_variables_each_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limits = QueryLimits(QueryLimitsConfig(), max_first=100)
    estimates: list[int] = []
    real = limits._estimate

    def counted(*args: Any) -> int:
        estimates.append(real(*args))
        return estimates[-1]

    monkeypatch.setattr(limits, "_estimate", counted)
    document = parse("{ datasets(first: 5) { edges { node { id } } } }")
    costs = [limits.estimate(SCHEMA._schema, document) for _ in range(3)]
    assert costs == [11, 11, 11] and len(estimates) == 1
    # Another document with the same text is costed again (the memo keys on the object).
    assert limits.estimate(SCHEMA._schema, parse("{ datasets(first: 5) { totalCount } }")) == 1
    with_variables = parse("query($n: Int) { datasets(first: $n) { edges { cursor } } }")
    assert [limits.estimate(SCHEMA._schema, with_variables, None, {"n": n}) for n in (2, 4)] == [
        3,
        5,
    ]
    assert len(estimates) == 4


def test_scalars_and_single_objects_are_counted_once_per_parent() -> None:
    query = "{ datasets(first: 3) { totalCount pageInfo { hasNextPage } edges { cursor } } }"
    assert cost(query) == 1 + 1 + 3


def test_first_comes_from_variables_their_defaults_or_the_schema_default() -> None:
    query = "query($n: Int) { datasets(first: $n) { edges { cursor } } }"
    assert cost(query, {"n": 7}) == 8
    assert cost("query($n: Int = 4) { datasets(first: $n) { edges { cursor } } }") == 5
    assert cost("{ datasets { edges { cursor } } }") == 21


def test_first_above_the_maximum_is_costed_at_the_maximum() -> None:
    # The resolver refuses first > max_first with its own, clearer error.
    assert cost("{ datasets(first: 100000) { edges { cursor } } }") == 101


def test_fragments_are_costed_where_they_are_spread() -> None:
    query = """
      query { a: datasets(first: 5) { ...Page } b: datasets(first: 5) { ...Page } }
      fragment Page on DatasetConnection {
        edges { node { ... on Dataset { themes fields { name } } } }
      }
    """
    # per datasets: 1 + edges 5 + node 5 + fields 5 x 10
    assert cost(query) == 2 * 61


def test_introspection_costs_nothing() -> None:
    assert cost(get_introspection_query()) == 0


def test_the_list_size_for_lists_without_first_is_configurable() -> None:
    limits = QueryLimits(QueryLimitsConfig(list_size=3))
    assert cost("{ departments { id } sources { id } }", limits=limits) == 6


# --- enforcement through the schema ------------------------------------------------------


async def test_a_document_above_max_cost_is_refused_before_any_resolver_runs() -> None:
    schema = build(QueryLimits(QueryLimitsConfig(max_cost=500)))
    query = "query($n: Int) { datasets(first: $n) { edges { node { distributions { format } } } } }"
    result = await schema.execute(
        query, variable_values={"n": 50}, context_value=NoResolverMayRun()
    )
    assert result.data is None
    [error] = result.errors or []
    assert error.message == (
        "the query's estimated cost is 601, above the limit of 500; "
        "ask for fewer items (first), fewer nested lists or fewer aliased fields"
    )
    assert error.extensions == {"code": "QUERY_TOO_COSTLY", "cost": 601, "maxCost": 500}
    assert error.path is None


async def test_the_same_document_runs_with_smaller_variables() -> None:
    schema = build(QueryLimits(QueryLimitsConfig(max_cost=500)))
    query = "query($n: Int) { datasets(first: $n) { edges { node { distributions { format } } } } }"
    result = await schema.execute(
        query, variable_values={"n": 10}, context_value=NoResolverMayRun()
    )
    # Cost 121 passes: the resolver is reached (and trips over the test's context).
    [error] = result.errors or []
    assert error.path == ["datasets"]
    assert "a resolver ran" in error.message


async def test_too_many_aliases_are_refused_with_their_count_and_the_limit() -> None:
    schema = build(QueryLimits(QueryLimitsConfig(max_aliases=2)))
    context = SimpleNamespace(sources=())
    allowed = await schema.execute("{ a: sources { id } b: sources { id } }", context_value=context)
    assert allowed.errors is None
    refused = await schema.execute(
        "{ a: sources { id } b: sources { id } c: sources { id } }",
        context_value=NoResolverMayRun(),
    )
    [error] = refused.errors or []
    assert error.message == (
        "the document has 3 aliased fields, above the limit of 2; split it into several requests"
    )
    assert error.extensions == {"code": "TOO_MANY_ALIASES"}


async def test_aliases_inside_fragments_count_once_per_spread() -> None:
    schema = build(QueryLimits(QueryLimitsConfig(max_aliases=3)))
    query = """
      { sources { ...Ids } departments { ...Dept } me { id } }
      fragment Ids on Source { x: id y: id }
      fragment Dept on Department { x: id y: id }
    """
    result = await schema.execute(query, context_value=NoResolverMayRun())
    assert [e.extensions for e in result.errors or []] == [{"code": "TOO_MANY_ALIASES"}]


async def test_documents_deeper_than_max_depth_are_refused() -> None:
    schema = build(QueryLimits(QueryLimitsConfig(max_depth=3)))
    query = "{ datasets { edges { node { department { name } } } } }"
    result = await schema.execute(query, context_value=NoResolverMayRun())
    [error] = result.errors or []
    assert "exceeds maximum operation depth of 3" in error.message
    assert error.extensions == {"code": "QUERY_TOO_DEEP", "maxDepth": 3}


async def test_documents_with_too_many_tokens_are_refused() -> None:
    schema = build(QueryLimits(QueryLimitsConfig(max_tokens=100)))
    query = "{ " + " ".join(["me { id }"] * 30) + " }"
    result = await schema.execute(query, context_value=NoResolverMayRun())
    [error] = result.errors or []
    assert "token" in error.message.lower()


def test_validation_rules_are_the_same_classes_on_every_request() -> None:
    limits = QueryLimits()

    def rules() -> list[Any]:
        extensions = [factory() for factory in limits.extensions()]
        return [
            rule
            for extension in extensions
            if isinstance(extension, AddValidationRules)
            for rule in extension.validation_rules
        ]

    first, second = rules(), rules()
    assert len(first) == 2
    assert all(a is b for a, b in zip(first, second, strict=True))


# --- configuration -----------------------------------------------------------------------


def test_limits_config_defaults_leave_rates_off_and_query_limits_on() -> None:
    config = LimitsConfig()
    assert config.rate is None
    assert (config.query.max_depth, config.query.max_aliases, config.query.max_cost) == (
        12,
        20,
        10_000,
    )


def test_limits_config_reports_every_bad_value() -> None:
    with pytest.raises(ValidationError) as caught:
        LimitsConfig.model_validate(
            {"query": {"max_cost": 0, "max_depth": 1}, "rate": {"anonymous": {"burst": 1}}}
        )
    locations = sorted(".".join(map(str, error["loc"])) for error in caught.value.errors())
    assert locations == [
        "query.max_cost",
        "query.max_depth",
        "rate.anonymous.rate_per_second",
    ]


# --- hostile documents: every limit is linear in the document ---------------------------


def doubling(fragments: int, on: str = "Source", leaf: str = "a: id b: id") -> str:
    """The attack from issue 10: each fragment spreads the next one twice (22 fragments
    fit in 899 bytes and describe 2^22 aliased fields)."""
    lines = [f"fragment F{i} on {on} {{ ...F{i + 1} ...F{i + 1} }}" for i in range(fragments - 1)]
    lines.append(f"fragment F{fragments - 1} on {on} {{ {leaf} }}")
    return "\n".join(lines)


def calls_into_limits(run: Callable[[], object]) -> int:
    """How many Python functions of gateway/http/limits.py ``run`` calls: the work done."""
    calls = 0

    def profile(frame: FrameType, event: str, arg: object) -> None:
        nonlocal calls
        if event == "call" and frame.f_code.co_filename == limits_module.__file__:
            calls += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return calls


def test_the_22_fragment_doubling_document_is_refused_with_work_linear_in_its_size() -> None:
    def validate_attack(fragments: int) -> list[GraphQLError]:
        document = parse("{ sources { ...F0 } }\n" + doubling(fragments))
        return validate(SCHEMA._schema, document, LIMITS.validation_rules)

    attack = "{ sources { ...F0 } }\n" + doubling(22)
    assert len(attack.encode()) < 1000
    [error] = validate_attack(22)
    assert error.extensions == {"code": "TOO_MANY_ALIASES"}
    assert "4,194,304 aliased fields" in error.message
    # Twice the fragments, about twice the work (it was 2^11 times as much).
    small = calls_into_limits(lambda: validate_attack(11))
    large = calls_into_limits(lambda: validate_attack(22))
    assert large < 3 * small


def test_depth_through_doubling_fragments_is_measured_with_linear_work() -> None:
    def depth_errors(fragments: int) -> list[GraphQLError]:
        nested = doubling(fragments, leaf="department { name }", on="Dataset")
        query = "{ datasets { edges { node { ...F0 } } } }\n" + nested
        rules = QueryLimits(QueryLimitsConfig(max_depth=3)).validation_rules
        return validate(SCHEMA._schema, parse(query), rules)

    [error] = depth_errors(20)
    assert error.extensions == {"code": "QUERY_TOO_DEEP", "maxDepth": 3}
    assert error.message == "'anonymous' exceeds maximum operation depth of 3"
    assert calls_into_limits(lambda: depth_errors(20)) < 3 * calls_into_limits(
        lambda: depth_errors(10)
    )


def test_the_cost_of_doubling_fragments_is_exact_and_computed_with_linear_work() -> None:
    def query(fragments: int) -> str:
        nested = doubling(fragments, on="Dataset", leaf="distributions { format }")
        return "{ datasets(first: 5) { edges { node { ...F0 } } } }\n" + nested

    # 1 + edges 5 + node 5 + 2^(n-1) spreads of distributions, 5 x 10 each
    assert cost(query(3)) == 1 + 5 + 5 + 4 * 50
    assert cost(query(30)) == 1 + 5 + 5 + 2**29 * 50
    assert calls_into_limits(lambda: cost(query(30))) < 3 * calls_into_limits(
        lambda: cost(query(15))
    )


def test_an_astronomical_cost_is_reported_as_a_json_safe_number() -> None:
    nested = doubling(80, on="Dataset", leaf="distributions { format }")
    document = "{ datasets(first: 5) { edges { node { ...F0 } } } }\n" + nested
    estimate = cost(document)
    assert estimate == 2**53 - 1
    assert orjson.loads(orjson.dumps({"cost": estimate})) == {"cost": estimate}
