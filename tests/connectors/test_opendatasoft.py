"""OpenDataSoftConnector against Explore API v2.1-shaped responses (respx, no network)."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr, ValidationError

from connectors.opendatasoft import (
    OpenDataSoftConnector,
    OpenDataSoftCustomKeys,
    OpenDataSoftOptions,
)
from connectors.sdk import (
    ConnectorError,
    DatasetFilter,
    FacetName,
    FatalError,
    FilterName,
    HealthStatus,
    NotSupported,
    QueryRejected,
    RetriableError,
    SearchQuery,
    Sort,
    SourceDefaults,
    SourceSettings,
    SourceUnavailable,
)
from connectors.sdk.conformance import ConnectorConformance
from schema.model import (
    ContactPoint,
    DataField,
    Dataset,
    Department,
    Distribution,
    OpenType,
    Sensitivity,
    ShareType,
    Temporal,
    UpdateFrequency,
)

FIXTURES = Path(__file__).parent / "fixtures" / "opendatasoft"
BASE = "https://data.hexi.example.gov.cn"
API = f"{BASE}/api/explore/v2.1"
DATASETS = f"{API}/catalog/datasets"
FACETS = f"{API}/catalog/facets"
KEY = "ods-api-key-5ecret-value"
OWN_DEPARTMENT = Department(id="big-data", name="河西市大数据发展管理局")
DEFAULTS = SourceDefaults(
    share_type=ShareType.CONDITIONAL, open_type=OpenType.NOT_OPEN, sensitivity=Sensitivity.L2
)
PUBLISHERS = {"交通运输局": "transport", "Transport Bureau": "transport"}
SINGLE_KEYS = OpenDataSoftCustomKeys(
    share_type=("share_type",), open_type=("open_type",), sensitivity=("sensitivity",)
)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def envelope(results: list[Any], total: int | None = None) -> dict[str, Any]:
    return {"total_count": len(results) if total is None else total, "results": results}


def make_settings(**changes: Any) -> SourceSettings:
    values: dict[str, Any] = {
        "id": "city",
        "url": BASE + "/",
        "defaults": DEFAULTS,
        "department": OWN_DEPARTMENT,
        "options": OpenDataSoftOptions(api_key=SecretStr(KEY), publishers=PUBLISHERS),
    }
    values.update(changes)
    return SourceSettings(**values)


@pytest.fixture
def make_connector(client: httpx.AsyncClient) -> Callable[..., OpenDataSoftConnector]:
    def make(**changes: Any) -> OpenDataSoftConnector:
        return OpenDataSoftConnector(make_settings(**changes), client)

    return make


@pytest.fixture
def connector(make_connector: Callable[..., OpenDataSoftConnector]) -> OpenDataSoftConnector:
    return make_connector()


@pytest.fixture
def queryable(make_connector: Callable[..., OpenDataSoftConnector]) -> OpenDataSoftConnector:
    """A portal whose custom template's class fields are queryable, one key per class."""
    options = OpenDataSoftOptions(
        publishers=PUBLISHERS, custom_keys=SINGLE_KEYS, classes_queryable=True
    )
    return make_connector(options=options)


def mock_search(router: respx.MockRouter, body: Any = None, status: int = 200) -> respx.Route:
    body = load("catalog_datasets.json") if body is None else body
    return router.get(DATASETS).mock(return_value=httpx.Response(status, json=body))


def sent(route: respx.Route) -> httpx.QueryParams:
    return route.calls.last.request.url.params


# -- mapping ----------------------------------------------------------------------------


async def test_search_maps_every_field_of_a_full_dataset(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    mock_search(router)
    page = await connector.search(SearchQuery())
    base = f"{DATASETS}/bus-routes-binjiang"
    assert page.datasets[0] == Dataset(
        source_id="city",
        local_id="bus-routes-binjiang",
        title="滨江区公交线路",
        identifier="330100/JTJ-00001",
        description="全市公交线路及站点信息 & 时刻表。\n\n每月更新\n含 线路编号",
        keywords=("公交", "bus"),
        themes=("transport", "urban-planning"),
        department=Department(id="transport", name="交通运输局"),
        issued=datetime(2024, 1, 20, tzinfo=UTC),
        modified=datetime(2024, 3, 1, 12, 0, tzinfo=UTC),
        update_frequency=UpdateFrequency.MONTHLY,  # the custom 每月 wins over dcat WEEKLY
        share_type=ShareType.UNCONDITIONAL,
        share_condition="仅用于公共交通规划",
        open_type=OpenType.CONDITIONAL,
        sensitivity=Sensitivity.L2,
        license="CC BY 4.0",
        landing_page=f"{BASE}/explore/dataset/bus-routes-binjiang/",
        contact_point=ContactPoint("王芳", "wang.fang@jt.example.gov.cn", "0571-12345678"),
        distributions=(
            Distribution(
                "CSV export", "CSV", "text/csv", f"{base}/exports/csv", f"{base}/exports/csv"
            ),
            Distribution(
                "JSON export",
                "JSON",
                "application/json",
                f"{base}/exports/json",
                f"{base}/exports/json",
            ),
            Distribution(
                "GEOJSON export",
                "GEOJSON",
                "application/geo+json",
                f"{base}/exports/geojson",
                f"{base}/exports/geojson",
            ),
            Distribution(
                "stops.zip",
                "ZIP",
                "application/zip",
                f"{base}/attachments/stops_zip",
                f"{base}/attachments/stops_zip",
            ),
            Distribution(
                "数据说明",
                "PDF",
                "application/pdf",
                f"{base}/attachments/readme",
                f"{base}/attachments/readme",
            ),
        ),
        fields=(
            DataField("route_id", "text", "线路编号"),
            DataField("stop_count", "int", "站点数量"),
            DataField("geo_point_2d", "geo_point_2d", "Geo Point"),
        ),
        spatial="河西市滨江区",
        temporal=Temporal(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 12, 31, tzinfo=UTC)),
        language="zh",  # metas.default.language
    )
    assert page.total == 3 and page.sorted


