"""SocrataConnector against Discovery API responses shaped like the real ones (respx)."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr, ValidationError

from connectors.sdk import (
    ConnectorError,
    DatasetFilter,
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
from connectors.socrata import (
    PAGING_WINDOW,
    DepartmentOption,
    SocrataConnector,
    SocrataMetadataKeys,
    SocrataOptions,
)
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

FIXTURES = Path(__file__).parent / "fixtures" / "socrata"
SITE = "https://data.hexi.example.gov"
CATALOG = f"{SITE}/api/catalog/v1"
DOMAIN = "data.hexi.example.gov"
APP_TOKEN = "socrata-app-token-5ecret"
OWN_DEPARTMENT = Department(id="hexi-open-data", name="Hexi open data office")
DEFAULTS = SourceDefaults(
    share_type=ShareType.CONDITIONAL, open_type=OpenType.NOT_OPEN, sensitivity=Sensitivity.L2
)
OPTIONS = SocrataOptions(
    app_token=SecretStr(APP_TOKEN),
    departments={
        "Transport Bureau": DepartmentOption(id="transport", name="交通运输局"),
        "交通运输局": DepartmentOption(id="transport", name="交通运输局"),
    },
    category_themes={"Transportation": "transport", "交通": "transport"},
)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def answer(results: list[Any], total: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = load("catalog_empty.json")
    body["results"] = results
    body["resultSetSize"] = len(results) if total is None else total
    return body


def result(index: int) -> dict[str, Any]:
    found: dict[str, Any] = copy.deepcopy(load("catalog_search.json")["results"][index])
    return found


def make_settings(**changes: Any) -> SourceSettings:
    values: dict[str, Any] = {
        "id": "hexi",
        "url": SITE + "/",
        "defaults": DEFAULTS,
        "department": OWN_DEPARTMENT,
        "options": OPTIONS,
    }
    values.update(changes)
    return SourceSettings(**values)


@pytest.fixture
def make_connector(client: httpx.AsyncClient) -> Callable[..., SocrataConnector]:
    def make(**changes: Any) -> SocrataConnector:
        return SocrataConnector(make_settings(**changes), client)

    return make


@pytest.fixture
def connector(make_connector: Callable[..., SocrataConnector]) -> SocrataConnector:
    return make_connector()


def mock_catalog(router: respx.MockRouter, body: Any = None, status: int = 200) -> respx.Route:
    body = load("catalog_search.json") if body is None else body
    return router.get(CATALOG).mock(return_value=httpx.Response(status, json=body))


def sent(route: respx.Route) -> httpx.QueryParams:
    return route.calls.last.request.url.params


# -- mapping ----------------------------------------------------------------------------


async def test_search_maps_every_field_of_a_full_asset(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    mock_catalog(router)
    page = await connector.search(SearchQuery())
    export = f"{SITE}/api/views/bw6k-7r9e/rows.csv?accessType=DOWNLOAD"
    assert page.datasets[0] == Dataset(
        source_id="hexi",
        local_id="bw6k-7r9e",
        title="Bus Routes and Stops",
        identifier="330100/JTJ-00001",
        description=(
            "All bus routes & stops of the city.\n\nUpdated monthly by the Transport Bureau"
            " (https://transport.hexi.example.gov)."  # the link target stays in the text
        ),
        keywords=("bus", "transit", "stops"),
        themes=("transport",),
        department=Department(id="transport", name="交通运输局"),
        issued=datetime(2021, 6, 15, 8, 30, tzinfo=UTC),
        modified=datetime(2024, 3, 1, 12, 0, tzinfo=UTC),
        update_frequency=UpdateFrequency.MONTHLY,
        share_type=ShareType.UNCONDITIONAL,
        share_condition=None,
        open_type=OpenType.OPEN,
        sensitivity=Sensitivity.L1,
        license="Creative Commons Attribution 4.0 International",
        landing_page=f"{SITE}/d/bw6k-7r9e",
        contact_point=ContactPoint(
            name="Wang Fang", email="wangfang@transport.hexi.example.gov", phone="0571-87654321"
        ),
        distributions=(
            Distribution(
                title="SODA API",
                format="JSON",
                media_type="application/json",
                access_url=f"{SITE}/resource/bw6k-7r9e.json",
            ),
            Distribution(
                title="CSV export",
                format="CSV",
                media_type="text/csv",
                access_url=export,
                download_url=export,
            ),
        ),
        fields=(
            DataField("route_id", "Text", "Route number as signposted"),
            DataField("stop_name", "Text", "Stop Name"),
            DataField("stop_count", "Number", "Stops served by the route"),
            DataField("location", "Point", "Location"),
        ),
        spatial="Hexi City",
        temporal=Temporal(datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 12, 31, tzinfo=UTC)),
    )
    assert page.total == 57


async def test_chinese_metadata_values_map_to_canonical_classes(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    mock_catalog(router)
    ds = (await connector.search(SearchQuery())).datasets[1]
    assert (ds.share_type, ds.open_type, ds.sensitivity) == (
        ShareType.CONDITIONAL,
        OpenType.NOT_OPEN,
        Sensitivity.L3,
    )
    assert ds.update_frequency is UpdateFrequency.MONTHLY
    assert ds.share_condition == "仅用于交通规划"
    assert ds.identifier == "330100/JTJ-00094"
    assert ds.themes == ("transport",) and ds.keywords == ("公交", "客流")
    assert ds.department == Department(id="transport", name="交通运输局")
    assert ds.contact_point == ContactPoint(email="keliu@jt.hexi.example.gov")
    assert ds.license is None


async def test_dates_in_every_form_the_api_writes_become_utc(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    mock_catalog(router)
    _, chinese, sparse, naive = (await connector.search(SearchQuery())).datasets
    assert chinese.modified == datetime(2024, 3, 2, 20, tzinfo=timezone(timedelta(hours=8)))
    assert chinese.issued == datetime(2024, 1, 5, tzinfo=UTC)
    assert sparse.modified == datetime(2023, 11, 30, 9, 15, tzinfo=UTC)
    assert sparse.issued is None
    assert naive.modified == datetime(2022, 5, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        (1709294400, datetime(2024, 3, 1, 12, tzinfo=UTC)),
        (1709294400000, datetime(2024, 3, 1, 12, tzinfo=UTC)),
        ("1709294400", datetime(2024, 3, 1, 12, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (True, None),
        ({"$date": 1}, None),
    ],
)
async def test_epoch_seconds_and_milliseconds_parse_and_garbage_dates_become_none(
    router: respx.MockRouter, connector: SocrataConnector, stamp: object, expected: object
) -> None:
    record = result(0)
    record["resource"].update(updatedAt=stamp, data_updated_at=None, metadata_updated_at=None)
    mock_catalog(router, answer([record]))
    [ds] = (await connector.search(SearchQuery())).datasets
    assert ds.modified == expected


async def test_asset_without_classification_or_attribution_gets_defaults_and_own_department(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    mock_catalog(router)
    sparse, naive = (await connector.search(SearchQuery())).datasets[2:]
    assert sparse.description is None
    assert sparse.department == OWN_DEPARTMENT
    assert (sparse.share_type, sparse.open_type, sparse.sensitivity) == (
        DEFAULTS.share_type,
        DEFAULTS.open_type,
        DEFAULTS.sensitivity,
    )
    assert sparse.update_frequency is UpdateFrequency.UNKNOWN
    assert sparse.themes == () and sparse.keywords == () and sparse.fields == ()
    assert sparse.identifier is None and sparse.contact_point is None
    # No classification, metadata or permalink at all: the pretty link is the landing page.
    assert naive.themes == () and naive.license is None
    assert naive.department == Department(
        id="Ecology and Environment Bureau", name="Ecology and Environment Bureau"
    )
    assert naive.landing_page == f"{SITE}/Environment/Air-Quality-Monitoring-Stations/aq4s-m7vb"
    assert naive.distributions[0].access_url == f"{SITE}/resource/aq4s-m7vb.json"
    # columns_* arrays of different lengths: every column named somewhere is kept
    assert [f.name for f in naive.fields] == ["station", "District", "Opened"]
    assert naive.fields[0] == DataField("station", "Text", "Station")


async def test_assets_that_state_no_class_never_default_to_most_open(
    router: respx.MockRouter, make_connector: Callable[..., SocrataConnector]
) -> None:
    mock_catalog(router, answer([result(2)]))
    [ds] = (await make_connector(defaults=SourceDefaults()).search(SearchQuery())).datasets
    assert ds.open_type is OpenType.NOT_OPEN
    assert ds.share_type is ShareType.NOT_SHARED
    assert ds.sensitivity is Sensitivity.L4


async def test_links_follow_the_permalink_site_else_the_asset_domain(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    federated = result(2)
    federated["permalink"] = "http://data.other.example.org:8080/d/uvpi-gqnh"
    by_domain = result(2)
    del by_domain["permalink"], by_domain["link"]
    mock_catalog(router, answer([federated, by_domain]))
    first, second = (await connector.search(SearchQuery())).datasets
    assert first.distributions[0].access_url == (
        "http://data.other.example.org:8080/resource/uvpi-gqnh.json"
    )
    assert second.landing_page == f"{SITE}/d/uvpi-gqnh"
    assert second.distributions[1].download_url == (
        f"{SITE}/api/views/uvpi-gqnh/rows.csv?accessType=DOWNLOAD"
    )


async def test_a_file_asset_is_one_download_of_its_blob(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    record = result(2)
    record["resource"].update(type="file", blob_mime_type="application/pdf")
    mock_catalog(router, answer([record]))
    [ds] = (await connector.search(SearchQuery())).datasets
    download = f"{SITE}/download/uvpi-gqnh/application%2Fpdf"
    assert ds.distributions == (
        Distribution(
            title="Street Tree Census",
            format="PDF",
            media_type="application/pdf",
            access_url=download,
            download_url=download,
        ),
    )


async def test_configured_metadata_keys_replace_the_defaults(
    router: respx.MockRouter, make_connector: Callable[..., SocrataConnector]
) -> None:
    record = result(0)
    record["classification"]["domain_metadata"] = [
        {"key": "Data-Sharing_Share-Type", "value": "不予共享"},
        {"key": "Catalog_Share-Type", "value": "unconditional"},
        {"key": "Data-Sharing_Resource-Code", "value": "  "},
        {"key": "Data-Sharing_Code", "value": "JT-7"},
    ]
    mock_catalog(router, answer([record]))
    keys = SocrataMetadataKeys(
        share_type=("Data-Sharing_Share-Type",),
        identifier=("Data-Sharing_Resource-Code", "Data-Sharing_Code"),
    )
    connector = make_connector(options=SocrataOptions(metadata_keys=keys))
    [ds] = (await connector.search(SearchQuery())).datasets
    assert ds.share_type is ShareType.NOT_SHARED
    assert ds.identifier == "JT-7"  # a blank value does not count
    assert ds.department == Department(id="Transport Bureau", name="Transport Bureau")
    assert ds.themes == ("Transportation",)  # no category mapping configured


async def test_garbage_results_are_skipped_with_a_warning_while_the_rest_map(
    router: respx.MockRouter, connector: SocrataConnector, caplog: pytest.LogCaptureFixture
) -> None:
    no_id = result(0)
    del no_id["resource"]["id"]
    hostile = result(1)
    hostile["resource"]["name"] = {"zh": "公交"}
    hostile["classification"] = ["not", "an", "object"]
    hostile["resource"]["columns_name"] = "route_id"
    mock_catalog(router, answer(["a string", no_id, {"resource": None}, hostile, result(2)]))
    with caplog.at_level(logging.WARNING, logger="connectors.socrata"):
        page = await connector.search(SearchQuery())
    assert [ds.local_id for ds in page.datasets] == ["k3mz-q8tn", "uvpi-gqnh"]
    assert page.datasets[0].title == "k3mz-q8tn"  # a non-text name falls back to the id
    assert page.consumed == 5 and page.positions == (3, 4)
    assert sum("skipped catalog result" in r.getMessage() for r in caplog.records) == 3


async def test_assets_flagged_not_public_are_skipped_in_search_and_get(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    private = result(0)
    private["metadata"].update(visible_to_anonymous=False)
    mock_catalog(router, answer([private, result(2)]))
    page = await connector.search(SearchQuery())
    assert [ds.local_id for ds in page.datasets] == ["uvpi-gqnh"]
    assert page.positions == (1,)
    mock_catalog(router, answer([private]))
    assert await connector.get("bw6k-7r9e") is None


# -- requests: scope, filters, sorts, paging --------------------------------------------


async def test_every_request_is_scoped_to_the_domains_datasets_through_its_eyes(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    route = mock_catalog(router, answer([]))
    await connector.search(SearchQuery())
    params = sent(route)
    assert params["domains"] == params["search_context"] == DOMAIN
    assert params["only"] == "dataset"
    assert "q" not in params and "order" not in params


async def test_the_domain_option_searches_another_domain_through_a_regional_api(
    router: respx.MockRouter, make_connector: Callable[..., SocrataConnector]
) -> None:
    route = router.get("https://api.us.socrata.com/api/catalog/v1").mock(
        return_value=httpx.Response(200, json=answer([]))
    )
    connector = make_connector(
        url="https://api.us.socrata.com", options=SocrataOptions(domain="data.ct.gov")
    )
    await connector.search(SearchQuery())
    assert sent(route)["domains"] == "data.ct.gov"


async def test_free_text_is_sent_as_q_with_spaces_collapsed(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    route = mock_catalog(router, answer([]))
    await connector.search(SearchQuery(text="  bus   stops\n"))
    assert sent(route)["q"] == "bus stops"


async def test_themes_keywords_and_departments_are_pushed_down_as_repeated_parameters(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    record = result(0)
    route = mock_catalog(router, answer([record]))
    wanted = DatasetFilter(
        themes=("transport", "Parks"),
        keywords=("bus", "BUS", "transit"),
        departments=("transport",),
    )
    page = await connector.search(SearchQuery(filter=wanted))
    params = sent(route)
    # configured categories of each theme, and the theme itself for unmapped categories
    assert params.get_list("categories") == ["Transportation", "交通", "Parks", "transport"]
    assert params.get_list("tags") == ["bus", "BUS", "transit"]
    assert params.get_list("attribution") == ["Transport Bureau", "交通运输局", "transport"]
    assert page.applied == {FilterName.THEMES, FilterName.KEYWORDS, FilterName.DEPARTMENTS}


async def test_departments_are_not_pushed_when_the_sources_own_department_is_wanted(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    route = mock_catalog(router, answer([result(2)]))
    page = await connector.search(
        SearchQuery(filter=DatasetFilter(departments=("transport", OWN_DEPARTMENT.id)))
    )
    assert "attribution" not in sent(route)
    assert FilterName.DEPARTMENTS not in page.applied
    assert page.datasets[0].department == OWN_DEPARTMENT


async def test_filters_the_api_cannot_express_are_left_to_the_gateway(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    route = mock_catalog(router, answer([]))
    wanted = DatasetFilter(
        formats=("CSV",),
        share_types=(ShareType.UNCONDITIONAL,),
        open_types=(OpenType.OPEN,),
        max_sensitivity=Sensitivity.L1,
        modified_after=datetime(2024, 1, 1, tzinfo=UTC),
        modified_before=datetime(2025, 1, 1, tzinfo=UTC),
    )
    page = await connector.search(SearchQuery(filter=wanted))
    assert set(sent(route)) == {"domains", "search_context", "only", "limit", "offset"}
    assert page.applied == frozenset()


async def test_a_record_contradicting_a_pushed_filter_withdraws_the_claim(
    router: respx.MockRouter, connector: SocrataConnector, caplog: pytest.LogCaptureFixture
) -> None:
    # A site whose category match ignores case returns "TRANSPORTATION" for "Transportation".
    shouting = result(0)
    shouting["classification"]["domain_category"] = "TRANSPORTATION"
    mock_catalog(router, answer([result(0), shouting]))
    with caplog.at_level(logging.WARNING, logger="connectors.socrata"):
        page = await connector.search(
            SearchQuery(filter=DatasetFilter(themes=("transport",), keywords=("bus",)))
        )
    assert page.applied == {FilterName.KEYWORDS}
    assert any("themes pushdown let through" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        (Sort.MODIFIED_DESC, "updatedAt DESC"),
        (Sort.MODIFIED_ASC, "updatedAt ASC"),
        (Sort.TITLE_ASC, "name ASC"),
        (Sort.RELEVANCE, None),
    ],
)
async def test_sorts_map_to_the_order_parameter(
    router: respx.MockRouter, connector: SocrataConnector, sort: Sort, order: str | None
) -> None:
    route = mock_catalog(router, answer([]))
    await connector.search(SearchQuery(sort=sort))
    assert sent(route).get("order") == order


async def test_offset_and_limit_are_sent_as_given(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    route = mock_catalog(router, answer([]))
    await connector.search(SearchQuery(offset=40, limit=20))
    assert (sent(route)["offset"], sent(route)["limit"]) == ("40", "20")


async def test_limit_is_capped_by_the_option_and_by_the_10000_row_window(
    router: respx.MockRouter, make_connector: Callable[..., SocrataConnector]
) -> None:
    route = mock_catalog(router, answer([]))
    await make_connector().search(SearchQuery(limit=50_000))
    assert sent(route)["limit"] == str(PAGING_WINDOW)
    await make_connector(options=SocrataOptions(page_size_max=500)).search(SearchQuery(limit=900))
    assert sent(route)["limit"] == "500"
    await make_connector().search(SearchQuery(offset=9_990, limit=100))
    assert (sent(route)["offset"], sent(route)["limit"]) == ("9990", "10")


async def test_paging_past_the_window_is_refused_without_a_request(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    route = mock_catalog(router, answer([]))
    with pytest.raises(NotSupported, match="first 10000 results") as caught:
        await connector.search(SearchQuery(offset=PAGING_WINDOW, limit=20))
    assert caught.value.source_id == "hexi"
    assert not route.called


async def test_pages_report_the_total_and_how_many_rows_they_read(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    mock_catalog(router, answer([result(0), result(1)], total=1234))
    page = await connector.search(SearchQuery(limit=2))
    assert page.total == 1234 and page.upstream_rows() == 2 and page.positions is None


def test_capabilities_declare_what_the_discovery_api_can_do() -> None:
    caps = SocrataConnector.capabilities
    assert caps.search and caps.get_by_id
    assert caps.filters == {FilterName.THEMES, FilterName.KEYWORDS, FilterName.DEPARTMENTS}
    assert caps.sorts == set(Sort)
    assert caps.max_page_size == PAGING_WINDOW
    assert caps.facets == frozenset()


async def test_visibility_is_applied_only_when_an_alternative_admits_everyone(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    route = mock_catalog(router, answer([]))
    public = DatasetFilter(open_types=(OpenType.OPEN,), max_sensitivity=Sensitivity.L1)
    own = DatasetFilter(departments=("transport",))
    assert (await connector.search(SearchQuery(any_of=(public, own)))).any_of_applied is False
    assert set(sent(route)) == {"domains", "search_context", "only", "limit", "offset"}
    assert (await connector.search(SearchQuery(any_of=(public, DatasetFilter())))).any_of_applied
    assert (await connector.search(SearchQuery())).any_of_applied is True


# -- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("catalog_400_paging.json", "offset + limit must be less than or equal to 10000"),
        ("catalog_400_order.json", "Invalid order: 'popularity'"),
    ],
)
async def test_a_400_is_query_rejected_and_names_socratas_message(
    router: respx.MockRouter, connector: SocrataConnector, fixture: str, message: str
) -> None:
    mock_catalog(router, load(fixture), status=400)
    with pytest.raises(QueryRejected, match="Socrata rejected the query") as caught:
        await connector.search(SearchQuery())
    assert message in caught.value.message
    assert caught.value.source_id == "hexi"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"error": "Search timed out"}),  # the platform's trouble
        httpx.Response(403, json={"error": True, "message": "Invalid app token"}),
        httpx.Response(404, json={"error": "No such domain"}),
        httpx.Response(500, text="oops"),
    ],
    ids=["error-with-200", "403", "404", "500"],
)
async def test_answers_that_are_not_a_refused_query_are_never_query_rejected(
    router: respx.MockRouter, connector: SocrataConnector, response: httpx.Response
) -> None:
    router.get(CATALOG).mock(return_value=response)
    with pytest.raises(ConnectorError) as caught:
        await connector.search(SearchQuery())
    assert not isinstance(caught.value, QueryRejected)


async def test_a_400_to_the_department_listing_is_the_sources_failure(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    router.get(f"{CATALOG}/domains/{DOMAIN}/facets").mock(
        return_value=httpx.Response(400, json=load("catalog_400_order.json"))
    )
    with pytest.raises(FatalError) as caught:
        await connector.departments()
    assert not isinstance(caught.value, QueryRejected)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"error": True, "message": "Invalid app token", "code": "bad_token"}, 403, "app token"),
        ({"error": {"message": "limit must be <= 100"}}, 400, "limit must be"),
        ({"error": "No such domain"}, 404, "no Discovery API at"),
        ({"error": "Search timed out"}, 200, "Search timed out"),
        ({"error": None}, 400, "no error detail"),
    ],
    ids=["soda-style-403", "nested-message", "404", "error-with-200", "no-detail"],
)
async def test_error_bodies_of_every_socrata_shape_are_fatal_with_their_message(
    router: respx.MockRouter,
    connector: SocrataConnector,
    body: dict[str, Any],
    status: int,
    message: str,
) -> None:
    mock_catalog(router, body, status=status)
    with pytest.raises(FatalError) as caught:
        await connector.search(SearchQuery())
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"resultSetSize": 3}, "'results' is a null", id="no-results"),
        pytest.param(
            {"results": {"0": {}}, "resultSetSize": 1}, "'results' is a dict", id="results-dict"
        ),
        pytest.param({"results": []}, "'resultSetSize' is None", id="no-size"),
        pytest.param(
            {"results": [], "resultSetSize": "3"}, "'resultSetSize' is '3'", id="size-string"
        ),
        pytest.param({"results": [], "resultSetSize": -1}, "'resultSetSize' is -1", id="negative"),
        pytest.param([1, 2], "JSON list", id="not-an-object"),
    ],
)
async def test_wrong_envelope_is_fatal_and_says_what_was_wrong(
    router: respx.MockRouter, connector: SocrataConnector, body: Any, message: str
) -> None:
    mock_catalog(router, body)
    with pytest.raises(FatalError) as caught:
        await connector.search(SearchQuery())
    assert message in caught.value.message


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_and_rate_limits_are_retriable(
    router: respx.MockRouter, connector: SocrataConnector, status: int
) -> None:
    router.get(CATALOG).mock(return_value=httpx.Response(status, text="<html>oops</html>"))
    with pytest.raises(RetriableError, match=str(status)):
        await connector.search(SearchQuery())


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(httpx.Response(200, text='{"results": [{"resource": {'), id="invalid-json"),
        pytest.param(
            httpx.Response(
                200,
                text="<!DOCTYPE html><html><body>Sign in</body></html>",
                headers={"content-type": "text/html; charset=utf-8"},
            ),
            id="html-body",
        ),
        pytest.param(httpx.Response(404, text="<html>Not Found</html>"), id="html-404"),
    ],
)
async def test_bodies_that_are_not_json_are_fatal(
    router: respx.MockRouter, connector: SocrataConnector, response: httpx.Response
) -> None:
    router.get(CATALOG).mock(return_value=response)
    with pytest.raises(FatalError):
        await connector.search(SearchQuery())


async def test_oversized_body_is_fatal(
    router: respx.MockRouter, make_connector: Callable[..., SocrataConnector]
) -> None:
    mock_catalog(router)
    with pytest.raises(FatalError, match="byte cap"):
        await make_connector(max_response_bytes=1024).search(SearchQuery())


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.ConnectError])
async def test_timeouts_and_refused_connections_make_the_source_unavailable(
    router: respx.MockRouter, connector: SocrataConnector, error: type[Exception]
) -> None:
    router.get(CATALOG).mock(side_effect=error)
    with pytest.raises(SourceUnavailable):
        await connector.search(SearchQuery())


async def test_httpx_errors_outside_get_jsons_mapping_become_fatal(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    router.get(CATALOG).mock(side_effect=httpx.DecodingError)
    with pytest.raises(FatalError, match="DecodingError"):
        await connector.search(SearchQuery())


# -- the app token ----------------------------------------------------------------------


async def test_app_token_is_sent_as_x_app_token_only_when_configured(
    router: respx.MockRouter, make_connector: Callable[..., SocrataConnector]
) -> None:
    route = mock_catalog(router, answer([]))
    await make_connector().search(SearchQuery())
    assert route.calls.last.request.headers["x-app-token"] == APP_TOKEN
    await make_connector(options=SocrataOptions()).search(SearchQuery())
    assert "x-app-token" not in route.calls.last.request.headers


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500),
        httpx.Response(400, json={"error": "bad"}),
        httpx.Response(200, text="not json"),
        httpx.ReadTimeout,
    ],
    ids=["500", "400", "invalid-json", "timeout"],
)
async def test_app_token_never_appears_in_errors(
    router: respx.MockRouter, connector: SocrataConnector, response: Any
) -> None:
    if isinstance(response, httpx.Response):
        router.get(CATALOG).mock(return_value=response)
    else:
        router.get(CATALOG).mock(side_effect=response)
    with pytest.raises(ConnectorError) as caught:
        await connector.search(SearchQuery())
    error = caught.value
    assert error.request is not None
    assert APP_TOKEN not in str(error.request.headers) and APP_TOKEN not in str(error)
    assert APP_TOKEN not in repr(connector) and APP_TOKEN not in repr(connector.options)


# -- get, departments, check ------------------------------------------------------------


async def test_get_asks_for_the_id_within_the_domains_datasets_and_maps_it(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    route = mock_catalog(router, answer([result(1)]))
    ds = await connector.get("k3mz-q8tn")
    assert ds is not None and ds.title == "公交客流（2024年）"
    params = sent(route)
    assert params["ids"] == "k3mz-q8tn"
    assert params["domains"] == DOMAIN and params["only"] == "dataset"


def _not_public() -> dict[str, Any]:
    record = result(1)
    record["metadata"]["is_public"] = False
    return record


@pytest.mark.parametrize(
    "results",
    [
        pytest.param([], id="missing"),
        pytest.param([result(0)], id="another-asset"),
        pytest.param([{"resource": {"name": "公交客流"}}], id="no-resource-id"),
        pytest.param([_not_public()], id="not-public"),
    ],
)
async def test_get_answers_none_for_anything_search_would_not_show(
    router: respx.MockRouter, connector: SocrataConnector, results: list[Any]
) -> None:
    mock_catalog(router, answer(results))
    assert await connector.get("k3mz-q8tn") is None


async def test_get_of_a_blank_id_asks_nothing(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    route = mock_catalog(router, answer([]))
    assert await connector.get("  ") is None
    assert not route.called


async def test_a_record_whose_mapping_crashes_is_skipped_and_get_answers_none(
    router: respx.MockRouter,
    connector: SocrataConnector,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(value: object) -> str | None:
        if value == "全市公交线路日客流量。\n\n数据来源：交通运输局":
            raise RecursionError("hostile description")
        return None

    monkeypatch.setattr("connectors._socrata_records.plain_text", explode)
    mock_catalog(router, answer([result(1), result(2)]))
    with caplog.at_level(logging.WARNING, logger="connectors.socrata"):
        page = await connector.search(SearchQuery())
    assert [ds.local_id for ds in page.datasets] == ["uvpi-gqnh"]
    assert page.positions == (1,)
    assert any("RecursionError" in r.getMessage() for r in caplog.records)
    mock_catalog(router, answer([result(1)]))
    assert await connector.get("k3mz-q8tn") is None


async def test_get_errors_are_raised_like_search_errors(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    mock_catalog(router, load("catalog_400_paging.json"), status=400)
    with pytest.raises(QueryRejected, match="Socrata rejected the query"):
        await connector.get("k3mz-q8tn")


async def test_departments_merge_configured_facet_and_own_departments(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    route = router.get(f"{CATALOG}/domains/{DOMAIN}/facets").mock(
        return_value=httpx.Response(200, json=load("domain_facets.json"))
    )
    departments = await connector.departments()
    assert departments == [
        Department("transport", "交通运输局"),
        Department("Ecology and Environment Bureau", "Ecology and Environment Bureau"),
        OWN_DEPARTMENT,
    ]
    assert sent(route)["only"] == "dataset"


async def test_departments_accept_a_bare_list_of_facets(
    router: respx.MockRouter, make_connector: Callable[..., SocrataConnector]
) -> None:
    facets = load("domain_facets.json")["results"]
    router.get(f"{CATALOG}/domains/{DOMAIN}/facets").mock(
        return_value=httpx.Response(200, json=facets)
    )
    connector = make_connector(options=SocrataOptions(), department=None)
    assert [d.id for d in await connector.departments()] == [
        "Transport Bureau",
        "交通运输局",
        "Ecology and Environment Bureau",
    ]


async def test_check_is_up_with_latency_when_the_catalog_answers(
    router: respx.MockRouter, connector: SocrataConnector
) -> None:
    route = mock_catalog(router, answer([result(0)], total=57))
    health = await connector.check()
    assert health.status is HealthStatus.UP and health.latency_ms is not None
    assert sent(route)["limit"] == "1"


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(503, text="down"), "HTTP 503"),
        (httpx.Response(400, json={"error": "Unknown domain"}), "Unknown domain"),
        (httpx.ConnectError("refused"), "connection failed"),
    ],
)
async def test_check_reports_down_with_a_message_and_never_raises(
    router: respx.MockRouter, connector: SocrataConnector, response: Any, message: str
) -> None:
    if isinstance(response, httpx.Response):
        router.get(CATALOG).mock(return_value=response)
    else:
        router.get(CATALOG).mock(side_effect=response)
    health = await connector.check()
    assert health.status is HealthStatus.DOWN
    assert health.message is not None and message in health.message


# -- options ----------------------------------------------------------------------------


def test_options_reject_unknown_keys_and_bad_values_and_hide_the_app_token() -> None:
    with pytest.raises(ValidationError):
        SocrataOptions.model_validate({"app_token": "t", "apptoken": "typo"})
    with pytest.raises(ValidationError):
        SocrataOptions.model_validate({"page_size_max": PAGING_WINDOW + 1})
    with pytest.raises(ValidationError):
        SocrataOptions.model_validate({"departments": {"Transport Bureau": {"id": "Not A Slug"}}})
    with pytest.raises(ValidationError):
        SocrataOptions.model_validate({"metadata_keys": {"share_typ": ["x"]}})
    options = SocrataOptions.model_validate({"app_token": APP_TOKEN})
    assert APP_TOKEN not in repr(options) and APP_TOKEN not in str(options)


def test_connector_built_without_options_uses_the_defaults_and_the_url_host(
    client: httpx.AsyncClient,
) -> None:
    connector = SocrataConnector(SourceSettings(id="hexi", url=SITE), client)
    assert connector.options == SocrataOptions()
    assert connector.domain == DOMAIN
    assert SocrataConnector.name == "socrata"
    assert SocrataConnector.options_model is SocrataOptions
