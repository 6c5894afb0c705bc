"""CkanConnector against recorded-style CKAN 2.10 responses (respx, no network)."""

from __future__ import annotations

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

from connectors.ckan import CkanConnector, CkanExtrasKeys, CkanOptions
from connectors.sdk import (
    ConnectorError,
    DatasetFilter,
    FacetName,
    FatalError,
    FilterName,
    HealthStatus,
    QueryRejected,
    RetriableError,
    SearchQuery,
    Sort,
    SourceDefaults,
    SourceSettings,
    SourceUnavailable,
    load_connector,
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
    UpdateFrequency,
)

FIXTURES = Path(__file__).parent / "fixtures" / "ckan"
BASE = "https://data.jt.example.gov.cn"
API = f"{BASE}/api/3/action"
TOKEN = "ckan-api-token-5ecret-value"
OWN_DEPARTMENT = Department(id="jt-platform", name="Transport data platform")
DEFAULTS = SourceDefaults(
    share_type=ShareType.CONDITIONAL, open_type=OpenType.NOT_OPEN, sensitivity=Sensitivity.L2
)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def search_envelope(results: list[Any], count: int | None = None) -> dict[str, Any]:
    body = load("package_search.json")
    body["result"]["results"] = results
    body["result"]["count"] = len(results) if count is None else count
    return body


def make_settings(**changes: Any) -> SourceSettings:
    values: dict[str, Any] = {
        "id": "transport",
        "url": BASE + "/",
        "defaults": DEFAULTS,
        "department": OWN_DEPARTMENT,
        "options": CkanOptions(api_key=SecretStr(TOKEN)),
    }
    values.update(changes)
    return SourceSettings(**values)


@pytest.fixture
def make_connector(client: httpx.AsyncClient) -> Callable[..., CkanConnector]:
    def make(**changes: Any) -> CkanConnector:
        return CkanConnector(make_settings(**changes), client)

    return make


@pytest.fixture
def connector(make_connector: Callable[..., CkanConnector]) -> CkanConnector:
    return make_connector()


EXACT_OPTIONS = CkanOptions(
    api_key=SecretStr(TOKEN),
    exact_extras=True,
    extras_keys=CkanExtrasKeys(
        share_type=("share_type",), open_type=("open_type",), sensitivity=("sensitivity",)
    ),
)


@pytest.fixture
def exact_connector(make_connector: Callable[..., CkanConnector]) -> CkanConnector:
    """A site whose Solr schema indexes extras as exact strings, one key per class."""
    return make_connector(options=EXACT_OPTIONS)


def mock_search(router: respx.MockRouter, body: Any = None, status: int = 200) -> respx.Route:
    body = load("package_search.json") if body is None else body
    return router.get(f"{API}/package_search").mock(return_value=httpx.Response(status, json=body))


def sent(route: respx.Route) -> httpx.QueryParams:
    return route.calls.last.request.url.params


# -- mapping ----------------------------------------------------------------------------


