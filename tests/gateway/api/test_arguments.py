"""A caller's bad arguments answer BAD_USER_INPUT, naming each argument, and reach no platform."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.api.arguments import EARLIEST, LATEST, MAX_LIST_ITEMS, MAX_VALUE_CHARS
from schema.ids import encode_id
from tests.gateway.conftest import GatewayFactory, asgi_client, make_dataset
from tests.gateway.memory_connector import MemoryConnector

SEARCH = """
query($search: String, $filter: DatasetFilter, $first: Int, $after: String) {
  datasets(search: $search, filter: $filter, first: $first, after: $after) {
    totalCount edges { node { id } }
  }
}
"""

# The query of issue 16, as the fuzzer sent it.
ISSUE_QUERY = (
    '{ datasets(filter: {modifiedBefore: "0006-03-13T23:33:41Z", keywords: [""], '
    'identifiers: ["\\u0000x"]}) { totalCount } }'
)


def _calls(gateway: Any) -> int:
    return sum(
        len(c.calls.searches) + len(c.calls.gets) + len(c.calls.batches) for c in gateway.connectors
    )


async def _post(
    gateway: Any, query: str, variables: dict[str, Any] | None = None, *, status: int = 200
) -> Any:
    async with asgi_client(gateway) as client:
        # ASCII-escaped JSON, so a lone surrogate travels as the caller would send it.
        body = json.dumps({"query": query, "variables": variables})
        response = await client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def gateway(make_gateway: GatewayFactory) -> Any:
    return make_gateway({"a": [make_dataset("a", i) for i in range(3)], "b": []})


async def test_the_issue_query_names_every_bad_argument_and_calls_no_platform(
    gateway: Any,
) -> None:
    body = await _post(gateway, ISSUE_QUERY)
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    named = [p["argument"] for p in error["extensions"]["problems"]]
    assert named == ["filter.keywords[0]", "filter.identifiers[0]", "filter.modifiedBefore"]
    assert error["extensions"]["argument"] == "filter.keywords[0]"
    for argument in named:
        assert argument in error["message"]
    assert _calls(gateway) == 0


BAD_FILTERS = [
    pytest.param({"keywords": ["bus\u0007"]}, "filter.keywords[0]", id="bell-in-keyword"),
    pytest.param({"themes": ["ok", "\u0085"]}, "filter.themes[1]", id="c1-control-in-theme"),
    pytest.param({"formats": ["   "]}, "filter.formats[0]", id="blank-format"),
    pytest.param({"departments": [" transport"]}, "filter.departments[0]", id="padded-dept"),
    pytest.param(
        {"identifiers": ["x" * (MAX_VALUE_CHARS + 1)]}, "filter.identifiers[0]", id="long"
    ),
    pytest.param({"keywords": ["k"] * (MAX_LIST_ITEMS + 1)}, "filter.keywords", id="long-list"),
    pytest.param({"sources": ["Transport Platform"]}, "filter.sources[0]", id="source-id-form"),
    pytest.param({"modifiedAfter": "1899-12-31T23:59:59Z"}, "filter.modifiedAfter", id="too-old"),
    pytest.param({"modifiedBefore": "2200-01-01T00:00:00Z"}, "filter.modifiedBefore", id="future"),
    pytest.param(
        {"modifiedBefore": "9999-12-31T00:00:00"}, "filter.modifiedBefore", id="year-9999"
    ),
]


@pytest.mark.parametrize(("value", "argument"), BAD_FILTERS)
async def test_a_bad_filter_value_is_bad_user_input_naming_it(
    gateway: Any, value: dict[str, Any], argument: str
) -> None:
    body = await _post(gateway, SEARCH, {"filter": value})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == argument
    assert _calls(gateway) == 0


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"search": "bus\u0000"}, "search"),
        ({"search": "x" * 501}, "search"),
        ({"search": "\ud800"}, "search"),
        ({"first": 5000}, "first"),
        ({"first": -1}, "first"),
        ({"after": "c" * 10_000}, "after"),
    ],
    ids=["nul", "long", "lone-surrogate", "first-high", "first-negative", "long-cursor"],
)
async def test_bad_top_level_arguments_are_bad_user_input(
    gateway: Any, variables: dict[str, Any], argument: str
) -> None:
    body = await _post(gateway, SEARCH, variables)
    (error,) = body["errors"]
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "argument": argument,
        "problems": [
            {"argument": argument, "message": error["extensions"]["problems"][0]["message"]}
        ],
    }
    assert _calls(gateway) == 0


async def test_arguments_at_the_bounds_reach_the_platforms(gateway: Any) -> None:
    body = await _post(
        gateway,
        SEARCH,
        {
            "search": "公交\tbus\nroutes",  # free text may hold tabs and line breaks
            "first": 100,
            "filter": {
                "keywords": ["k" * MAX_VALUE_CHARS],
                "themes": ["交通"] * MAX_LIST_ITEMS,
                "sources": ["a", "b"],
                "modifiedAfter": EARLIEST.isoformat(),
                "modifiedBefore": "2199-12-31T23:59:59+08:00",
            },
        },
    )
    assert "errors" not in body, body
    assert _calls(gateway) > 0
    assert LATEST.year == 2200


async def test_a_global_id_holding_a_bad_local_id_answers_null_without_a_platform_call(
    gateway: Any,
) -> None:
    query = "query($id: ID!) { dataset(id: $id) { id } node(id: $id) { id } }"
    for local_id in ("a-1\u0000", "x" * 600, "   "):
        body = await _post(gateway, query, {"id": encode_id("Dataset", "a", local_id)})
        assert body == {"data": {"dataset": None, "node": None}}
    assert _calls(gateway) == 0
    found = await _post(gateway, query, {"id": encode_id("Dataset", "a", "a-1")})
    assert found["data"]["dataset"] is not None  # the control: a good id is looked up


async def test_bad_input_is_not_logged_as_an_error(
    gateway: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("DEBUG"):
        await _post(gateway, ISSUE_QUERY)
        await _post(gateway, "{ datasets(first: 5000) { totalCount } }")
        await _post(gateway, "{ nope }", status=400)
    assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL") or r.exc_info] == []


async def test_an_internal_error_is_still_logged_in_full(
    make_gateway: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    class Crashing(MemoryConnector):
        async def departments(self) -> Any:
            raise RuntimeError("boom")

    gateway = make_gateway({"a": []}, connector_class=Crashing)
    with caplog.at_level("ERROR"):
        await _post(gateway, "{ departments { id } }")
    assert any(r.exc_info for r in caplog.records)