async def test_dataset_with_null_metas_and_no_templates_gets_source_department_and_defaults(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    mock_search(router)
    air = (await connector.search(SearchQuery())).datasets[1]
    assert air == Dataset(
        source_id="city",
        local_id="air-quality-stations",
        title="air-quality-stations",  # title null: the dataset_id, never empty
        department=OWN_DEPARTMENT,  # publisher null
        modified=datetime(2023, 5, 4, 10, 0, tzinfo=UTC),
        share_type=DEFAULTS.share_type,
        open_type=DEFAULTS.open_type,
        sensitivity=DEFAULTS.sensitivity,
        landing_page=f"{BASE}/explore/dataset/air-quality-stations/",
        language="en",
    )
    assert air.distributions == ()  # has_records false: no exports


async def test_english_class_values_and_dcat_frequency_map_to_canonical_values(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    mock_search(router)
    market = (await connector.search(SearchQuery())).datasets[2]
    assert market.share_type is ShareType.CONDITIONAL  # "conditional"
    assert market.open_type is OpenType.CONDITIONAL  # "restricted public"
    assert market.sensitivity is Sensitivity.L1  # "L1"
    assert market.update_frequency is UpdateFrequency.ANNUAL  # dcat EU frequency URI
    assert market.identifier is None  # custom identifier null; never the dataset_id
    assert market.department == Department(
        "Market Supervision Administration", "Market Supervision Administration"
    )  # a publisher the options do not map is its own department
    assert (
        market.description == "Results of the 2023 market inspections.\n\nOne row per inspection."
    )
    assert market.contact_point == ContactPoint(email="open-data@market.example.gov.cn")
    assert [d.format for d in market.distributions] == ["CSV", "JSON"]  # no geo feature


async def test_html_descriptions_keep_their_link_targets(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    body = load("catalog_datasets.json")
    body["results"][0]["metas"]["default"]["description"] = (
        '<p>Timetables: see <a href="https://bus.example.gov.cn/timetables">the bus site</a>'
        ' or <a href="mailto:open@jt.example.gov.cn">write to us</a>.</p>'
        '<p><a href="#top">Top</a> <a href="javascript:void(0)">Print</a></p>'
    )
    mock_search(router, body)
    [first, *_] = (await connector.search(SearchQuery())).datasets
    assert first.description == (
        "Timetables: see the bus site (https://bus.example.gov.cn/timetables)"
        " or write to us (open@jt.example.gov.cn).\n\nTop Print"
    )


@pytest.mark.parametrize("defaults", [SourceDefaults(), DEFAULTS], ids=["sdk-defaults", "custom"])
async def test_datasets_without_classes_never_default_to_most_open(
    router: respx.MockRouter,
    make_connector: Callable[..., OpenDataSoftConnector],
    defaults: SourceDefaults,
) -> None:
    mock_search(router)
    air = (await make_connector(defaults=defaults).search(SearchQuery())).datasets[1]
    assert air.share_type is defaults.share_type is not ShareType.UNCONDITIONAL
    assert air.open_type is defaults.open_type is not OpenType.OPEN
    assert air.sensitivity is defaults.sensitivity is not Sensitivity.L1


async def test_configured_custom_template_and_keys_replace_the_defaults(
    router: respx.MockRouter, make_connector: Callable[..., OpenDataSoftConnector]
) -> None:
    dataset = load("catalog_dataset.json")
    dataset["metas"]["gxsj"] = {"gongxiang": "有条件共享", "share_type": "无条件共享"}
    mock_search(router, envelope([dataset]))
    options = OpenDataSoftOptions(
        custom_template="gxsj", custom_keys=OpenDataSoftCustomKeys(share_type=("gongxiang",))
    )
    mapped = (await make_connector(options=options).search(SearchQuery())).datasets[0]
    assert mapped.share_type is ShareType.CONDITIONAL
    assert mapped.identifier is None  # the "custom" template is no longer read


@pytest.mark.parametrize("value", ["yesterday", "2024-13-45T00:00:00", 1700000000, "", None])
async def test_unparseable_timestamps_become_none(
    router: respx.MockRouter, connector: OpenDataSoftConnector, value: object
) -> None:
    dataset = load("catalog_dataset.json")
    dataset["metas"]["default"]["modified"] = dataset["metas"]["dcat"]["issued"] = value
    dataset["metas"]["dcat"]["created"] = value
    mock_search(router, envelope([dataset]))
    mapped = (await connector.search(SearchQuery())).datasets[0]
    assert (mapped.issued, mapped.modified) == (None, None)


async def test_garbage_records_are_skipped_with_a_warning_and_positions_reported(
    router: respx.MockRouter, connector: OpenDataSoftConnector, caplog: pytest.LogCaptureFixture
) -> None:
    good = load("catalog_dataset.json")
    hostile = copy.deepcopy(good) | {
        "dataset_id": "hostile",
        "metas": {"default": {"keyword": "one keyword", "theme": 7}, "dcat": "not a dict"},
        "fields": "nope",
        "attachments": [None, {"id": None}],
    }
    body = envelope(["a string", {"dataset_uid": "da_x"}, None, good, hostile], 5)
    mock_search(router, body)
    with caplog.at_level(logging.WARNING, logger="connectors.opendatasoft"):
        page = await connector.search(SearchQuery())
    assert [d.local_id for d in page.datasets] == ["bus-routes-binjiang", "hostile"]
    assert page.datasets[1].keywords == ("one keyword",) and page.datasets[1].themes == ("7",)
    assert page.datasets[1].fields == ()
    assert (page.consumed, page.positions) == (5, (3, 4))
    assert len([r for r in caplog.records if "skipped" in r.getMessage()]) == 3


async def test_a_reprocessed_dataset_is_mapped_again(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    dataset = load("catalog_dataset.json")
    mock_search(router, envelope([dataset]))
    assert (await connector.search(SearchQuery())).datasets[0].title == "滨江区公交线路"
    dataset["metas"]["default"]["title"] = "新标题"
    dataset["metas"]["default"]["metadata_processed"] = "2024-03-02T00:00:00+00:00"
    mock_search(router, envelope([dataset]))
    assert (await connector.search(SearchQuery())).datasets[0].title == "新标题"


# -- the request -------------------------------------------------------------------------


async def test_no_query_sends_no_where_and_the_page_as_limit_and_offset(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    route = mock_search(router, envelope([]))
    await connector.search(SearchQuery(offset=40, limit=20))
    assert dict(sent(route)) == {"limit": "20", "offset": "40"}


async def test_limit_is_capped_at_100(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    route = mock_search(router, envelope([]))
    await connector.search(SearchQuery(limit=500))
    assert sent(route)["limit"] == "100"


@pytest.mark.parametrize(
    ("sort", "order_by"),
    [
        (Sort.MODIFIED_DESC, "modified desc"),
        (Sort.MODIFIED_ASC, "modified asc"),
        (Sort.TITLE_ASC, "title asc"),
        (Sort.RELEVANCE, None),
    ],
)
async def test_sort_maps_to_order_by(
    router: respx.MockRouter, connector: OpenDataSoftConnector, sort: Sort, order_by: str | None
) -> None:
    route = mock_search(router, envelope([]))
    await connector.search(SearchQuery(sort=sort))
    assert sent(route).get("order_by") == order_by


async def test_free_text_is_a_quoted_escaped_search_call(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    route = mock_search(router, envelope([]))
    await connector.search(SearchQuery(text='  公交 "night"\\ bus  '))
    assert sent(route)["where"] == 'search("公交 \\"night\\"\\\\ bus")'


async def test_lang_is_sent_only_when_configured_and_not_to_facets(
    router: respx.MockRouter, make_connector: Callable[..., OpenDataSoftConnector]
) -> None:
    route = mock_search(router, envelope([]))
    facets = router.get(FACETS).mock(
        return_value=httpx.Response(200, json=load("catalog_facets.json"))
    )
    english = make_connector(options=OpenDataSoftOptions(lang="en"))
    await english.search(SearchQuery(facets=frozenset({FacetName.THEMES})))
    assert sent(route)["lang"] == "en"
    assert "lang" not in facets.calls.last.request.url.params
    await make_connector(options=OpenDataSoftOptions()).search(SearchQuery())
    assert "lang" not in sent(route)


async def test_api_key_is_sent_as_an_apikey_authorization_header_never_in_the_url(
    router: respx.MockRouter, make_connector: Callable[..., OpenDataSoftConnector]
) -> None:
    route = mock_search(router, envelope([]))
    await make_connector().search(SearchQuery())
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Apikey {KEY}"
    assert KEY not in str(request.url)
    await make_connector(options=OpenDataSoftOptions()).search(SearchQuery())
    assert "authorization" not in route.calls.last.request.headers


# -- pushdown ---------------------------------------------------------------------------

PUSHED = [
    pytest.param(
        DatasetFilter(themes=("transport", "health")),
        FilterName.THEMES,
        '(theme="transport" OR theme="health")',
        id="themes",
    ),
    pytest.param(
        DatasetFilter(keywords=("Bus",)),
        FilterName.KEYWORDS,
        '(keyword="Bus" OR keyword="bus" OR keyword="BUS")',
        id="keywords",
    ),
    pytest.param(
        DatasetFilter(departments=("transport",)),
        FilterName.DEPARTMENTS,
        # An unmapped publisher is its own department, so "transport" itself matches too.
        '(publisher="交通运输局" OR publisher="Transport Bureau" OR publisher="transport")',
        id="departments-through-publishers",
    ),
    pytest.param(
        DatasetFilter(departments=("Market Supervision Administration",)),
        FilterName.DEPARTMENTS,
        'publisher="Market Supervision Administration"',
        id="departments-unmapped-publisher",
    ),
    pytest.param(
        DatasetFilter(departments=("big-data",)),
        FilterName.DEPARTMENTS,
        '(publisher="big-data" OR publisher is null)',
        id="departments-own",
    ),
    pytest.param(
        DatasetFilter(modified_after=datetime(2024, 1, 1, tzinfo=UTC)),
        FilterName.MODIFIED_AFTER,
        "modified>=date'2024-01-01T00:00:00Z'",
        id="modified_after",
    ),
    pytest.param(
        DatasetFilter(modified_before=datetime.fromisoformat("2024-01-01T08:00:00.250+08:00")),
        FilterName.MODIFIED_BEFORE,
        "modified<date'2024-01-01T00:00:01Z'",  # whole seconds: rounding up stays exact
        id="modified_before",
    ),
]


@pytest.mark.parametrize(("dataset_filter", "name", "clause"), PUSHED)
async def test_each_filter_reaches_where_and_is_reported_applied(
    router: respx.MockRouter,
    connector: OpenDataSoftConnector,
    dataset_filter: DatasetFilter,
    name: FilterName,
    clause: str,
) -> None:
    route = mock_search(router, envelope([]))
    page = await connector.search(SearchQuery(filter=dataset_filter))
    assert sent(route)["where"] == clause
    assert page.applied == {name}


async def test_filters_and_text_are_anded_in_one_where(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    route = mock_search(router, envelope([]))
    f = DatasetFilter(themes=("transport",), modified_after=datetime(2024, 1, 1, tzinfo=UTC))
    page = await connector.search(SearchQuery(text="公交", filter=f))
    assert sent(route)["where"] == (
        'search("公交") AND theme="transport" AND modified>=date\'2024-01-01T00:00:00Z\''
    )
    assert page.applied == {FilterName.THEMES, FilterName.MODIFIED_AFTER}


@pytest.mark.parametrize(
    "dataset_filter",
    [
        DatasetFilter(share_types=(ShareType.UNCONDITIONAL,)),
        DatasetFilter(open_types=(OpenType.OPEN,)),
        DatasetFilter(max_sensitivity=Sensitivity.L2),
        DatasetFilter(formats=("CSV",)),
    ],
)
async def test_filters_odsql_cannot_reach_are_left_to_the_gateway(
    router: respx.MockRouter, connector: OpenDataSoftConnector, dataset_filter: DatasetFilter
) -> None:
    route = mock_search(router, envelope([]))
    page = await connector.search(SearchQuery(filter=dataset_filter))
    assert "where" not in sent(route)
    assert page.applied == frozenset()


CLASS_PUSHED = [
    pytest.param(
        DatasetFilter(share_types=(ShareType.UNCONDITIONAL,)),
        FilterName.SHARE_TYPES,
        '(custom.share_type="unconditional" OR custom.share_type="UNCONDITIONAL" OR '
        'custom.share_type="Unconditional" OR custom.share_type="无条件共享")',
        id="share_types-without-default",
    ),
    pytest.param(
        DatasetFilter(share_types=(ShareType.CONDITIONAL,)),
        FilterName.SHARE_TYPES,
        "(custom.share_type is null OR NOT (custom.share_type=",
        id="share_types-default-admits-unstated",
    ),
    pytest.param(
        DatasetFilter(open_types=(OpenType.OPEN,)),
        FilterName.OPEN_TYPES,
        'custom.open_type="无条件开放"',
        id="open_types",
    ),
    pytest.param(
        DatasetFilter(max_sensitivity=Sensitivity.L1),
        FilterName.MAX_SENSITIVITY,
        'custom.sensitivity="一级"',
        id="max_sensitivity",
    ),
]


@pytest.mark.parametrize(("dataset_filter", "name", "clause"), CLASS_PUSHED)
async def test_class_filters_reach_where_when_the_template_is_queryable(
    router: respx.MockRouter,
    queryable: OpenDataSoftConnector,
    dataset_filter: DatasetFilter,
    name: FilterName,
    clause: str,
) -> None:
    route = mock_search(router, envelope([]))
    page = await queryable.search(SearchQuery(filter=dataset_filter))
    assert clause in sent(route)["where"]
    assert page.applied == {name}


async def test_a_default_class_clause_excludes_only_other_classes_spellings(
    router: respx.MockRouter, queryable: OpenDataSoftConnector
) -> None:
    route = mock_search(router, envelope([]))
    # CONDITIONAL is the source default: datasets stating no class (or an unknown one) match.
    await queryable.search(SearchQuery(filter=DatasetFilter(share_types=(ShareType.CONDITIONAL,))))
    where = sent(route)["where"]
    assert 'custom.share_type="无条件共享"' in where and 'custom.share_type="不予共享"' in where
    assert "有条件共享" not in where  # a wanted spelling is never excluded


async def test_chinese_key_names_are_back_quoted(
    router: respx.MockRouter, make_connector: Callable[..., OpenDataSoftConnector]
) -> None:
    keys = OpenDataSoftCustomKeys(
        share_type=("共享类型",), open_type=("open_type",), sensitivity=("sensitivity",)
    )
    options = OpenDataSoftOptions(custom_keys=keys, classes_queryable=True)
    route = mock_search(router, envelope([]))
    f = DatasetFilter(share_types=(ShareType.NOT_SHARED,))
    await make_connector(options=options).search(SearchQuery(filter=f))
    assert 'custom.`共享类型`="不予共享"' in sent(route)["where"]


async def test_pushdown_that_lets_through_a_contradicting_record_is_withdrawn(
    router: respx.MockRouter, connector: OpenDataSoftConnector, caplog: pytest.LogCaptureFixture
) -> None:
    # A portal whose equality is looser than the gateway's (e.g. case-insensitive) returns
    # a record the filter does not match: the claim is withdrawn, the gateway filters.
    mock_search(router)
    with caplog.at_level(logging.WARNING, logger="connectors.opendatasoft"):
        page = await connector.search(SearchQuery(filter=DatasetFilter(themes=("transport",))))
    assert page.applied == frozenset()
    assert "themes pushdown let through" in caplog.text


async def test_visibility_alternatives_are_pushed_down_as_one_or_group(
    router: respx.MockRouter, queryable: OpenDataSoftConnector
) -> None:
    route = mock_search(router, envelope([]))
    any_of = (
        DatasetFilter(departments=("transport",)),
        DatasetFilter(open_types=(OpenType.OPEN,), max_sensitivity=Sensitivity.L1),
    )
    page = await queryable.search(SearchQuery(any_of=any_of))
    where = sent(route)["where"]
    assert where.startswith('(((publisher="交通运输局" OR publisher="Transport Bureau" OR ')
    assert 'custom.open_type="无条件开放"' in where and 'custom.sensitivity="一级"' in where
    assert page.any_of_applied


async def test_visibility_needing_class_metas_is_not_pushed_unless_queryable(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    route = mock_search(router, envelope([]))
    any_of = (DatasetFilter(departments=("transport",)), DatasetFilter(open_types=(OpenType.OPEN,)))
    page = await connector.search(SearchQuery(any_of=any_of))
    assert "where" not in sent(route)
    assert not page.any_of_applied


async def test_visibility_that_admits_everything_adds_no_clause(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    route = mock_search(router, envelope([]))
    page = await connector.search(
        SearchQuery(any_of=(DatasetFilter(themes=("x",)), DatasetFilter()))
    )
    assert "where" not in sent(route)
    assert page.any_of_applied


async def test_a_record_outside_the_visibility_withdraws_the_claim(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    mock_search(router)  # the fixture's records have other departments too
    page = await connector.search(SearchQuery(any_of=(DatasetFilter(departments=("transport",)),)))
    assert not page.any_of_applied


# -- the 10,000-row window ------------------------------------------------------------


async def test_a_page_crossing_the_window_is_cut_at_it(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    route = mock_search(router, envelope([], 25_000))
    await connector.search(SearchQuery(offset=9_950, limit=100))
    assert (sent(route)["offset"], sent(route)["limit"]) == ("9950", "50")


async def test_past_the_window_the_connector_counts_and_says_what_it_cannot_reach(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    route = mock_search(router, envelope([], 12_345))
    f = DatasetFilter(themes=("transport",))
    with pytest.raises(NotSupported, match="first 10,000 matches") as caught:
        await connector.search(SearchQuery(offset=10_000, limit=20, filter=f))
    assert "2,345 more match" in caught.value.message and "narrow" in caught.value.message
    assert caught.value.source_id == "city"
    # Only a count was asked for, with the same filter: never a request the portal refuses.
    assert dict(sent(route)) == {"where": 'theme="transport"', "limit": "0"}


async def test_past_the_window_with_nothing_beyond_the_source_is_exhausted(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    mock_search(router, envelope([], 10_000))
    page = await connector.search(SearchQuery(offset=10_000, limit=20))
    assert (page.datasets, page.total, page.upstream_rows()) == ((), 10_000, 0)


@pytest.mark.parametrize("offset", [0, 99, 9_900, 9_999, 10_000, 10_001, 50_000])
async def test_no_request_ever_exceeds_the_window(
    router: respx.MockRouter, connector: OpenDataSoftConnector, offset: int
) -> None:
    def window(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if int(params.get("offset", 0)) + int(params.get("limit", 10)) > 10_000:
            return httpx.Response(400, json=load("error_400_window.json"))
        return httpx.Response(200, json=envelope([], 10_050))

    router.get(DATASETS).mock(side_effect=window)
    try:
        await connector.search(SearchQuery(offset=offset, limit=100))
    except NotSupported:
        assert offset >= 10_000


async def test_a_lower_configured_window_is_honoured(
    router: respx.MockRouter, make_connector: Callable[..., OpenDataSoftConnector]
) -> None:
    route = mock_search(router, envelope([], 300))
    ods = make_connector(options=OpenDataSoftOptions(result_window=100))
    await ods.search(SearchQuery(offset=60, limit=100))
    assert sent(route)["limit"] == "40"
    with pytest.raises(NotSupported, match="first 100 matches"):
        await ods.search(SearchQuery(offset=100, limit=100))


# -- facets -------------------------------------------------------------------------------


async def test_facets_come_from_catalog_facets_with_the_same_where(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    mock_search(router, envelope([], 10))
    facets = router.get(FACETS).mock(
        return_value=httpx.Response(200, json=load("catalog_facets.json"))
    )
    f = DatasetFilter(themes=("transport",))
    page = await connector.search(SearchQuery(filter=f, facets=frozenset(FacetName)))
    request = facets.calls.last.request
    assert request.url.params.get_list("facet") == ["publisher", "theme"]
    assert request.url.params["where"] == 'theme="transport"'
    assert page.facets == {
        # two publisher spellings of one department are summed; 10 - 8 without publisher
        FacetName.DEPARTMENTS: {
            "transport": 7,
            "Market Supervision Administration": 1,
            "big-data": 2,
        },
        FacetName.THEMES: {"transport": 6, "urban-planning": 3},
    }


async def test_only_requested_facets_are_asked_for(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    mock_search(router, envelope([], 10))
    facets = router.get(FACETS).mock(
        return_value=httpx.Response(200, json=load("catalog_facets.json"))
    )
    page = await connector.search(SearchQuery(facets=frozenset({FacetName.THEMES})))
    assert facets.calls.last.request.url.params.get_list("facet") == ["theme"]
    assert set(page.facets) == {FacetName.THEMES}
    await connector.search(SearchQuery(facets=frozenset({FacetName.FORMATS})))
    assert facets.call_count == 1  # formats are not counted upstream


async def test_a_failing_facets_call_leaves_facets_to_the_gateway(
    router: respx.MockRouter, connector: OpenDataSoftConnector, caplog: pytest.LogCaptureFixture
) -> None:
    mock_search(router)
    router.get(FACETS).mock(return_value=httpx.Response(503, text="busy"))
    with caplog.at_level(logging.WARNING, logger="connectors.opendatasoft"):
        page = await connector.search(SearchQuery(facets=frozenset(FacetName)))
    assert len(page.datasets) == 3 and page.facets == {}
    assert "facets unavailable" in caplog.text


@pytest.mark.parametrize(
    ("body", "status"),
    [(load("error_400_odsql.json"), 400), ({"total_count": 1}, 200)],
    ids=["400", "wrong-envelope"],
)
async def test_a_failing_search_does_not_leave_the_facets_call_running(
    router: respx.MockRouter, connector: OpenDataSoftConnector, body: Any, status: int
) -> None:
    never = asyncio.Event()

    async def slow_facets(request: httpx.Request) -> httpx.Response:
        await never.wait()
        raise AssertionError("unreachable")

    mock_search(router, body, status=status)
    router.get(FACETS).mock(side_effect=slow_facets)
    with pytest.raises(FatalError):
        await connector.search(SearchQuery(facets=frozenset(FacetName)))
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == {asyncio.current_task()}


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        (
            "error_400_odsql.json",
            "ODSQLError: ODSQL query is malformed: Unknown field: departement.",
        ),
        (
            "error_400_window.json",
            "InvalidRESTParameterError: Invalid value for sum of offset + limit",
        ),
    ],
)
async def test_a_400_is_query_rejected_with_the_platforms_error_code_and_message(
    router: respx.MockRouter, connector: OpenDataSoftConnector, fixture: str, message: str
) -> None:
    mock_search(router, load(fixture), status=400)
    with pytest.raises(QueryRejected, match="OpenDataSoft rejected the request") as caught:
        await connector.search(SearchQuery())
    assert message in caught.value.message
    assert caught.value.source_id == connector.source_id
    assert caught.value.request is not None and "catalog/datasets" in str(caught.value.request.url)


async def test_a_400_to_a_lookup_is_query_rejected_and_to_the_listing_the_sources_failure(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    router.get(url__regex=r".*/catalog/datasets/.+").mock(
        return_value=httpx.Response(400, json=load("error_400_odsql.json"))
    )
    with pytest.raises(QueryRejected):
        await connector.get("some-dataset")
    router.get(FACETS).mock(return_value=httpx.Response(400, json=load("error_400_odsql.json")))
    with pytest.raises(FatalError) as caught:
        await connector.departments()  # catalog/facets?facet=publisher: no caller input
    assert not isinstance(caught.value, QueryRejected)


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_and_quota_answers_are_retriable(
    router: respx.MockRouter, connector: OpenDataSoftConnector, status: int
) -> None:
    body = load("error_429.json") if status == 429 else {"message": "oops"}
    mock_search(router, body, status=status)
    with pytest.raises(RetriableError, match=str(status)):
        await connector.search(SearchQuery())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"results": []}, "'total_count' is None", id="no-total"),
        pytest.param({"total_count": -1, "results": []}, "'total_count' is -1", id="negative"),
        pytest.param({"total_count": "3", "results": []}, "'total_count' is '3'", id="text"),
        pytest.param({"total_count": 3, "results": {}}, "'results' is a dict", id="results"),
        pytest.param({"total_count": 3}, "'results' is a null", id="no-results"),
        pytest.param([1, 2], "JSON list, not an object", id="not-an-object"),
    ],
)
async def test_wrong_envelope_is_fatal_and_says_what_was_wrong(
    router: respx.MockRouter, connector: OpenDataSoftConnector, body: Any, message: str
) -> None:
    mock_search(router, body)
    with pytest.raises(FatalError) as caught:
        await connector.search(SearchQuery())
    assert message in caught.value.message
    assert caught.value.source_id == "city"


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(httpx.Response(200, text='{"total_count": 3, "results": [{'), id="invalid"),
        pytest.param(
            httpx.Response(
                200,
                text="<!DOCTYPE html><html><body>统一身份认证</body></html>",
                headers={"content-type": "text/html; charset=utf-8"},
            ),
            id="html-login-page",
        ),
        pytest.param(httpx.Response(404, text="<html>Not Found</html>"), id="html-404"),
        pytest.param(httpx.Response(404, json=load("error_404.json")), id="no-explore-api"),
        pytest.param(httpx.Response(401, json={"error_code": "Unauthorized"}), id="401"),
    ],
)
async def test_bodies_that_are_not_explore_json_are_fatal(
    router: respx.MockRouter, connector: OpenDataSoftConnector, response: httpx.Response
) -> None:
    router.get(DATASETS).mock(return_value=response)
    with pytest.raises(FatalError):
        await connector.search(SearchQuery())


async def test_oversized_body_is_fatal(
    router: respx.MockRouter, make_connector: Callable[..., OpenDataSoftConnector]
) -> None:
    mock_search(router)
    with pytest.raises(FatalError, match="byte cap"):
        await make_connector(max_response_bytes=512).search(SearchQuery())


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.ConnectError])
async def test_timeouts_and_refused_connections_make_the_source_unavailable(
    router: respx.MockRouter, connector: OpenDataSoftConnector, error: type[Exception]
) -> None:
    router.get(DATASETS).mock(side_effect=error)
    with pytest.raises(SourceUnavailable):
        await connector.search(SearchQuery())


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500),
        httpx.Response(400, json={"error_code": "ODSQLError", "message": "bad"}),
        httpx.Response(200, text="not json"),
        httpx.ReadTimeout,
    ],
    ids=["500", "400", "invalid-json", "timeout"],
)
async def test_api_key_never_appears_in_errors_or_reprs(
    router: respx.MockRouter, connector: OpenDataSoftConnector, response: Any
) -> None:
    route = router.get(DATASETS)
    if isinstance(response, httpx.Response):
        route.mock(return_value=response)
    else:
        route.mock(side_effect=response)
    with pytest.raises(ConnectorError) as caught:
        await connector.search(SearchQuery())
    error = caught.value
    for text in (str(error), repr(error), error.message, repr(error.request)):
        assert KEY not in text
    if error.request is not None:
        assert KEY not in error.request.headers.get("authorization", "")
    for text in (repr(connector), repr(connector.options), repr(connector.settings)):
        assert KEY not in text


# -- get, departments, check ----------------------------------------------------------


async def test_get_fetches_the_dataset_by_id_and_maps_it(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    route = router.get(f"{DATASETS}/bus-routes-binjiang").mock(
        return_value=httpx.Response(200, json=load("catalog_dataset.json"))
    )
    dataset = await connector.get("bus-routes-binjiang")
    assert dataset is not None and dataset.title == "滨江区公交线路"
    assert route.calls.last.request.headers["authorization"] == f"Apikey {KEY}"


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(httpx.Response(404, json=load("error_404.json")), id="missing"),
        pytest.param(httpx.Response(403, json={"error_code": "ForbiddenAccess"}), id="refused"),
        pytest.param(httpx.Response(401, json={"error_code": "Unauthorized"}), id="unauth"),
        pytest.param(httpx.Response(200, json={"dataset_uid": "da_1"}), id="unmappable"),
    ],
)
async def test_get_answers_none_alike_for_missing_refused_and_unmappable_datasets(
    router: respx.MockRouter, connector: OpenDataSoftConnector, response: httpx.Response
) -> None:
    router.get(f"{DATASETS}/air-quality-stations-2019").mock(return_value=response)
    assert await connector.get("air-quality-stations-2019") is None


async def test_get_quotes_the_id_into_one_path_segment(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    route = router.get(url__regex=rf"{DATASETS}/.*").mock(
        return_value=httpx.Response(404, json=load("error_404.json"))
    )
    assert await connector.get("../facets?facet=x") is None
    assert route.calls.last.request.url.raw_path.startswith(
        b"/api/explore/v2.1/catalog/datasets/..%2Ffacets%3Ffacet%3Dx"
    )
    assert await connector.get("  ") is None and route.call_count == 1


async def test_get_with_a_server_error_is_retriable(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    router.get(f"{DATASETS}/x").mock(return_value=httpx.Response(502))
    with pytest.raises(RetriableError):
        await connector.get("x")


async def test_departments_are_the_publisher_facet_mapped_to_department_ids(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    route = router.get(FACETS).mock(
        return_value=httpx.Response(200, json=load("catalog_facets.json"))
    )
    assert await connector.departments() == [
        Department("transport", "交通运输局"),
        Department("Market Supervision Administration", "Market Supervision Administration"),
    ]
    assert route.calls.last.request.url.params.get_list("facet") == ["publisher"]


async def test_check_is_up_when_the_catalogue_answers(
    router: respx.MockRouter, connector: OpenDataSoftConnector
) -> None:
    route = mock_search(router, envelope([], 42))
    health = await connector.check()
    assert health.status is HealthStatus.UP and health.latency_ms is not None
    assert sent(route)["limit"] == "0"


@pytest.mark.parametrize(
    "response",
    [httpx.Response(503), httpx.Response(200, json={"nope": 1}), httpx.ConnectError("refused")],
    ids=["503", "wrong-envelope", "refused"],
)
async def test_check_reports_down_with_a_message_and_never_raises(
    router: respx.MockRouter, connector: OpenDataSoftConnector, response: Any
) -> None:
    route = router.get(DATASETS)
    if isinstance(response, httpx.Response):
        route.mock(return_value=response)
    else:
        route.mock(side_effect=response)
    health = await connector.check()
    assert health.status is HealthStatus.DOWN and health.message


# -- options and declaration ------------------------------------------------------------


def test_options_reject_unknown_keys_bad_values_and_hide_the_api_key() -> None:
    with pytest.raises(ValidationError, match="api_keys"):
        OpenDataSoftOptions.model_validate({"api_keys": "x"})
    with pytest.raises(ValidationError, match="result_window"):
        OpenDataSoftOptions.model_validate({"result_window": 20_000})
    with pytest.raises(ValidationError, match="lang"):
        OpenDataSoftOptions.model_validate({"lang": "zh-CN"})
    with pytest.raises(ValidationError, match="not a metadata key name"):
        OpenDataSoftOptions.model_validate({"custom_keys": {"share_type": ["a.b"]}})
    assert KEY not in repr(OpenDataSoftOptions(api_key=SecretStr(KEY)))


def test_queryable_classes_need_one_custom_key_per_class() -> None:
    with pytest.raises(ValidationError, match="exactly one custom key per class") as caught:
        OpenDataSoftOptions.model_validate({"classes_queryable": True})
    assert "share_type has 2 (share_type, 共享类型)" in str(caught.value)
    options = OpenDataSoftOptions.model_validate(
        {
            "classes_queryable": True,
            "custom_keys": {
                "share_type": ["share_type"],
                "open_type": ["open_type"],
                "sensitivity": ["sensitivity"],
            },
        }
    )
    assert options.classes_queryable


def test_capabilities_declare_what_the_connector_pushes_down() -> None:
    caps = OpenDataSoftConnector.capabilities
    assert OpenDataSoftConnector.name == "opendatasoft"
    assert OpenDataSoftConnector.options_model is OpenDataSoftOptions
    assert caps.search and caps.get_by_id and caps.max_page_size == 100
    assert caps.sorts == frozenset(Sort)
    assert FilterName.FORMATS not in caps.filters
    assert caps.facets == {FacetName.DEPARTMENTS, FacetName.THEMES}


def test_connector_built_with_generic_options_validates_them(client: httpx.AsyncClient) -> None:
    from connectors.sdk import NoOptions

    ods = OpenDataSoftConnector(make_settings(options=NoOptions()), client)
    assert ods.options == OpenDataSoftOptions()


# -- the conformance kit ----------------------------------------------------------------


class TestOpenDataSoftConformance(ConnectorConformance):
    """The SDK's conformance kit. The recordings are answers of the simulated portal
    (``simulators.opendatasoft_sim``) serving five datasets of the demo city, one of
    them without a publisher, recorded with ``--conformance-record``."""

    connector_class = OpenDataSoftConnector
    recordings = FIXTURES / "conformance"
    options = {
        "api_key": KEY,
        "classes_queryable": True,
        "custom_keys": {
            "share_type": ["share_type"],
            "open_type": ["open_type"],
            "sensitivity": ["sensitivity"],
        },
        "publishers": {"交通运输局": "transport", "住房和城乡建设局": "housing"},
    }
    department = OWN_DEPARTMENT
    defaults = DEFAULTS
    page_size = 2
    # The Explore API's 400 bodies: ODSQL it cannot parse, a parameter out of range.
    bad_query_answers = [
        {"status": 400, "body": load("error_400_odsql.json")},
        {"status": 400, "body": load("error_400_window.json")},
    ]
