"""The caller's visibility carries a grade constraint (CORE: own department only,
IMPORTANT: never public); each connector pushes it down exactly where it can."""

from __future__ import annotations

import httpx
import respx

from connectors.ckan import CkanConnector, CkanOptions
from connectors.opendatasoft import OpenDataSoftConnector, OpenDataSoftOptions
from connectors.rest import RestConnector
from connectors.rest_config import RestOptions
from connectors.sdk import DatasetFilter, SearchQuery, SourceSettings
from schema.model import Grade, OpenType, Sensitivity
from tests.connectors import test_ckan, test_opendatasoft, test_rest

PUBLIC = DatasetFilter(
    open_types=(OpenType.OPEN,), max_sensitivity=Sensitivity.L1, grades=(Grade.GENERAL,)
)
GRANTED = DatasetFilter(max_sensitivity=Sensitivity.L2, grades=(Grade.IMPORTANT, Grade.GENERAL))


async def test_ckan_excludes_stricter_grades_under_every_key_exactly(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    settings = test_ckan.make_settings(options=test_ckan.EXACT_OPTIONS)
    route = test_ckan.mock_search(router, test_ckan.search_envelope([], count=0))
    page = await CkanConnector(settings, client).search(SearchQuery(any_of=(PUBLIC,)))
    fq = test_ckan.sent(route)["fq"]
    assert '-extras_grade:("core" OR "CORE" OR "核心数据"' in fq
    assert "-extras_数据分级:(" in fq and '"IMPORTANT"' in fq
    assert '"GENERAL"' not in fq and '"一般数据"' not in fq
    assert page.any_of_applied


async def test_ckan_on_stock_solr_only_narrows_by_grade(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    settings = test_ckan.make_settings(options=CkanOptions())
    route = test_ckan.mock_search(router, test_ckan.search_envelope([], count=0))
    page = await CkanConnector(settings, client).search(SearchQuery(any_of=(GRANTED,)))
    assert "extras_grade" in test_ckan.sent(route)["fq"]
    assert not page.any_of_applied


def rest_connector(client: httpx.AsyncClient, options: RestOptions | None = None) -> RestConnector:
    settings = SourceSettings(
        id="health-rest",
        url=test_rest.BASE + "/",
        defaults=test_rest.DEFAULTS,
        options=options or test_rest.demo_options(),
    )
    return RestConnector(settings, client)


async def test_ods_excludes_stricter_grades_in_the_where_clause(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    options = OpenDataSoftOptions(custom_keys=test_opendatasoft.SINGLE_KEYS, classes_queryable=True)
    queryable = OpenDataSoftConnector(test_opendatasoft.make_settings(options=options), client)
    route = test_opendatasoft.mock_search(router)
    await queryable.search(SearchQuery(any_of=(GRANTED,)))
    where = test_opendatasoft.sent(route)["where"]
    assert '(custom.grade is null OR NOT (custom.grade="core"' in where
    assert '"IMPORTANT"' not in where and '"重要数据"' not in where


async def test_rest_names_the_grades_to_leave_out_and_keeps_counts_exact(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    route = test_rest.mock_listing(router, test_rest.listing([]))
    page = await rest_connector(client).search(SearchQuery(any_of=(PUBLIC,)))
    left_out = set(test_rest.sent(route)["excludeGrade"].split(","))
    assert left_out == {"CORE", "核心数据", "IMPORTANT", "重要数据"}
    assert page.any_of_applied


async def test_rest_without_a_grade_field_treats_every_record_as_general(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    document = test_rest.inline_mapping()
    del document["fields"]["grade"], document["filters"]["grades"]
    options = RestOptions.model_validate(document)
    route = test_rest.mock_listing(router, test_rest.listing([]))
    page = await rest_connector(client, options).search(SearchQuery(any_of=(PUBLIC,)))
    assert "excludeGrade" not in test_rest.sent(route)
    assert page.any_of_applied
