"""The declarative REST connector against a home-grown API's answers (respx, no network)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import yaml
from pydantic import ValidationError

from connectors.rest import RestConnector
from connectors.rest_config import RestOptions
from connectors.sdk import (
    DatasetFilter,
    FatalError,
    FilterName,
    HealthStatus,
    NotSupported,
    QueryRejected,
    SearchQuery,
    Sort,
    SourceDefaults,
    SourceSettings,
)
from schema.model import (
    DataField,
    Department,
    Distribution,
    OpenType,
    Sensitivity,
    ShareType,
    UpdateFrequency,
)
from simulators.rest_sim import MAPPING_PATH, rest_source_options

BASE = "https://zwsj.hexi.example.gov.cn"
RESOURCES = f"{BASE}/api/v1/resources"
APP_KEY = "app-key-5ecret-9f3a"
BEIJING = timezone(timedelta(hours=8))
DEFAULTS = SourceDefaults(
    share_type=ShareType.NOT_SHARED, open_type=OpenType.NOT_OPEN, sensitivity=Sensitivity.L4
)


def record(**changes: Any) -> dict[str, Any]:
    """One resource as the platform lists it (camelCase, nulls, Beijing local times)."""
    base: dict[str, Any] = {
        "resourceId": "3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b",
        "resourceCode": "330100/WJW-00093",
        "resourceName": "2021年北山区门急诊人次统计",
        "resourceDesc": "北山区门急诊人次统计数据。",
        "deptCode": "health",
        "deptName": "卫生健康委员会",
        "themes": [{"themeCode": "health", "themeName": "医疗卫生"}],
        "keywords": "门诊,急诊, 北山区",
        "shareType": "有条件共享",
        "shareCondition": "仅限卫生健康系统内部使用",
        "openType": "不予开放",
        "securityLevel": "二级",
        "updateCycle": "每月",
        "createTime": "2021-06-29 23:21:20",
        "updateTime": "2024-05-06 09:10:11",
        "formats": "CSV,JSON",
        "files": [
            {
                "fileName": "门急诊人次统计数据（CSV）",
                "fileFormat": "CSV",
                "fileSize": 36813,
                "mimeType": "text/csv",
                "accessUrl": "/files/3f2a/data-1.csv",
                "downloadUrl": "/files/3f2a/data-1.csv",
            }
        ],
        "fields": [
            {"fieldName": "hospital", "fieldType": "string", "fieldDesc": "医院名称"},
            {"fieldName": None, "fieldType": "string", "fieldDesc": "无名字段"},
        ],
        "contactName": "黄涛",
        "contactPhone": "0000-80342101",
        "contactEmail": None,
        "spatialScope": "河西市北山区",
        "dataStartDate": "2021-01-01",
        "dataEndDate": "2021-12-31",
        "licenseName": None,
    }
    base.update(changes)
    return base


def listing(records: list[Any], total: int | None = None) -> dict[str, Any]:
    count = len(records) if total is None else total
    return {
        "code": 0,
        "msg": "success",
        "data": {"total": count, "pageNo": 1, "pageSize": 20, "pages": 1, "list": records},
    }


def demo_options(**overrides: Any) -> RestOptions:
    options = rest_source_options(APP_KEY)
    options.update(overrides)
    return RestOptions.model_validate(options)


def inline_mapping() -> dict[str, Any]:
    """The demo mapping, inline (for tests that change part of it)."""
    document: dict[str, Any] = yaml.safe_load(MAPPING_PATH.read_text(encoding="utf-8"))
    document["auth"] = {"type": "api_key", "name": "AppKey", "value": APP_KEY}
    return document


def problems(document: Any, **context: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        RestOptions.model_validate(document, context=context or None)
    return [(".".join(map(str, e["loc"])), e["msg"]) for e in caught.value.errors()]


@pytest.fixture
def make_connector(client: httpx.AsyncClient) -> Callable[..., RestConnector]:
    def make(options: RestOptions | None = None, **changes: Any) -> RestConnector:
        settings = SourceSettings(
            id="health-rest",
            url=BASE + "/",
            defaults=DEFAULTS,
            options=options or demo_options(),
            **changes,
        )
        return RestConnector(settings, client)

    return make


@pytest.fixture
def connector(make_connector: Callable[..., RestConnector]) -> RestConnector:
    return make_connector()


def mock_listing(router: respx.MockRouter, body: Any) -> respx.Route:
    return router.get(RESOURCES).mock(return_value=httpx.Response(200, json=body))


def sent(route: respx.Route) -> dict[str, str]:
    return dict(route.calls.last.request.url.params)


# -- options --------------------------------------------------------------------------------


def test_the_demo_mapping_is_valid_and_its_key_never_shows() -> None:
    options = demo_options()
    assert options.search.records == "data.list"
    assert options.pagination.type == "page"
    assert APP_KEY not in repr(options) and APP_KEY not in str(options)


def test_every_problem_in_a_mapping_is_reported_at_once_with_its_key_path() -> None:
    document = {
        "search": {"path": "/api/v1/resources", "params": {"kw": "{txt}"}, "record": "x"},
        "pagination": {"type": "cursor"},
        "get": {"path": "/api/v1/resources", "record": "data..item"},
        "filters": {"share_types": {"param": "shareType"}, "colour": {"param": "c"}},
        "fields": {
            "title": {"selector": "resourceName", "nope": 1},
            "update_frequency": {"selector": "updateCycle", "map": {"每两月": "BIMONTHLY_ISH"}},
        },
        "auth": {"type": "bearer", "token": "t0k3n-secret", "name": "X-Key"},
    }
    assert problems(document) == [
        ("auth.name", "not used with auth type bearer"),
        ("fields.local_id", "required key is missing"),
        ("fields.title.nope", "unknown key"),
        (
            "fields.update_frequency.map.每两月",
            "must be one of: CONT, HOURLY, DAILY, WEEKLY, BIWEEKLY, MONTHLY, BIMONTHLY, "
            "QUARTERLY, ANNUAL_2, ANNUAL, BIENNIAL, IRREG, NEVER, UNKNOWN (not 'BIMONTHLY_ISH')",
        ),
        ("filters.colour", "unknown key"),
        (
            "filters.share_types.values",
            "required: the platform's spelling of each class (or a map on fields.share_type)",
        ),
        ("get.path", "needs {id} (in the path or a parameter)"),
        ("get.record", "selector 'data..item': unexpected '.item'"),
        ("pagination.next", "required key is missing"),
        ("search.params", "pagination type 'cursor' needs a {cursor}"),
        (
            "search.params.kw",
            "unknown placeholder {txt}; known: {text}, {offset}, {limit}, {page}, {cursor}",
        ),
        ("search.record", "unknown key"),
        ("search.records", "required key is missing"),
    ]


def test_a_secret_of_the_wrong_shape_is_reported_without_its_value() -> None:
    document = inline_mapping()
    document["auth"] = {"type": "api_key", "name": "AppKey", "value": 987654321, "in": "body"}
    found = problems(document)
    assert ("auth.value", "must be a string") in found
    assert ("auth.in", "must be one of: header, query (not 'body')") in found
    assert "987654321" not in repr(found)


def test_the_gateway_config_reports_mapping_problems_under_the_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from connectors.sdk import _registry
    from gateway.config import ConfigError, parse_config

    monkeypatch.setitem(_registry._BUILTINS, "rest", "connectors.rest:RestConnector")
    document = inline_mapping()
    del document["search"]["records"]
    document["fields"]["modified"]["timezone"] = "Beijing"
    raw = {"sources": [{"id": "hexi", "connector": "rest", "url": BASE, "options": document}]}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert [str(p) for p in caught.value.problems] == [
        "sources[0].options.fields.modified.timezone: must be a UTC offset such as +08:00, or Z",
        "sources[0].options.search.records: required key is missing",
    ]


def test_a_mapping_file_is_read_relative_to_the_config_and_inline_keys_win(
    tmp_path: Path,
) -> None:
    document = inline_mapping()
    del document["auth"]
    (tmp_path / "hexi.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")
    options = RestOptions.model_validate(
        {
            "mapping": "hexi.yaml",
            "pagination": {"type": "page", "max_page_size": 50},
            "auth": {"type": "bearer", "token": "${TOKEN}"},
        },
        context={"base_dir": tmp_path},
    )
    assert options.pagination.max_page_size == 50
    assert options.fields["title"].selector == "resourceName"
    assert options.auth is not None and options.auth.type == "bearer"


def test_a_missing_mapping_file_is_a_problem_at_mapping(tmp_path: Path) -> None:
    found = problems({"mapping": str(tmp_path / "absent.yaml")})
    assert len(found) == 1 and found[0][0] == "mapping"
    assert "absent.yaml" in found[0][1]


def test_capabilities_follow_the_mapping(connector: RestConnector) -> None:
    capabilities = connector.capabilities
    assert capabilities.sorts == {Sort.RELEVANCE, Sort.MODIFIED_DESC, Sort.MODIFIED_ASC}
    assert capabilities.get_by_id and capabilities.max_page_size == 100
    assert FilterName.SHARE_TYPES in capabilities.filters
    assert FilterName.THEMES not in capabilities.filters
    assert RestConnector.name == "rest" and RestConnector.options_model is RestOptions


# -- mapping records ------------------------------------------------------------------------


async def test_records_map_through_selectors_value_maps_and_time_zones(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    mock_listing(router, listing([record()]))
    page = await connector.search(SearchQuery())
    (dataset,) = page.datasets
    assert dataset.local_id == "3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b"
    assert dataset.identifier == "330100/WJW-00093"
    assert dataset.title == "2021年北山区门急诊人次统计"
    assert dataset.update_frequency is UpdateFrequency.MONTHLY  # 每月
    assert dataset.share_type is ShareType.CONDITIONAL  # 有条件共享
    assert dataset.open_type is OpenType.NOT_OPEN  # 不予开放
    assert dataset.sensitivity is Sensitivity.L2  # 二级
    assert dataset.share_condition == "仅限卫生健康系统内部使用"
    assert dataset.modified == datetime(2024, 5, 6, 1, 10, 11, tzinfo=UTC)
    assert dataset.issued == datetime(2021, 6, 29, 23, 21, 20, tzinfo=BEIJING)
    assert dataset.keywords == ("门诊", "急诊", "北山区")
    assert dataset.themes == ("health",)
    assert dataset.department == Department("health", "卫生健康委员会")
    assert dataset.distributions == (
        Distribution(
            title="门急诊人次统计数据（CSV）",
            format="CSV",
            media_type="text/csv",
            access_url=f"{BASE}/files/3f2a/data-1.csv",
            download_url=f"{BASE}/files/3f2a/data-1.csv",
            byte_size=36813,
        ),
        Distribution(format="JSON"),  # listed in "formats" only
    )
    assert dataset.fields == (DataField("hospital", "string", "医院名称"),)
    assert dataset.contact_point is not None and dataset.contact_point.email is None
    assert dataset.landing_page == f"{BASE}/portal/resource/3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b"
    assert dataset.temporal is not None
    assert dataset.temporal.start == datetime(2021, 1, 1, tzinfo=BEIJING)
    assert page.total == 1


async def test_records_that_state_no_class_get_the_source_defaults(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    mock_listing(
        router,
        listing([record(shareType=None, openType="", securityLevel=None, updateCycle="每两月")]),
    )
    (dataset,) = (await connector.search(SearchQuery())).datasets
    assert (dataset.share_type, dataset.open_type, dataset.sensitivity) == (
        ShareType.NOT_SHARED,
        OpenType.NOT_OPEN,
        Sensitivity.L4,
    )
    assert dataset.update_frequency is UpdateFrequency.UNKNOWN  # the map's fallback


async def test_unmappable_records_are_skipped_and_positions_keep_the_rest_in_place(
    router: respx.MockRouter, connector: RestConnector, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [record(resourceId=None), "garbage", record(resourceId="b2"), record(resourceId="c3")]
    mock_listing(router, listing(rows, total=40))
    with caplog.at_level(logging.WARNING):
        page = await connector.search(SearchQuery(limit=4))
    assert [d.local_id for d in page.datasets] == ["b2", "c3"]
    assert page.consumed == 4 and page.positions == (2, 3)
    assert "skipped record #0" in caplog.text and "skipped record #1" in caplog.text


# -- requests -------------------------------------------------------------------------------


async def test_search_asks_for_a_page_by_number_and_size_with_the_app_key(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    route = mock_listing(router, listing([]))
    await connector.search(SearchQuery(text=" 门诊  统计 ", offset=40, limit=20))
    assert sent(route) == {"keyword": "门诊 统计", "pageNo": "3", "pageSize": "20"}
    assert route.calls.last.request.headers["AppKey"] == APP_KEY
    await connector.search(SearchQuery(offset=0, limit=10, sort=Sort.MODIFIED_ASC))
    assert sent(route) == {
        "pageNo": "1",
        "pageSize": "10",
        "orderBy": "updateTime",
        "sortType": "ASC",
    }


async def test_a_class_filter_is_pushed_in_the_platforms_spelling_and_claimed(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    route = mock_listing(router, listing([record(shareType="无条件共享")]))
    wanted = DatasetFilter(share_types=(ShareType.UNCONDITIONAL,), max_sensitivity=Sensitivity.L2)
    page = await connector.search(SearchQuery(filter=wanted))
    assert sent(route)["shareType"] == "无条件共享"
    assert sent(route)["securityLevel"] == "一级,二级"
    assert page.applied == {FilterName.SHARE_TYPES, FilterName.MAX_SENSITIVITY}


async def test_a_filter_that_wants_the_source_default_is_left_to_the_gateway(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    route = mock_listing(router, listing([]))
    wanted = DatasetFilter(share_types=(ShareType.NOT_SHARED,), themes=("health",))
    page = await connector.search(SearchQuery(filter=wanted))
    assert "shareType" not in sent(route)  # records stating no class are NOT_SHARED too
    assert page.applied == frozenset()


async def test_a_claim_the_platform_contradicts_is_withdrawn(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    mock_listing(router, listing([record(shareType="有条件共享")]))
    wanted = DatasetFilter(share_types=(ShareType.UNCONDITIONAL,))
    page = await connector.search(SearchQuery(filter=wanted))
    assert page.applied == frozenset()


async def test_modification_dates_go_in_the_platforms_zone_rounded_to_its_precision(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    route = mock_listing(router, listing([]))
    after = datetime(2024, 5, 6, 1, 10, 11, 500_000, tzinfo=UTC)
    before = datetime(2024, 6, 1, tzinfo=UTC)
    wanted = DatasetFilter(modified_after=after, modified_before=before)
    page = await connector.search(SearchQuery(filter=wanted))
    assert sent(route)["updateTimeStart"] == "2024-05-06 09:10:12"
    assert sent(route)["updateTimeEnd"] == "2024-06-01 08:00:00"
    assert page.applied == {FilterName.MODIFIED_AFTER, FilterName.MODIFIED_BEFORE}


async def test_a_single_visibility_clause_is_pushed_and_reported_applied(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    route = mock_listing(
        router,
        listing([record(shareType="无条件共享", openType="无条件开放", securityLevel="一级")]),
    )
    public = DatasetFilter(
        share_types=(ShareType.UNCONDITIONAL, ShareType.CONDITIONAL),
        open_types=(OpenType.OPEN,),
        max_sensitivity=Sensitivity.L1,
    )
    narrowed = DatasetFilter(share_types=(ShareType.CONDITIONAL, ShareType.NOT_SHARED))
    page = await connector.search(SearchQuery(filter=narrowed, any_of=(public,)))
    params = sent(route)
    assert params["shareType"] == "有条件共享"  # the filter and the visibility, both
    assert params["openType"] == "无条件开放" and params["securityLevel"] == "一级"
    assert page.any_of_applied


async def test_several_visibility_clauses_are_left_to_the_gateway(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    route = mock_listing(router, listing([]))
    clauses = (
        DatasetFilter(departments=("health",)),
        DatasetFilter(share_types=(ShareType.UNCONDITIONAL,)),
    )
    page = await connector.search(SearchQuery(any_of=clauses))
    assert "deptCode" not in sent(route) and "shareType" not in sent(route)
    assert not page.any_of_applied


async def test_a_filter_the_visibility_excludes_answers_nothing_without_asking(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    route = mock_listing(router, listing([record()]))
    mine = DatasetFilter(open_types=(OpenType.NOT_OPEN,))
    public = DatasetFilter(open_types=(OpenType.OPEN,))
    page = await connector.search(SearchQuery(filter=mine, any_of=(public,)))
    assert page.datasets == () and page.total == 0 and page.any_of_applied
    assert route.call_count == 0


# -- failures -------------------------------------------------------------------------------


async def test_a_records_selector_that_finds_nothing_is_fatal_and_named(
    router: respx.MockRouter, make_connector: Callable[..., RestConnector]
) -> None:
    document = inline_mapping()
    document["search"]["records"] = "data.items"
    mock_listing(router, listing([record()]))
    connector = make_connector(RestOptions.model_validate(document))
    with pytest.raises(FatalError) as caught:
        await connector.search(SearchQuery())
    message = str(caught.value)
    assert "selector 'data.items' found nothing" in message and "keys: list, " in message
    assert caught.value.source_id == "health-rest"


async def test_a_total_selector_that_finds_nothing_is_fatal_and_named(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    body = listing([record()])
    del body["data"]["total"]
    mock_listing(router, body)
    with pytest.raises(FatalError, match="selector 'data.total' found nothing"):
        await connector.search(SearchQuery())


async def test_records_that_are_not_a_list_are_fatal(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    body = listing([])
    body["data"]["list"] = {"rows": []}
    mock_listing(router, body)
    with pytest.raises(FatalError, match="found an object, not a list"):
        await connector.search(SearchQuery())


async def test_an_answer_without_the_envelope_code_is_fatal(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    mock_listing(router, {"status": "ok", "rows": []})
    with pytest.raises(FatalError, match="envelope selector 'code' found nothing"):
        await connector.search(SearchQuery())


async def test_an_error_code_is_fatal_with_the_platforms_message(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    mock_listing(router, {"code": 5000, "msg": "系统繁忙", "data": None})
    with pytest.raises(FatalError, match="code 5000.*系统繁忙") as caught:
        await connector.search(SearchQuery())
    assert not isinstance(caught.value, QueryRejected)


# The demo platform's answer to the issue-16 date (simulators/rest_sim.py, HTTP 200).
PARAM_ERROR = {"code": 4001, "msg": "参数错误：updateTimeEnd格式应为yyyy-MM-dd HH:mm:ss"}


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={**PARAM_ERROR, "data": None}),
        httpx.Response(400, json={"code": 400, "msg": "Bad Request", "data": None}),
        httpx.Response(422, json={"code": 422, "msg": "Unprocessable", "data": None}),
    ],
    ids=["bad-query-code", "http-400", "http-422"],
)
async def test_the_mappings_bad_query_answers_are_query_rejected(
    router: respx.MockRouter, connector: RestConnector, response: httpx.Response
) -> None:
    router.get(RESOURCES).mock(return_value=response)
    with pytest.raises(QueryRejected) as caught:
        await connector.search(SearchQuery())
    assert caught.value.source_id == "health-rest"
    router.get(url__regex=r".*/api/v1/resources/.+").mock(return_value=response)
    with pytest.raises(QueryRejected):
        await connector.get("some-id")


async def test_bad_query_statuses_are_configured_and_listings_never_blame_the_caller(
    router: respx.MockRouter, make_connector: Callable[..., RestConnector]
) -> None:
    document = inline_mapping()
    document["bad_query"] = {"statuses": [418]}  # only this, and no envelope codes
    connector = make_connector(RestOptions.model_validate(document))
    router.get(RESOURCES).mock(return_value=httpx.Response(418, json={"code": 1, "msg": "no"}))
    with pytest.raises(QueryRejected):
        await connector.search(SearchQuery())
    router.get(RESOURCES).mock(return_value=httpx.Response(200, json={**PARAM_ERROR}))
    with pytest.raises(FatalError) as caught:
        await connector.search(SearchQuery())
    assert not isinstance(caught.value, QueryRejected)
    router.get(RESOURCES).mock(return_value=httpx.Response(400, json={"code": 1, "msg": "no"}))
    with pytest.raises(FatalError) as caught:
        await connector.search(SearchQuery())
    assert not isinstance(caught.value, QueryRejected)
    router.get(f"{BASE}/api/v1/departments").mock(
        return_value=httpx.Response(418, json={"code": 1, "msg": "no"})
    )
    with pytest.raises(FatalError) as caught:
        await connector.departments()
    assert not isinstance(caught.value, QueryRejected)


def test_bad_query_mapping_problems_are_reported() -> None:
    document = inline_mapping()
    del document["envelope"]
    document["bad_query"] = {"statuses": [400, 403, 500], "codes": [4001]}
    assert problems(document) == [
        ("bad_query.codes", "needs an envelope (whose code they are)"),
        ("bad_query.statuses.1", "403 says the credentials are wrong, not the query"),
        ("bad_query.statuses.2", "must be <= 499"),
    ]


async def test_a_refused_app_key_says_to_check_the_auth_settings_and_hides_the_key(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    router.get(RESOURCES).mock(
        return_value=httpx.Response(401, json={"code": 4010, "msg": "AppKey无效", "data": None})
    )
    with pytest.raises(FatalError) as caught:
        await connector.search(SearchQuery())
    error = caught.value
    assert "HTTP 401" in str(error) and "auth settings" in str(error)
    assert APP_KEY not in f"{error} {error!r} {error.request!r}"


# -- get, departments, check ----------------------------------------------------------------


async def test_get_answers_the_record(router: respx.MockRouter, connector: RestConnector) -> None:
    local_id = "3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b"
    router.get(f"{RESOURCES}/{local_id}").mock(
        return_value=httpx.Response(200, json={"code": 0, "msg": "success", "data": record()})
    )
    dataset = await connector.get(local_id)
    assert dataset is not None and dataset.local_id == local_id


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={"code": 4004, "msg": "资源不存在", "data": None}),
        httpx.Response(404, json={"code": 4040, "msg": "Not Found"}),
        httpx.Response(200, json={"code": 0, "msg": "success", "data": None}),
        httpx.Response(200, json={"code": 0, "msg": "success", "data": record(resourceId="x")}),
        httpx.Response(200, json={"code": 0, "msg": "success", "data": ["not", "a", "record"]}),
    ],
    ids=["code-4004", "http-404", "null", "another-record", "not-a-record"],
)
async def test_get_answers_none_alike_for_anything_that_is_not_the_record(
    router: respx.MockRouter, connector: RestConnector, answer: httpx.Response
) -> None:
    router.get(f"{RESOURCES}/abc").mock(return_value=answer)
    assert await connector.get("abc") is None


async def test_get_puts_the_id_in_the_path_escaped(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    route = router.get(url__startswith=f"{RESOURCES}/").mock(
        return_value=httpx.Response(200, json={"code": 4004, "msg": "资源不存在", "data": None})
    )
    await connector.get("../../admin?x=1")
    assert route.calls.last.request.url.raw_path == b"/api/v1/resources/..%2F..%2Fadmin%3Fx%3D1"


async def test_get_without_a_get_endpoint_is_not_supported(
    make_connector: Callable[..., RestConnector],
) -> None:
    document = inline_mapping()
    del document["get"]
    connector = make_connector(RestOptions.model_validate(document))
    assert not connector.capabilities.get_by_id
    with pytest.raises(NotSupported):
        await connector.get("abc")


async def test_departments_come_from_their_endpoint(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    router.get(f"{BASE}/api/v1/departments").mock(
        return_value=httpx.Response(
            200,
            json={
                "code": 0,
                "msg": "success",
                "data": [
                    {"deptCode": "health", "deptName": "卫生健康委员会", "resourceCount": 3},
                    {"deptCode": "education", "deptName": "教育局", "resourceCount": 0},
                    {"deptCode": None, "deptName": None},
                ],
            },
        )
    )
    assert await connector.departments() == [
        Department("health", "卫生健康委员会"),
        Department("education", "教育局"),
    ]


async def test_check_calls_the_health_endpoint_and_reports_failures(
    router: respx.MockRouter, connector: RestConnector
) -> None:
    route = router.get(f"{BASE}/api/v1/health").mock(
        return_value=httpx.Response(200, json={"code": 0, "msg": "success", "data": {}})
    )
    assert (await connector.check()).status is HealthStatus.UP
    route.mock(return_value=httpx.Response(200, json={"code": 5000, "msg": "系统繁忙"}))
    health = await connector.check()
    assert health.status is HealthStatus.DOWN and health.message is not None
    assert "系统繁忙" in health.message


# -- other kinds of paging ------------------------------------------------------------------


async def test_link_header_paging_resumes_from_the_link_and_never_keeps_a_query_key(
    router: respx.MockRouter, make_connector: Callable[..., RestConnector]
) -> None:
    document = copy.deepcopy(inline_mapping())
    document["pagination"] = {"type": "link_header", "max_page_size": 2}
    document["search"]["params"] = {"keyword": "{text}", "size": "{limit}"}
    document["search"]["total"] = "data.total"
    document["auth"] = {"type": "api_key", "name": "api_key", "in": "query", "value": APP_KEY}
    connector = make_connector(RestOptions.model_validate(document))
    rows = [record(resourceId=f"r{n}") for n in range(5)]

    def answer(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("from", 0))
        headers = {}
        if start + 2 < len(rows):  # the platform echoes the key in its links
            headers["Link"] = f'<{RESOURCES}?from={start + 2}&size=2&api_key={APP_KEY}>; rel="next"'
        return httpx.Response(200, json=listing(rows[start : start + 2], 5), headers=headers)

    route = router.get(RESOURCES).mock(side_effect=answer)
    first = await connector.search(SearchQuery(limit=2))
    second = await connector.search(SearchQuery(offset=2, limit=2))
    assert [d.local_id for d in first.datasets + second.datasets] == ["r0", "r1", "r2", "r3"]
    assert route.call_count == 2  # the second page came straight from the bookmarked link
    resumed = route.calls.last.request.url.params
    assert resumed.get_list("api_key") == [APP_KEY] and resumed["from"] == "2"


async def test_link_paging_gives_resume_points_without_the_key_and_resumes_from_them(
    router: respx.MockRouter, make_connector: Callable[..., RestConnector]
) -> None:
    document = copy.deepcopy(inline_mapping())
    document["pagination"] = {"type": "link_header", "max_page_size": 2}
    document["search"]["params"] = {"keyword": "{text}", "size": "{limit}"}
    document["auth"] = {"type": "api_key", "name": "api_key", "in": "query", "value": APP_KEY}
    options = RestOptions.model_validate(document)
    rows = [record(resourceId=f"r{n}") for n in range(6)]

    def answer(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("from", 0))
        headers = {}
        if start + 2 < len(rows):
            headers["Link"] = f'<{RESOURCES}?from={start + 2}&size=2&api_key={APP_KEY}>; rel="next"'
        return httpx.Response(200, json=listing(rows[start : start + 2], 6), headers=headers)

    route = router.get(RESOURCES).mock(side_effect=answer)
    first = await make_connector(options).search(SearchQuery(limit=2))
    assert [offset for offset, _ in first.resume_points] == [0, 2]
    assert all(APP_KEY not in token for _, token in first.resume_points)
    # A connector that never saw page 1 (a restart, another replica) resumes from the point.
    fresh = make_connector(options)
    before = route.call_count
    third = await fresh.search(SearchQuery(offset=3, limit=2, resume=first.resume_points[-1]))
    assert [d.local_id for d in third.datasets] == ["r3", "r4"]
    resumed = [c.request.url.params for c in route.calls[before:]]
    assert [p["from"] for p in resumed] == ["2", "4"]
    assert resumed[0].get_list("api_key") == [APP_KEY]  # the key is added again when sent