async def test_search_maps_every_field_of_a_full_package(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    mock_search(router)
    page = await connector.search(SearchQuery())
    download = (
        f"{BASE}/dataset/5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f/resource/"
        "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d/download/routes.csv"
    )
    assert page.datasets[0] == Dataset(
        source_id="transport",
        local_id="5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        title="公交线路与站点",
        identifier="310000-JT-0001",
        description="全市公交线路及站点信息 & 时刻表。\n\n每月更新\n\n含 线路编号",
        keywords=("公交", "bus"),
        themes=("transport", "urban-planning"),
        department=Department(id="transport", name="交通运输局"),
        issued=datetime(2024, 1, 15, 8, 30, 0, 123456, tzinfo=UTC),
        modified=datetime(2024, 3, 1, 12, 0, 0, 654321, tzinfo=UTC),
        update_frequency=UpdateFrequency.MONTHLY,
        share_type=ShareType.UNCONDITIONAL,
        share_condition="仅用于公共交通规划",
        open_type=OpenType.CONDITIONAL,
        sensitivity=Sensitivity.L2,
        license="Creative Commons Attribution",
        landing_page=f"{BASE}/dataset/bus-routes",
        contact_point=ContactPoint(
            name="王芳", email="wang.fang@jt.example.gov.cn", phone="021-12345678"
        ),
        distributions=(
            Distribution(
                title="routes.csv",
                format="CSV",
                media_type="text/csv",
                access_url=download,
                download_url=download,
                byte_size=48213,
            ),
            Distribution(
                title="实时到站 API",
                format=None,
                media_type=None,
                access_url="https://api.jt.example.gov.cn/bus/arrivals",
                download_url=None,
                byte_size=None,
            ),
            Distribution(
                title=None,
                format="GEOJSON",
                media_type="application/geo+json",
                access_url="https://gis.jt.example.gov.cn/export/stops.geojson",
                download_url="https://gis.jt.example.gov.cn/export/stops.geojson",
                byte_size=None,
            ),
        ),
        fields=(
            DataField(name="route_id", type="string", description="线路编号"),
            DataField(name="stop_count", type="integer", description="站点数"),
        ),
        spatial=(
            '{"type": "Polygon", "coordinates": [[[121.0, 31.0], [122.0, 31.0], '
            "[122.0, 32.0], [121.0, 32.0], [121.0, 31.0]]]}"
        ),
        temporal=None,
    )


async def test_chinese_extras_values_map_to_canonical_classes(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    mock_search(router)
    bus = (await connector.search(SearchQuery())).datasets[0]
    assert bus.share_type is ShareType.UNCONDITIONAL  # 无条件共享
    assert bus.open_type is OpenType.CONDITIONAL  # 有条件开放
    assert bus.update_frequency is UpdateFrequency.MONTHLY  # 每月
    assert bus.sensitivity is Sensitivity.L2  # 二级


async def test_package_without_organization_or_extras_gets_source_department_and_defaults(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    mock_search(router)
    air = (await connector.search(SearchQuery())).datasets[1]
    assert air.department == OWN_DEPARTMENT
    assert (air.share_type, air.open_type, air.sensitivity) == (
        ShareType.CONDITIONAL,
        OpenType.NOT_OPEN,
        Sensitivity.L2,
    )
    assert air.update_frequency is UpdateFrequency.UNKNOWN
    assert air.title == "air-quality-stations"  # empty title falls back to the name
    assert air.identifier is None  # never the package name
    assert air.description is None
    assert air.contact_point == ContactPoint(name="环境监测站", email="monitor@hb.example.gov.cn")
    assert air.issued == datetime(2023, 11, 2, 3, 4, 5, tzinfo=UTC)
    assert air.distributions == (Distribution(title="stations"),)
    assert air.fields == ()
    assert air.license == "License not specified"


async def test_unrecognised_extras_get_the_least_open_class_and_dates_parse_in_every_form(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    mock_search(router)
    incidents = (await connector.search(SearchQuery())).datasets[2]
    assert incidents.open_type is OpenType.NOT_OPEN  # "maybe later" -> the least open
    assert incidents.share_type is ShareType.NOT_SHARED  # "not_shared"
    assert incidents.sensitivity is Sensitivity.L1  # "L1"
    assert incidents.update_frequency is UpdateFrequency.UNKNOWN  # "whenever"
    assert incidents.fields == ()  # invalid JSON in the fields extra
    assert incidents.identifier == "310000-JT-0042"  # second configured key
    assert incidents.license == "odc-odbl"  # license_title null -> license_id
    assert incidents.contact_point is None  # maintainer "" and no author
    assert incidents.issued == datetime(2024, 2, 10, tzinfo=UTC)  # "...Z"
    assert incidents.modified == datetime(2024, 2, 11, tzinfo=UTC)  # date only
    assert incidents.description == "Daily incident reports.\n\nSee the *methodology* page."


@pytest.mark.parametrize("defaults", [SourceDefaults(), DEFAULTS], ids=["sdk-defaults", "custom"])
async def test_records_without_classes_never_default_to_most_open(
    router: respx.MockRouter,
    make_connector: Callable[..., CkanConnector],
    defaults: SourceDefaults,
) -> None:
    mock_search(router)
    page = await make_connector(defaults=defaults).search(SearchQuery())
    air = page.datasets[1]
    assert air.share_type is defaults.share_type is not ShareType.UNCONDITIONAL
    assert air.open_type is defaults.open_type is not OpenType.OPEN
    assert air.sensitivity is defaults.sensitivity is not Sensitivity.L1


@pytest.mark.parametrize("value", ["yesterday", "2024-13-45T00:00:00", 1700000000, "", None])
async def test_unparseable_timestamps_become_none(
    router: respx.MockRouter, connector: CkanConnector, value: object
) -> None:
    package = load("package_show.json")["result"]
    package["metadata_created"] = package["metadata_modified"] = value
    mock_search(router, search_envelope([package]))
    dataset = (await connector.search(SearchQuery())).datasets[0]
    assert (dataset.issued, dataset.modified) == (None, None)


async def test_configured_extras_keys_replace_the_defaults(
    router: respx.MockRouter, make_connector: Callable[..., CkanConnector]
) -> None:
    package = load("package_show.json")["result"]
    package["extras"] = [
        {"key": "gxlx", "value": "有条件共享"},
        {"key": "share_type", "value": "x"},
    ]
    mock_search(router, search_envelope([package]))
    options = CkanOptions(extras_keys=CkanExtrasKeys(share_type=("gxlx",)))
    dataset = (await make_connector(options=options).search(SearchQuery())).datasets[0]
    assert dataset.share_type is ShareType.CONDITIONAL


async def test_temporal_extras_become_a_temporal_range(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    package = load("package_show.json")["result"]
    package["extras"].append({"key": "temporal_start", "value": "2020-01-01"})
    mock_search(router, search_envelope([package]))
    dataset = (await connector.search(SearchQuery())).datasets[0]
    assert dataset.temporal is not None
    assert (dataset.temporal.start, dataset.temporal.end) == (
        datetime(2020, 1, 1, tzinfo=UTC),
        None,
    )


async def test_garbage_records_are_skipped_with_a_warning_while_the_rest_map(
    router: respx.MockRouter, connector: CkanConnector, caplog: pytest.LogCaptureFixture
) -> None:
    good = load("package_show.json")["result"]
    bad_tags = copy.deepcopy(good) | {"id": "other", "tags": "not-a-list", "resources": [3]}
    mock_search(router, search_envelope(["a string", {"name": "no-id"}, None, good, bad_tags], 5))
    with caplog.at_level(logging.WARNING, logger="connectors.ckan"):
        page = await connector.search(SearchQuery())
    assert [d.local_id for d in page.datasets] == [good["id"], "other"]
    assert page.datasets[1].keywords == () and page.datasets[1].distributions == ()
    assert page.total == 5
    assert len([r for r in caplog.records if "skipped" in r.getMessage()]) == 3


# -- pushdown ---------------------------------------------------------------------------

PUSHED = [
    pytest.param(
        DatasetFilter(departments=("transport", "health")),
        FilterName.DEPARTMENTS,
        'organization:("transport" OR "health")',
        id="departments",
    ),
    pytest.param(
        DatasetFilter(themes=("transport",)), FilterName.THEMES, 'groups:("transport")', id="themes"
    ),
    pytest.param(
        DatasetFilter(keywords=("Bus",)),
        FilterName.KEYWORDS,
        'tags:("Bus" OR "bus" OR "BUS")',
        id="keywords",
    ),
    pytest.param(
        DatasetFilter(formats=("csv",)),
        FilterName.FORMATS,
        'res_format:("csv" OR "CSV" OR "Csv")',
        id="formats",
    ),
    pytest.param(
        DatasetFilter(formats=("geojson",)),
        FilterName.FORMATS,
        '"GeoJSON"',
        id="formats-mixed-case",
    ),
    pytest.param(
        DatasetFilter(share_types=(ShareType.UNCONDITIONAL,)),
        FilterName.SHARE_TYPES,
        'extras_share_type:("unconditional" OR "UNCONDITIONAL" OR "无条件共享")',
        id="share_types",
    ),
    pytest.param(
        DatasetFilter(open_types=(OpenType.CONDITIONAL,)),
        FilterName.OPEN_TYPES,
        'extras_open_type:("conditional" OR "CONDITIONAL" OR "有条件开放" OR "restricted" '
        'OR "RESTRICTED" OR "restricted public"',
        id="open_types",
    ),
    pytest.param(
        DatasetFilter(max_sensitivity=Sensitivity.L1),
        FilterName.MAX_SENSITIVITY,
        'extras_sensitivity:("l1" OR "L1" OR "1" OR "一级" OR "不敏感")',
        id="max_sensitivity",
    ),
    pytest.param(
        DatasetFilter(modified_after=datetime(2024, 1, 1, tzinfo=UTC)),
        FilterName.MODIFIED_AFTER,
        "metadata_modified:[2024-01-01T00:00:00Z TO *]",
        id="modified_after",
    ),
    pytest.param(
        DatasetFilter(modified_before=datetime.fromisoformat("2024-01-01T08:00:00.250+08:00")),
        FilterName.MODIFIED_BEFORE,
        "metadata_modified:[* TO 2024-01-01T00:00:00.250Z}",
        id="modified_before",
    ),
]


@pytest.mark.parametrize(("dataset_filter", "name", "clause"), PUSHED)
async def test_each_filter_is_pushed_down_into_fq_and_reported_applied(
    router: respx.MockRouter,
    exact_connector: CkanConnector,
    dataset_filter: DatasetFilter,
    name: FilterName,
    clause: str,
) -> None:
    route = mock_search(router, search_envelope([]))
    page = await exact_connector.search(SearchQuery(filter=dataset_filter))
    assert clause in sent(route)["fq"]
    assert page.applied == {name}


@pytest.mark.parametrize(
    "dataset_filter",
    [
        DatasetFilter(share_types=(ShareType.UNCONDITIONAL,)),
        DatasetFilter(open_types=(OpenType.OPEN,)),
        DatasetFilter(max_sensitivity=Sensitivity.L2),
    ],
)
async def test_on_stock_ckan_class_filters_narrow_but_are_not_claimed_exact(
    router: respx.MockRouter, connector: CkanConnector, dataset_filter: DatasetFilter
) -> None:
    route = mock_search(router, search_envelope([]))
    page = await connector.search(SearchQuery(filter=dataset_filter))
    fq = sent(route)["fq"]
    assert "extras_" in fq
    # every alias key is searched, so records using the Chinese key are not lost
    assert any(k in fq for k in ("extras_共享类型", "extras_开放类型", "extras_敏感级别"))
    assert page.applied == frozenset()


async def test_all_filters_together_are_anded_as_required_clauses(
    router: respx.MockRouter, exact_connector: CkanConnector
) -> None:
    connector = exact_connector
    route = mock_search(router, search_envelope([]))
    everything = DatasetFilter(
        departments=("transport",),
        themes=("transport",),
        keywords=("bus",),
        formats=("CSV",),
        share_types=(ShareType.UNCONDITIONAL,),
        open_types=(OpenType.OPEN,),
        max_sensitivity=Sensitivity.L3,
        modified_after=datetime(2023, 1, 1, tzinfo=UTC),
        modified_before=datetime(2025, 1, 1, tzinfo=UTC),
        identifiers=("11000000000000/000000000001",),
    )
    page = await connector.search(SearchQuery(filter=everything))
    fq = sent(route)["fq"]
    for field in ("+organization:", "+groups:", "+tags:", "+res_format:", "+metadata_modified:[2"):
        assert field in fq
    assert '+(extras_identifier:("11000000000000/000000000001") OR ' in fq
    assert fq.count(" +") == 9  # ten required clauses
    # the identifier may sit under any of four keys, so that clause only narrows; grades
    # are not a request filter (they come with the caller's visibility)
    assert page.applied == frozenset(FilterName) - {
        FilterName.IDENTIFIERS,
        FilterName.GRADES,
        FilterName.DATASET_IDS,
    }


async def test_no_filter_and_no_text_send_neither_fq_nor_q(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    route = mock_search(router, search_envelope([]))
    page = await connector.search(SearchQuery())
    assert "fq" not in sent(route) and "q" not in sent(route)
    assert page.applied == frozenset()


async def test_filter_values_are_quoted_and_escaped(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    route = mock_search(router, search_envelope([]))
    await connector.search(SearchQuery(filter=DatasetFilter(themes=('a"b\\c OR *:*',))))
    assert sent(route)["fq"] == '+groups:("a\\"b\\\\c OR *:*")'


async def test_wanted_default_class_also_admits_records_without_a_recognised_value(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    route = mock_search(router, search_envelope([]))
    await connector.search(SearchQuery(filter=DatasetFilter(share_types=(ShareType.CONDITIONAL,))))
    fq = sent(route)["fq"]
    assert fq.startswith('+(extras_share_type:("conditional" OR "CONDITIONAL" OR "有条件共享") OR ')
    # the default branch: no extra, or a value that is none of the known spellings
    assert '(*:* -extras_share_type:("unconditional" OR "UNCONDITIONAL" OR "无条件共享"' in fq
    assert '"不予共享"))' in fq


async def test_default_branch_is_absent_when_the_default_class_is_not_wanted(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    route = mock_search(router, search_envelope([]))
    await connector.search(SearchQuery(filter=DatasetFilter(max_sensitivity=Sensitivity.L1)))
    assert "*:*" not in sent(route)["fq"]  # default L2 is above L1
    await connector.search(SearchQuery(filter=DatasetFilter(max_sensitivity=Sensitivity.L2)))
    assert "(*:* -extras_sensitivity:(" in sent(route)["fq"]


async def test_open_filter_excludes_other_classes_whose_words_contain_open(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    # extras_* fields are tokenised: the phrase "open" also matches "not open".
    route = mock_search(router, search_envelope([]))
    await connector.search(SearchQuery(filter=DatasetFilter(open_types=(OpenType.OPEN,))))
    fq = sent(route)["fq"]
    include, _, exclude = fq.partition(" -extras_open_type:")
    assert '"open"' in include and '"无条件开放"' in include
    for spelling in ('"not open"', '"not_open"', '"restricted public"', '"non-public"'):
        assert spelling in exclude
    assert '"有条件开放"' not in exclude  # a different token: no clash, no exclusion


async def test_class_filters_use_the_first_configured_extras_key(
    router: respx.MockRouter, make_connector: Callable[..., CkanConnector]
) -> None:
    route = mock_search(router, search_envelope([]))
    keys = CkanExtrasKeys(share_type=("共享类型", "share_type"), open_type=("open type",))
    connector = make_connector(options=CkanOptions(extras_keys=keys))
    both = DatasetFilter(share_types=(ShareType.NOT_SHARED,), open_types=(OpenType.NOT_OPEN,))
    await connector.search(SearchQuery(filter=both))
    fq = sent(route)["fq"]
    assert 'extras_共享类型:("not_shared"' in fq
    assert "extras_open\\ type:(" in fq  # field names are escaped too


async def test_department_filter_includes_unowned_records_for_the_source_department(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    route = mock_search(router, search_envelope([]))
    await connector.search(SearchQuery(filter=DatasetFilter(departments=(OWN_DEPARTMENT.id,))))
    assert sent(route)["fq"] == ('+(organization:("jt-platform") OR (*:* -organization:[* TO *]))')


async def test_pushdown_that_lets_through_a_record_mapped_elsewhere_is_not_claimed_applied(
    router: respx.MockRouter, exact_connector: CkanConnector, caplog: pytest.LogCaptureFixture
) -> None:
    connector = exact_connector
    # e.g. a site whose Solr analyser splits Chinese words: the page holds records our
    # vocabulary does not map to UNCONDITIONAL, so the engine must re-apply the filter.
    mock_search(router)
    wanted = DatasetFilter(share_types=(ShareType.UNCONDITIONAL,), themes=("transport",))
    with caplog.at_level(logging.WARNING, logger="connectors.ckan"):
        page = await connector.search(SearchQuery(filter=wanted))
    assert page.applied == {FilterName.THEMES}
    assert "share_types pushdown let through 3 record(s)" in caplog.text


# -- sort, paging, text -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (Sort.RELEVANCE, "score desc, metadata_modified desc"),
        (Sort.MODIFIED_DESC, "metadata_modified desc"),
        (Sort.MODIFIED_ASC, "metadata_modified asc"),
        (Sort.TITLE_ASC, "title_string asc"),
    ],
    ids=lambda value: value.name if isinstance(value, Sort) else None,
)
async def test_sort_maps_to_ckan_sort(
    router: respx.MockRouter, connector: CkanConnector, sort: Sort, expected: str
) -> None:
    route = mock_search(router, search_envelope([]))
    page = await connector.search(SearchQuery(sort=sort))
    assert sent(route)["sort"] == expected
    assert page.sorted


async def test_offset_and_limit_become_start_and_rows(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    route = mock_search(router, search_envelope([]))
    await connector.search(SearchQuery(offset=40, limit=20))
    assert (sent(route)["start"], sent(route)["rows"]) == ("40", "20")


async def test_rows_are_capped_at_1000_and_at_the_configured_page_size(
    router: respx.MockRouter, make_connector: Callable[..., CkanConnector]
) -> None:
    route = mock_search(router, search_envelope([]))
    await make_connector().search(SearchQuery(limit=5000))
    assert sent(route)["rows"] == "1000"
    smaller = make_connector(options=CkanOptions(page_size_max=200))
    await smaller.search(SearchQuery(limit=5000))
    assert sent(route)["rows"] == "200"


async def test_free_text_is_sent_as_q_without_solr_field_or_local_param_syntax(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    route = mock_search(router, search_envelope([]))
    await connector.search(SearchQuery(text="{!lucene}公交 线路: title:bus"))
    assert sent(route)["q"] == "!lucene 公交 线路 title bus"


async def test_include_private_is_sent_only_when_configured(
    router: respx.MockRouter, make_connector: Callable[..., CkanConnector]
) -> None:
    route = mock_search(router, search_envelope([]))
    await make_connector().search(SearchQuery())
    assert "include_private" not in sent(route)
    await make_connector(options=CkanOptions(include_private=True)).search(SearchQuery())
    assert sent(route)["include_private"] == "true"


# -- facets -----------------------------------------------------------------------------


async def test_facets_are_requested_and_mapped_to_canonical_values(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    route = mock_search(router, load("package_search_facets.json"))
    page = await connector.search(SearchQuery(facets=frozenset(FacetName)))
    assert json.loads(sent(route)["facet.field"]) == ["organization", "groups", "res_format"]
    assert sent(route)["facet.limit"] == "-1"
    assert page.facets == {
        # 5 matches, 4 with an organization: the other is the source's own department
        FacetName.DEPARTMENTS: {"transport": 3, "environment": 1, "jt-platform": 1},
        FacetName.THEMES: {"urban-planning": 1, "transport": 3},
        FacetName.FORMATS: {"CSV": 4, "GEOJSON": 1},
    }  # share/open facets are left to the engine: CKAN cannot count them correctly


async def test_only_requested_facets_are_asked_for_and_returned(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    route = mock_search(router, load("package_search_facets.json"))
    page = await connector.search(SearchQuery(facets=frozenset({FacetName.THEMES})))
    assert json.loads(sent(route)["facet.field"]) == ["groups"]
    assert set(page.facets) == {FacetName.THEMES}
    await connector.search(SearchQuery())
    assert "facet.field" not in sent(route)


def test_capabilities_declare_what_the_connector_pushes_down() -> None:
    caps = CkanConnector.capabilities
    assert caps.search and caps.get_by_id and caps.max_page_size == 1000
    assert caps.filters == frozenset(FilterName) - {FilterName.GRADES, FilterName.DATASET_IDS}
    assert caps.sorts == frozenset(Sort)
    assert caps.facets == {FacetName.DEPARTMENTS, FacetName.THEMES, FacetName.FORMATS}


# -- envelope and HTTP errors -----------------------------------------------------------


def _tamper(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = load("package_search.json")
    edit(body)
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            _tamper(lambda b: b.update(success=False)), "success=False", id="success-false"
        ),
        pytest.param(_tamper(lambda b: b.pop("result")), "no 'result'", id="no-result"),
        pytest.param(
            _tamper(lambda b: b["result"].update(results={"0": {}})),
            "'results' is a dict",
            id="results-not-list",
        ),
        pytest.param(
            _tamper(lambda b: b["result"].update(count="3")), "'count' is '3'", id="count-string"
        ),
        pytest.param(
            _tamper(lambda b: b["result"].update(count=True)), "'count' is True", id="count-bool"
        ),
        pytest.param(_tamper(lambda b: b.update(result=[])), "result is a list", id="result-list"),
        pytest.param([1, 2], "JSON list", id="not-an-object"),
    ],
)
async def test_wrong_envelope_is_fatal_and_says_what_was_wrong(
    router: respx.MockRouter, connector: CkanConnector, body: Any, message: str
) -> None:
    mock_search(router, body)
    with pytest.raises(FatalError, match="package_search") as caught:
        await connector.search(SearchQuery())
    assert message in str(caught.value)
    assert caught.value.source_id == "transport"


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_and_rate_limits_are_retriable(
    router: respx.MockRouter, connector: CkanConnector, status: int
) -> None:
    router.get(f"{API}/package_search").mock(return_value=httpx.Response(status, text="oops"))
    with pytest.raises(RetriableError, match=str(status)):
        await connector.search(SearchQuery())


# CKAN's "bad query" answers (ckan/views/api.py): SearchQueryError -> 400 "Search Query
# Error", SearchError (Solr refused the q or fq) -> 409 "Search Error", ValidationError ->
# 409 "Validation Error"; the 400 fixture's message is the one the issue-16 date caused.
CKAN_BAD_QUERIES = [
    ("package_search_400_query.json", 400, "Search Query is invalid: ('Invalid date string"),
    ("package_search_409.json", 409, "Search Error: Search error: ('SOLR returned an error"),
    ("package_search_409_validation.json", 409, "rows: Must be less than or equal to 1000"),
]


@pytest.mark.parametrize(("fixture", "status", "message"), CKAN_BAD_QUERIES)
async def test_ckans_bad_query_answers_are_query_rejected_with_ckans_message(
    router: respx.MockRouter, connector: CkanConnector, fixture: str, status: int, message: str
) -> None:
    mock_search(router, load(fixture), status=status)
    with pytest.raises(QueryRejected, match="CKAN rejected the query") as caught:
        await connector.search(SearchQuery())
    assert message in caught.value.message
    assert caught.value.source_id == connector.source_id


@pytest.mark.parametrize(("fixture", "status", "message"), CKAN_BAD_QUERIES)
async def test_a_bad_query_answer_to_a_by_id_lookup_is_query_rejected(
    router: respx.MockRouter, connector: CkanConnector, fixture: str, status: int, message: str
) -> None:
    router.get(f"{API}/package_show").mock(return_value=httpx.Response(status, json=load(fixture)))
    with pytest.raises(QueryRejected):
        await connector.get("some-id")
    mock_search(router, load(fixture), status=status)
    with pytest.raises(QueryRejected):
        await connector.get_many(["a", "b"])


@pytest.mark.parametrize(("fixture", "status", "message"), CKAN_BAD_QUERIES)
async def test_the_same_answer_to_the_department_listing_is_the_sources_failure(
    router: respx.MockRouter, connector: CkanConnector, fixture: str, status: int, message: str
) -> None:
    # organization_list carries no caller input: CKAN refusing it is not the caller's fault.
    router.get(f"{API}/organization_list").mock(
        return_value=httpx.Response(status, json=load(fixture))
    )
    with pytest.raises(FatalError) as caught:
        await connector.departments()
    assert not isinstance(caught.value, QueryRejected)


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(httpx.Response(200, text='{"success": true, "result": {'), id="invalid-json"),
        pytest.param(
            httpx.Response(
                200,
                text="<!DOCTYPE html><html><body>Portal maintenance</body></html>",
                headers={"content-type": "text/html; charset=utf-8"},
            ),
            id="html-body",
        ),
        pytest.param(httpx.Response(404, text="<html>Not Found</html>"), id="html-404"),
    ],
)
async def test_bodies_that_are_not_ckan_json_are_fatal(
    router: respx.MockRouter, connector: CkanConnector, response: httpx.Response
) -> None:
    router.get(f"{API}/package_search").mock(return_value=response)
    with pytest.raises(FatalError):
        await connector.search(SearchQuery())


async def test_oversized_body_is_fatal(
    router: respx.MockRouter, make_connector: Callable[..., CkanConnector]
) -> None:
    mock_search(router)
    with pytest.raises(FatalError, match="byte cap"):
        await make_connector(max_response_bytes=512).search(SearchQuery())


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.ConnectError])
async def test_timeouts_and_refused_connections_make_the_source_unavailable(
    router: respx.MockRouter, connector: CkanConnector, error: type[Exception]
) -> None:
    router.get(f"{API}/package_search").mock(side_effect=error)
    with pytest.raises(SourceUnavailable):
        await connector.search(SearchQuery())


async def test_httpx_errors_outside_get_jsons_mapping_become_fatal(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    router.get(f"{API}/package_search").mock(side_effect=httpx.DecodingError)
    with pytest.raises(FatalError, match="DecodingError"):
        await connector.search(SearchQuery())


# -- secrets ----------------------------------------------------------------------------


async def test_api_key_is_sent_as_the_authorization_header(
    router: respx.MockRouter, make_connector: Callable[..., CkanConnector]
) -> None:
    route = mock_search(router, search_envelope([]))
    await make_connector().search(SearchQuery())
    assert route.calls.last.request.headers["authorization"] == TOKEN
    await make_connector(options=CkanOptions()).search(SearchQuery())
    assert "authorization" not in route.calls.last.request.headers


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500),
        httpx.Response(409, json=load("package_search_409.json")),
        httpx.Response(200, text="not json"),
        httpx.ReadTimeout,
    ],
    ids=["500", "409", "invalid-json", "timeout"],
)
async def test_api_key_never_appears_in_errors_or_reprs(
    router: respx.MockRouter, connector: CkanConnector, response: Any
) -> None:
    route = router.get(f"{API}/package_search")
    if isinstance(response, httpx.Response):
        route.mock(return_value=response)
    else:
        route.mock(side_effect=response)
    with pytest.raises(ConnectorError) as caught:
        await connector.search(SearchQuery())
    error = caught.value
    for text in (str(error), repr(error), error.message, repr(error.request)):
        assert TOKEN not in text
    assert error.request is not None and "authorization" not in error.request.headers
    for text in (repr(connector), repr(connector.options), repr(connector.settings)):
        assert TOKEN not in text


# -- get --------------------------------------------------------------------------------


async def test_get_fetches_package_show_by_id_and_maps_it(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    route = router.get(f"{API}/package_show").mock(
        return_value=httpx.Response(200, json=load("package_show.json"))
    )
    dataset = await connector.get("5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f")
    assert sent(route)["id"] == "5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
    assert dataset is not None and dataset.identifier == "310000-JT-0001"


async def test_get_returns_none_when_ckan_answers_404(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    router.get(f"{API}/package_show").mock(
        return_value=httpx.Response(404, json=load("package_show_404.json"))
    )
    assert await connector.get("no-such-dataset") is None


async def test_get_returns_none_for_a_deleted_package(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    body = load("package_show.json")
    body["result"]["state"] = "deleted"
    router.get(f"{API}/package_show").mock(return_value=httpx.Response(200, json=body))
    assert await connector.get(body["result"]["id"]) is None


async def test_get_answers_a_package_ckan_refuses_like_a_missing_one(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    body = {
        "help": f"{API}/help_show?name=package_show",
        "error": {"__type": "Authorization Error", "message": "Access denied"},
        "success": False,
    }
    router.get(f"{API}/package_show").mock(return_value=httpx.Response(403, json=body))
    assert await connector.get("private-dataset") is None


async def test_get_hides_private_packages_unless_asked_and_unmappable_ones(
    router: respx.MockRouter,
    connector: CkanConnector,
    make_connector: Callable[..., CkanConnector],
) -> None:
    body = load("package_show.json")
    body["result"]["private"] = True
    route = router.get(f"{API}/package_show").mock(return_value=httpx.Response(200, json=body))
    assert await connector.get("x") is None
    with_private = make_connector(options=CkanOptions(include_private=True))
    assert await with_private.get("x") is not None
    body["result"]["private"] = False
    body["result"]["extras"] = [{"key": "fields", "value": "[" * 100_000}]
    route.mock(return_value=httpx.Response(200, json=body))
    dataset = await connector.get("x")
    assert dataset is None or dataset.fields == ()


async def test_positions_and_consumed_report_skipped_records(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    good = load("package_show.json")["result"]
    mock_search(router, search_envelope([good, "garbage", {"no": "id"}, good], count=10))
    page = await connector.search(SearchQuery(limit=4))
    assert page.consumed == 4
    assert page.positions == (0, 3)


async def test_get_with_success_false_is_fatal(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    body = load("package_show.json") | {"success": False}
    router.get(f"{API}/package_show").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(FatalError, match="success=False"):
        await connector.get("x")


# -- departments ------------------------------------------------------------------------


async def test_departments_page_through_organization_list_until_a_short_page(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    pages = {"0": load("organization_list_0.json"), "25": load("organization_list_25.json")}
    route = router.get(f"{API}/organization_list").mock(
        side_effect=lambda request: httpx.Response(200, json=pages[request.url.params["offset"]])
    )
    departments = await connector.departments()
    assert [call.request.url.params["offset"] for call in route.calls] == ["0", "25"]
    params = route.calls[0].request.url.params
    assert (params["all_fields"], params["limit"]) == ("true", "25")
    assert len(departments) == 28
    assert departments[0] == Department(id="transport", name="交通运输局")
    assert departments[5] == Department(id="district-03", name="district-03")  # empty title


async def test_departments_keep_paging_when_the_site_caps_pages_below_25(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    orgs = load("organization_list_0.json")["result"] + load("organization_list_25.json")["result"]

    def capped(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json={"success": True, "result": orgs[offset : offset + 10]})

    route = router.get(f"{API}/organization_list").mock(side_effect=capped)
    assert len(await connector.departments()) == 28
    assert route.call_count == 3  # 10 + 10 + 8


async def test_departments_stop_when_the_site_ignores_offset(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    route = router.get(f"{API}/organization_list").mock(
        return_value=httpx.Response(200, json=load("organization_list_0.json"))
    )
    assert len(await connector.departments()) == 25
    assert route.call_count == 2


# -- check ------------------------------------------------------------------------------


async def test_check_is_up_with_latency_when_status_show_answers(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    router.get(f"{API}/status_show").mock(
        return_value=httpx.Response(200, json=load("status_show.json"))
    )
    health = await connector.check()
    assert health.status is HealthStatus.UP
    assert health.latency_ms is not None and health.latency_ms >= 0


@pytest.mark.parametrize(
    ("mock", "message"),
    [
        ({"return_value": httpx.Response(503)}, "HTTP 503"),
        ({"side_effect": httpx.ReadTimeout}, "timed out"),
        ({"return_value": httpx.Response(200, json={"success": False})}, "success=False"),
        ({"return_value": httpx.Response(200, text="<html></html>")}, "invalid JSON"),
    ],
    ids=["503", "timeout", "success-false", "html"],
)
async def test_check_reports_down_with_a_message_and_never_raises(
    router: respx.MockRouter, connector: CkanConnector, mock: dict[str, Any], message: str
) -> None:
    router.get(f"{API}/status_show").mock(**mock)
    health = await connector.check()
    assert health.status is HealthStatus.DOWN
    assert health.message is not None and message in health.message


# -- options and registration -----------------------------------------------------------


def test_options_reject_unknown_keys_and_hide_the_api_key() -> None:
    with pytest.raises(ValidationError):
        CkanOptions.model_validate({"api_key": "k", "apikey": "typo"})
    with pytest.raises(ValidationError):
        CkanOptions.model_validate({"extras_keys": {"share_type": []}})
    with pytest.raises(ValidationError):
        CkanOptions.model_validate({"page_size_max": 5000})
    options = CkanOptions.model_validate({"api_key": TOKEN, "extras_keys": {"phone": ["tel"]}})
    assert TOKEN not in repr(options) and TOKEN not in str(options)
    assert options.extras_keys.phone == ("tel",)
    assert options.extras_keys.share_type == ("share_type", "共享类型")


def test_connector_built_without_options_uses_the_defaults(client: httpx.AsyncClient) -> None:
    connector = CkanConnector(SourceSettings(id="transport", url=BASE), client)
    assert connector.options == CkanOptions()


def test_registry_loads_the_ckan_connector_by_name() -> None:
    assert load_connector("ckan") is CkanConnector
    assert CkanConnector.name == "ckan" and CkanConnector.options_model is CkanOptions


# -- visibility (SearchQuery.any_of) ----------------------------------------------------


async def test_visibility_alternatives_are_pushed_down_as_one_or_group(
    router: respx.MockRouter, connector: CkanConnector, exact_connector: CkanConnector
) -> None:
    route = mock_search(router, search_envelope([]))
    public = DatasetFilter(open_types=(OpenType.OPEN,), max_sensitivity=Sensitivity.L1)
    own = DatasetFilter(departments=("transport",))
    page = await connector.search(SearchQuery(any_of=(public, own)))
    fq = sent(route)["fq"]
    assert fq.startswith("+((") and "extras_open_type:" in fq
    assert ") OR (organization:" in fq
    assert page.any_of_applied is False  # stock CKAN: narrowed, not exact
    exact_page = await exact_connector.search(SearchQuery(any_of=(public, own)))
    assert exact_page.any_of_applied is True


async def test_visibility_that_admits_everything_adds_no_clause(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    route = mock_search(router, search_envelope([]))
    page = await connector.search(SearchQuery(any_of=(DatasetFilter(),)))
    assert "fq" not in sent(route)
    assert page.any_of_applied is True


async def test_a_record_outside_the_visibility_marks_it_not_applied(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    package = load("package_show.json")["result"]
    mock_search(router, search_envelope([package]))
    nobody = DatasetFilter(departments=("no-such-department",))
    page = await connector.search(SearchQuery(any_of=(nobody,)))
    assert page.any_of_applied is False
    assert len(page.datasets) == 1  # returned, but the gateway will filter it


async def test_a_changed_package_is_mapped_again_and_a_hostile_stamp_does_not_crash(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    package = load("package_show.json")["result"]
    route = mock_search(router, search_envelope([package]))
    first = await connector.search(SearchQuery())
    changed = {**package, "title": "新标题", "metadata_modified": "2030-01-01T00:00:00.000000"}
    route.mock(return_value=httpx.Response(200, json=search_envelope([changed])))
    second = await connector.search(SearchQuery())
    assert first.datasets[0].title != "新标题"
    assert second.datasets[0].title == "新标题"
    hostile = {**package, "metadata_modified": {"nested": ["x"]}}
    route.mock(return_value=httpx.Response(200, json=search_envelope([hostile])))
    third = await connector.search(SearchQuery())
    assert third.datasets[0].modified is None


async def test_ckanext_dcat_style_extras_are_read(
    router: respx.MockRouter, make_connector: Callable[..., CkanConnector]
) -> None:
    package = load("package_show.json")["result"]
    package = {
        **package,
        "maintainer": None,
        "maintainer_email": None,
        "author": None,
        "author_email": None,
    }
    package["extras"] = [
        {"key": "guid", "value": "https://data.example/dataset/abc"},
        {
            "key": "access_rights",
            "value": "http://publications.europa.eu/resource/authority/access-right/PUBLIC",
        },
        {
            "key": "frequency",
            "value": "http://publications.europa.eu/resource/authority/frequency/MONTHLY",
        },
        {"key": "contact_name", "value": "数据管理处"},
        {"key": "contact_email", "value": "data@jt.example.gov.cn"},
        {"key": "temporal_start", "value": "2024-01-01"},
    ]
    mock_search(router, search_envelope([package]))
    [dataset] = (await make_connector().search(SearchQuery())).datasets
    assert dataset.identifier == "https://data.example/dataset/abc"
    assert dataset.open_type is OpenType.OPEN
    assert dataset.update_frequency is UpdateFrequency.MONTHLY
    assert dataset.contact_point == ContactPoint(
        name="数据管理处", email="data@jt.example.gov.cn", phone=None
    )
    assert dataset.temporal is not None and dataset.temporal.start is not None


async def test_get_many_asks_one_package_search_by_id_or_name(
    router: respx.MockRouter,
    connector: CkanConnector,
    make_connector: Callable[..., CkanConnector],
) -> None:
    package = load("package_show.json")["result"]
    other = {**package, "id": "0000-other", "name": "other-dataset"}
    route = mock_search(router, search_envelope([package, "garbage", other], count=3))
    found = await connector.get_many([package["id"], "other-dataset", "absent"])
    assert route.call_count == 1
    params = sent(route)
    assert params["fq"] == (
        f'+(id:("{package["id"]}" OR "other-dataset" OR "absent") '
        f'OR name:("{package["id"]}" OR "other-dataset" OR "absent"))'
    )
    assert "include_private" not in params  # private packages stay hidden, as in get()
    assert found[package["id"]] is not None and found[package["id"]].local_id == package["id"]
    other_found = found["other-dataset"]
    assert other_found is not None and other_found.local_id == "0000-other"
    assert found["absent"] is None
    with_private = make_connector(options=CkanOptions(include_private=True))
    await with_private.get_many(["x", "y"])
    assert sent(route)["include_private"] == "true"


async def test_unknown_class_spellings_are_the_least_open_never_the_open_default(
    router: respx.MockRouter, make_connector: Callable[..., CkanConnector]
) -> None:
    # Issue 10: 不共享 / 不开放 / L5 fell back to the source defaults (here the most open).
    package = load("package_search.json")["result"]["results"][0]
    package["extras"] = [
        {"key": "share_type", "value": "不共享"},
        {"key": "open_type", "value": "不开放"},
        {"key": "sensitivity", "value": "L5"},
    ]
    mock_search(router, search_envelope([package]))
    most_open = SourceDefaults(ShareType.UNCONDITIONAL, OpenType.OPEN, Sensitivity.L1)
    [dataset] = (await make_connector(defaults=most_open).search(SearchQuery())).datasets
    assert (dataset.share_type, dataset.open_type, dataset.sensitivity) == (
        ShareType.NOT_SHARED,
        OpenType.NOT_OPEN,
        Sensitivity.L4,
    )


def test_a_date_bound_is_written_for_its_instant_whatever_its_zone() -> None:
    from datetime import timedelta, timezone

    from connectors._ckan_solr import solr_date

    utc = datetime(2100, 1, 1, 8, 30, 0, 123456, tzinfo=UTC)
    beijing = utc.astimezone(timezone(timedelta(hours=8)))
    # Asked in either order (the written form is memoised per equal datetime).
    assert solr_date(beijing) == solr_date(utc) == "2100-01-01T08:30:00.123Z"
    assert solr_date(utc.replace(tzinfo=None, microsecond=0)) == "2100-01-01T08:30:00Z"
