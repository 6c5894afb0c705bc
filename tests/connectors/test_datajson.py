"""DataJsonConnector and the whole-catalogue base: mapping, conditional GET, refreshes."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError

from connectors._datajson_values import parse_date, parse_frequency, parse_temporal
from connectors._formats import format_name
from connectors.datajson import (
    DataJsonConnector,
    DataJsonKeys,
    DataJsonMapper,
    DataJsonOptions,
    catalogue_url,
)
from connectors.sdk import (
    DatasetFilter,
    FatalError,
    FilterName,
    HealthStatus,
    RetriableError,
    SearchQuery,
    SourceDefaults,
    SourceSettings,
    SourceUnavailable,
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

FIXTURES = Path(__file__).parent / "fixtures" / "datajson"
URL = "https://data.hexi.example.gov.cn/data.json"
DEFAULTS = SourceDefaults(
    share_type=ShareType.CONDITIONAL, open_type=OpenType.NOT_OPEN, sensitivity=Sensitivity.L3
)
PLATFORM = Department(id="hexi-open", name="河西市公共数据开放平台")


def catalog() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "catalog.json").read_text(encoding="utf-8"))
    return data


def make_settings(**changes: Any) -> SourceSettings:
    values: dict[str, Any] = {
        "id": "hexi-json",
        "url": URL,
        "defaults": DEFAULTS,
        "department": PLATFORM,
        "options": DataJsonOptions(department_ids={"交通运输局": "transport"}),
    }
    values.update(changes)
    return SourceSettings(**values)


def mapped(document: Any = None, **changes: Any) -> dict[str, Dataset]:
    settings = make_settings(**changes)
    assert isinstance(settings.options, DataJsonOptions)
    mapper = DataJsonMapper(settings, settings.options)
    body = json.dumps(catalog() if document is None else document).encode()
    return {d.local_id: d for d in mapper.parse(body)}


# -- mapping ----------------------------------------------------------------------------


def test_a_full_record_maps_every_field() -> None:
    assert mapped()["330100/JTJ-00001"] == Dataset(
        source_id="hexi-json",
        local_id="330100/JTJ-00001",
        title="河西市公交线路",
        identifier="330100/JTJ-00001",
        description="全市公交线路及站点信息 & 时刻表。\n\nEnglish: Bus routes of Hexi.",
        keywords=("公交", "线路", "bus"),
        themes=("transport", "urban-planning"),
        department=Department(id="transport", name="交通运输局"),
        issued=datetime(2024, 1, 15, tzinfo=UTC),
        modified=datetime(2026, 3, 1, 12, 0, 0, 654321, tzinfo=UTC),
        update_frequency=UpdateFrequency.MONTHLY,
        share_type=ShareType.UNCONDITIONAL,
        share_condition="仅用于公共交通规划",
        open_type=OpenType.CONDITIONAL,
        sensitivity=Sensitivity.L2,
        license="https://creativecommons.org/licenses/by/4.0/",
        landing_page="https://data.hexi.example.gov.cn/dataset/bus-routes",
        contact_point=ContactPoint(
            name="王芳", email="wang.fang@jt.example.gov.cn", phone="0571-12345678"
        ),
        distributions=(
            Distribution(
                title="线路表",
                format="CSV",
                media_type="text/csv",
                access_url="https://data.hexi.example.gov.cn/files/bus-routes.csv",
                download_url="https://data.hexi.example.gov.cn/files/bus-routes.csv",
                byte_size=48213,
            ),
            Distribution(
                title="线路查询接口",
                format="API",
                access_url="https://api.hexi.example.gov.cn/bus/routes",
            ),
            Distribution(
                format="GEOJSON",
                media_type="application/geo+json",
                access_url="https://data.hexi.example.gov.cn/files/stops.geojson",
                download_url="https://data.hexi.example.gov.cn/files/stops.geojson",
            ),
        ),
        fields=(
            DataField(name="route_id", type="string", description="线路编号"),
            DataField(name="stops", type="integer"),
        ),
        spatial="河西市",
        temporal=Temporal(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 12, 31, tzinfo=UTC)),
    )


def test_nulls_strings_for_lists_and_media_types_for_formats_are_read() -> None:
    air = mapped()["https://data.agency.example.gov/id/air-quality"]
    assert air.description is None
    assert air.keywords == ("air", "quality", "空气质量")
    assert air.themes == ()
    assert air.modified is None  # "R/P1D" says how often, not when
    assert air.update_frequency is UpdateFrequency.HOURLY
    assert air.contact_point == ContactPoint(email="air@agency.example.gov")
    assert air.department == Department(id="environment-office", name="Environment Office")
    assert air.license is None
    assert air.temporal == Temporal(
        datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)
    )
    [xlsx] = air.distributions
    assert xlsx.format == "XLSX"
    assert xlsx.media_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_access_level_and_unstated_classes() -> None:
    records = mapped()
    air, crime = records["https://data.agency.example.gov/id/air-quality"], records["crime-2020"]
    assert air.open_type is OpenType.OPEN
    assert crime.open_type is OpenType.NOT_OPEN
    bare = records["no-classes"]
    # Nothing stated: the source's defaults, never "most open".
    assert (bare.share_type, bare.open_type, bare.sensitivity) == (
        ShareType.CONDITIONAL,
        OpenType.NOT_OPEN,
        Sensitivity.L3,
    )


def test_entities_rfc_2822_and_chinese_dates_and_v1_0_shapes() -> None:
    records = mapped()
    crime = records["crime-2020"]
    assert crime.title == "Crime & Safety Incidents"
    assert crime.issued == datetime(2020, 3, 2, 10, tzinfo=UTC) + timedelta(hours=-8)
    assert crime.modified == datetime(2021, 6, 3, tzinfo=UTC)
    assert crime.update_frequency is UpdateFrequency.QUARTERLY
    assert crime.distributions == ()
    assert crime.department == PLATFORM  # no publisher: the configured department
    bare = records["no-classes"]
    assert bare.modified == datetime(2024, 5, 6, 8, tzinfo=UTC)
    assert bare.update_frequency is UpdateFrequency.IRREG
    assert bare.department == Department(id="parking-authority", name="Parking Authority")
    assert bare.contact_point == ContactPoint(
        name="Parking Help Desk", email="parking@agency.example.gov"
    )
    assert bare.distributions == (
        Distribution(title="Lots page", access_url="https://parking.example.gov/lots"),
    )


def test_records_without_identifier_non_objects_and_repeats_are_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="connectors.datajson"):
        records = mapped()
    assert list(records) == [
        "330100/JTJ-00001",
        "https://data.agency.example.gov/id/air-quality",
        "crime-2020",
        "no-classes",
    ]
    assert records["330100/JTJ-00001"].title == "河西市公交线路"  # the first one wins
    messages = " | ".join(r.getMessage() for r in caplog.records)
    assert "#3" in messages and "no identifier" in messages
    assert "#4" in messages and "not an object" in messages
    assert "#5" in messages and "repeated" in messages


def test_extension_key_names_are_configurable() -> None:
    document = {
        "dataset": [
            {
                "identifier": "a",
                "title": "A",
                "accessLevel": "public",
                "kaifang": "有条件开放",
                "gongxiang": "不予共享",
                "jibie": "四级",
                "ziyuandaima": "330100/X-1",
            }
        ]
    }
    options = DataJsonOptions(
        keys=DataJsonKeys(
            open_type=("kaifang", "accessLevel"),
            share_type=("gongxiang",),
            sensitivity=("jibie",),
            identifier=("ziyuandaima",),
        )
    )
    [record] = mapped(document, options=options).values()
    assert record.open_type is OpenType.CONDITIONAL
    assert record.share_type is ShareType.NOT_SHARED
    assert record.sensitivity is Sensitivity.L4
    assert record.identifier == "330100/X-1"


def test_a_v1_0_bare_array_is_read() -> None:
    records = mapped([{"identifier": "old", "title": "Old", "accessLevel": "public"}])
    assert records["old"].open_type is OpenType.OPEN


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"conformsTo": "x", "datasets": []}, "'dataset' is null"),
        ({"dataset": {"identifier": "a"}}, "'dataset' is a dict"),
        ("a string", "holds a str, not a catalog object"),
    ],
)
def test_a_wrong_envelope_is_fatal_and_says_what_is_wrong(document: Any, reason: str) -> None:
    with pytest.raises(FatalError, match=reason):
        mapped(document)


def test_invalid_json_is_fatal() -> None:
    mapper = DataJsonMapper(make_settings())
    with pytest.raises(FatalError, match="invalid JSON"):
        mapper.parse(b'{"dataset": [{"identifier": "a"')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2011-11-19T12:00:00Z", datetime(2011, 11, 19, 12, tzinfo=UTC)),
        ("2011-11-19T12:00:00.123+08:00", datetime(2011, 11, 19, 4, 0, 0, 123000, tzinfo=UTC)),
        ("2011-11-19 12:00:00", datetime(2011, 11, 19, 12, tzinfo=UTC)),
        ("2011-11-19", datetime(2011, 11, 19, tzinfo=UTC)),
        ("20111119", datetime(2011, 11, 19, tzinfo=UTC)),
        ("2011-11", datetime(2011, 11, 1, tzinfo=UTC)),
        ("2011", datetime(2011, 1, 1, tzinfo=UTC)),
        ("2011/11/19", datetime(2011, 11, 19, tzinfo=UTC)),
        ("2011年11月19日", datetime(2011, 11, 19, tzinfo=UTC)),
        ("Sat, 19 Nov 2011 12:00:00 GMT", datetime(2011, 11, 19, 12, tzinfo=UTC)),
        ("R/2011-11-19/P1D", datetime(2011, 11, 19, tzinfo=UTC)),
        ("2011-11-19/2012-01-01", datetime(2011, 11, 19, tzinfo=UTC)),
        ("R/P1D", None),
        ("2011-13-45", None),
        ("soon", None),
        ("", None),
        (20111119, None),
        (None, None),
    ],
)
def test_dates_in_the_shapes_real_files_use(text: object, expected: datetime | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("R/P1M", UpdateFrequency.MONTHLY),
        ("R/PT1H", UpdateFrequency.HOURLY),
        ("R/PT1S", UpdateFrequency.CONT),
        ("R/PT10M", UpdateFrequency.CONT),
        ("R/P1D", UpdateFrequency.DAILY),
        ("R/P1W", UpdateFrequency.WEEKLY),
        ("R/P2W", UpdateFrequency.BIWEEKLY),
        ("R/P2M", UpdateFrequency.BIMONTHLY),
        ("R/P3M", UpdateFrequency.QUARTERLY),
        ("R/P6M", UpdateFrequency.ANNUAL_2),
        ("R/P12M", UpdateFrequency.ANNUAL),
        ("R/P1Y", UpdateFrequency.ANNUAL),
        ("R/P2Y", UpdateFrequency.BIENNIAL),
        ("R/P10Y", UpdateFrequency.DECENNIAL),
        ("irregular", UpdateFrequency.IRREG),
        ("每月", UpdateFrequency.MONTHLY),
        ("annually", UpdateFrequency.ANNUAL),
        ("R/PT", UpdateFrequency.UNKNOWN),
        ("whenever", UpdateFrequency.UNKNOWN),
        (None, UpdateFrequency.UNKNOWN),
    ],
)
def test_accrual_periodicity(value: object, expected: UpdateFrequency) -> None:
    assert parse_frequency(value) is expected


def day(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020-01-01/2020-12-31", Temporal(day(2020, 1, 1), day(2020, 12, 31))),
        ("2020-01-31/P1M", Temporal(day(2020, 1, 31), day(2020, 2, 29))),
        ("P1D/2020-03-01", Temporal(day(2020, 2, 29), day(2020, 3, 1))),
        ("R/2020-01-01/P1Y", Temporal(day(2020, 1, 1), day(2021, 1, 1))),
        ("2020-01-01/..", Temporal(day(2020, 1, 1), None)),
        ("2020-01-01", None),
        ("a/b", None),
        (None, None),
    ],
)
def test_temporal_intervals(value: object, expected: Temporal | None) -> None:
    assert parse_temporal(value) == expected


@pytest.mark.parametrize(
    ("fmt", "media_type", "url", "expected"),
    [
        ("csv", None, None, "CSV"),
        (".zip", None, None, "ZIP"),
        (None, "text/csv; charset=utf-8", None, "CSV"),
        (None, None, "https://x.example/files/roads.GeoJSON?v=2", "GEOJSON"),
        (None, None, "https://x.example/api/roads", None),
        (None, "application/x-unknown", "https://x.example/a.bin", None),
    ],
)
def test_format_from_statement_media_type_or_extension(
    fmt: str | None, media_type: str | None, url: str | None, expected: str | None
) -> None:
    assert format_name(fmt, media_type, url) == expected


def test_options_refuse_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        DataJsonOptions.model_validate({"refresh_second": 5})


def test_the_catalogue_url_gets_data_json_only_when_it_names_no_document() -> None:
    assert catalogue_url("https://agency.example.gov") == "https://agency.example.gov/data.json"
    assert catalogue_url("https://agency.example.gov/") == "https://agency.example.gov/data.json"
    assert catalogue_url(URL) == URL
    assert catalogue_url("https://x.example/export?format=pod") == (
        "https://x.example/export?format=pod"
    )


# -- the connector over HTTP ------------------------------------------------------------


class Upstream:
    """A data.json server: ETag / Last-Modified, 304s, and a gate to hold answers."""

    def __init__(self, document: Any) -> None:
        self.body = json.dumps(document).encode()
        self.etag = '"v1"'
        self.last_modified = "Sun, 01 Mar 2026 12:00:00 GMT"
        self.status = 200
        self.requests: list[httpx.Request] = []
        self.gate: asyncio.Event | None = None
        self.honour_conditionals = True

    def publish(self, document: Any, etag: str) -> None:
        self.body, self.etag = json.dumps(document).encode(), etag
        self.last_modified = "Mon, 02 Mar 2026 12:00:00 GMT"

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        headers = {"ETag": self.etag, "Last-Modified": self.last_modified}
        if self.status != 200:
            return httpx.Response(self.status, text="<html>down</html>")
        if self.honour_conditionals and request.headers.get("if-none-match") == self.etag:
            return httpx.Response(304, headers=headers)
        return httpx.Response(200, content=self.body, headers=headers)


@pytest.fixture
def upstream() -> Upstream:
    return Upstream(catalog())


@pytest.fixture
async def client(upstream: Upstream) -> AsyncIterator[httpx.AsyncClient]:
    router = respx.MockRouter(assert_all_mocked=True, assert_all_called=False)
    router.get(URL).mock(side_effect=upstream)
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler)) as c:
        yield c


@pytest.fixture
def make_connector(client: httpx.AsyncClient) -> Callable[..., DataJsonConnector]:
    made: list[DataJsonConnector] = []

    def make(**changes: Any) -> DataJsonConnector:
        connector = DataJsonConnector(make_settings(**changes), client)
        made.append(connector)
        return connector

    return make


@pytest.fixture
def connector(make_connector: Callable[..., DataJsonConnector]) -> DataJsonConnector:
    return make_connector()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def settle(connector: DataJsonConnector) -> None:
    """Let a background refresh finish."""
    task = connector._loading
    if task is not None:
        await asyncio.wait([task])


async def test_search_get_and_departments_come_from_the_loaded_catalogue(
    connector: DataJsonConnector, upstream: Upstream
) -> None:
    page = await connector.search(SearchQuery(text="公交"))
    assert [d.local_id for d in page.datasets] == ["330100/JTJ-00001"]
    assert page.applied == frozenset() and page.any_of_applied is True
    assert (await connector.get("crime-2020")) is not None
    assert await connector.get("no-such-dataset") is None
    ids = {d.id for d in await connector.departments()}
    assert ids == {"transport", "environment-office", "parking-authority", "hexi-open"}
    assert len(upstream.requests) == 1


async def test_filters_are_applied_exactly_and_claimed(connector: DataJsonConnector) -> None:
    query = SearchQuery(filter=DatasetFilter(open_types=(OpenType.OPEN,)))
    page = await connector.search(query)
    assert [d.local_id for d in page.datasets] == ["https://data.agency.example.gov/id/air-quality"]
    assert page.applied == frozenset({FilterName.OPEN_TYPES}) and page.total == 1


async def test_an_unchanged_catalogue_costs_a_304_and_keeps_the_index(
    connector: DataJsonConnector, upstream: Upstream
) -> None:
    first = await connector.refresh()
    second = await connector.refresh()
    assert second is first
    conditional = upstream.requests[-1].headers
    assert conditional["if-none-match"] == '"v1"'
    assert conditional["if-modified-since"] == "Sun, 01 Mar 2026 12:00:00 GMT"
    assert "if-none-match" not in upstream.requests[0].headers


async def test_a_server_ignoring_conditionals_with_the_same_bytes_keeps_the_index(
    connector: DataJsonConnector, upstream: Upstream
) -> None:
    upstream.honour_conditionals = False
    first = await connector.refresh()
    assert await connector.refresh() is first


async def test_a_changed_catalogue_replaces_the_index(
    connector: DataJsonConnector, upstream: Upstream
) -> None:
    await connector.refresh()
    upstream.publish({"dataset": [{"identifier": "new", "title": "新数据集"}]}, '"v2"')
    index = await connector.refresh()
    assert [d.local_id for d in index.datasets] == ["new"]
    assert (await connector.get("crime-2020")) is None


async def test_concurrent_queries_on_a_cold_connector_share_one_request(
    connector: DataJsonConnector, upstream: Upstream
) -> None:
    upstream.gate = asyncio.Event()
    searches = [asyncio.create_task(connector.search(SearchQuery())) for _ in range(10)]
    await asyncio.sleep(0.01)
    upstream.gate.set()
    pages = await asyncio.gather(*searches)
    assert len(upstream.requests) == 1
    assert {page.total for page in pages} == {4}


async def test_a_stale_index_is_served_at_once_while_one_refresh_runs(
    connector: DataJsonConnector, upstream: Upstream
) -> None:
    clock = connector.clock = Clock()
    await connector.refresh()
    clock.now += 301  # past the default refresh_seconds (300)
    upstream.gate = asyncio.Event()
    pages = await asyncio.gather(*(connector.search(SearchQuery()) for _ in range(10)))
    assert {page.total for page in pages} == {4}  # answered before the refresh finished
    upstream.gate.set()
    await settle(connector)
    assert len(upstream.requests) == 2


async def test_a_fresh_index_makes_no_request(
    connector: DataJsonConnector, upstream: Upstream
) -> None:
    connector.clock = Clock()
    await connector.search(SearchQuery())
    await connector.search(SearchQuery(text="bus"))
    await connector.get("crime-2020")
    await settle(connector)
    assert len(upstream.requests) == 1


async def test_a_failed_refresh_keeps_serving_the_old_index_and_says_why(
    connector: DataJsonConnector, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    clock = connector.clock = Clock()
    await connector.refresh()
    upstream.status = 503
    clock.now += 301
    with caplog.at_level(logging.WARNING, logger="connectors.sdk._static"):
        page = await connector.search(SearchQuery(text="公交"))
        await settle(connector)
    assert page.total == 1
    assert isinstance(connector.last_error, RetriableError)
    assert any(
        "refresh failed, still serving" in r.getMessage() and "HTTP 503" in r.getMessage()
        for r in caplog.records
    )
    assert (await connector.search(SearchQuery(text="公交"))).total == 1
    health = await connector.check()
    assert health.status is HealthStatus.DOWN
    assert health.message is not None
    assert "HTTP 503" in health.message and "serving the catalogue loaded" in health.message


async def test_after_a_failed_refresh_the_next_try_waits(
    connector: DataJsonConnector, upstream: Upstream
) -> None:
    clock = connector.clock = Clock()
    await connector.refresh()
    upstream.status = 500
    clock.now += 301
    await connector.search(SearchQuery())
    await settle(connector)
    clock.now += 5
    await connector.search(SearchQuery())
    await settle(connector)
    assert len(upstream.requests) == 2  # not one per query against a failing platform
    clock.now += 30
    upstream.status = 200
    await connector.search(SearchQuery())
    await settle(connector)
    assert len(upstream.requests) == 3 and connector.last_error is None


async def test_a_document_that_failed_to_parse_is_fetched_again(
    connector: DataJsonConnector, upstream: Upstream
) -> None:
    await connector.refresh()
    upstream.publish({"oops": True}, '"broken"')
    with pytest.raises(FatalError, match="'dataset' is null"):
        await connector.refresh()
    upstream.publish({"dataset": [{"identifier": "fixed", "title": "Fixed"}]}, '"v3"')
    index = await connector.refresh()
    assert upstream.requests[-1].headers["if-none-match"] == '"v1"'  # not the broken one
    assert [d.local_id for d in index.datasets] == ["fixed"]


async def test_without_any_index_the_error_reaches_the_caller(
    connector: DataJsonConnector, upstream: Upstream
) -> None:
    upstream.status = 404
    with pytest.raises(FatalError, match="HTTP 404"):
        await connector.search(SearchQuery())
    health = await connector.check()
    assert health.status is HealthStatus.DOWN and health.message == "HTTP 404"


async def test_transport_failures_map_to_the_error_hierarchy() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(timeout)) as client:
        connector = DataJsonConnector(make_settings(), client)
        with pytest.raises(SourceUnavailable, match="timed out"):
            await connector.search(SearchQuery())


async def test_the_response_cap_applies(make_connector: Callable[..., DataJsonConnector]) -> None:
    connector = make_connector(max_response_bytes=1000)
    with pytest.raises(FatalError, match="cap"):
        await connector.search(SearchQuery())


async def test_a_304_to_an_unconditional_request_is_fatal() -> None:
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(304))
    ) as client:
        connector = DataJsonConnector(make_settings(), client)
        with pytest.raises(FatalError, match="304"):
            await connector.search(SearchQuery())


async def test_a_crashing_parser_becomes_a_fatal_error(
    connector: DataJsonConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(data: bytes) -> list[Dataset]:
        raise KeyError("surprise")

    monkeypatch.setattr(connector.mapper, "parse", boom)
    with pytest.raises(FatalError, match="KeyError"):
        await connector.search(SearchQuery())


async def test_closing_stops_a_load_in_flight(
    connector: DataJsonConnector, upstream: Upstream
) -> None:
    upstream.gate = asyncio.Event()
    waiting = asyncio.create_task(connector.search(SearchQuery()))
    await asyncio.sleep(0.01)
    await connector.aclose()
    with pytest.raises(asyncio.CancelledError):
        await waiting


def test_the_records_language_is_the_datasets_language() -> None:
    """data.json v1.1 `language` (["en-US"]) says what title and description are in."""
    records = mapped(
        [
            {"identifier": "en", "title": "Parks", "accessLevel": "public", "language": ["en-US"]},
            {"identifier": "none", "title": "公园", "accessLevel": "public"},
        ]
    )
    assert records["en"].language == "en-US"
    assert records["none"].language is None
