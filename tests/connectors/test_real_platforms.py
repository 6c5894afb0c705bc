"""The connectors against real platform answers (``fixtures/real/``, see its README).

Each test replays what a public platform published through the connector's public path
(an ``httpx`` mock transport answering the platform's URL) and checks the fields a real
catalogue loses most easily: formats, media types, frequencies, contacts, keywords.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from connectors.ckan import CkanConnector, CkanOptions
from connectors.datajson import DataJsonConnector, DataJsonMapper, DataJsonOptions
from connectors.dcat import DcatConnector, DcatOptions, parse_dcat_document
from connectors.file import FileConnector, FileOptions
from connectors.sdk import FatalError, HealthStatus, SearchQuery, SourceSettings
from connectors.socrata import SocrataConnector, SocrataOptions
from schema.model import ContactPoint, Department, OpenType, UpdateFrequency

REAL = Path(__file__).parent / "fixtures" / "real"


def real_bytes(name: str) -> bytes:
    return (REAL / name).read_bytes()


def real_json(name: str) -> Any:
    return json.loads(real_bytes(name))


# -- data.json (US agencies) -------------------------------------------------------------

AGENCY = "https://www.usda.gov"


def agency(client: httpx.AsyncClient, url: str = AGENCY) -> DataJsonConnector:
    return DataJsonConnector(SourceSettings(id="usda", url=url, options=DataJsonOptions()), client)


async def test_an_agency_data_json_maps_every_record(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    router.get(f"{AGENCY}/data.json").respond(content=real_bytes("datajson/usda.gov.data.json"))
    page = await agency(client).search(SearchQuery(limit=10))
    assert page.total == 3
    logs = await agency(client).get("USDA-DM-002")
    assert logs is not None
    assert logs.department == Department("department-of-agriculture", "Department of Agriculture")
    assert [(d.format, d.media_type) for d in logs.distributions] == [
        ("XLS", "application/vnd.ms-excel")  # the format derived from the media type
    ]


async def test_lone_surrogate_escapes_cost_only_their_records_repair_not_the_catalogue(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    body = real_bytes("datajson/usda.gov.lone-surrogates.data.json")
    router.get(f"{AGENCY}/data.json").respond(content=body)
    connector = agency(client)
    page = await connector.search(SearchQuery(limit=10))
    assert page.total == 3  # not 0: the other records serve, and this one is repaired
    logs = await connector.get("USDA-DM-002")
    assert logs is not None
    assert logs.title == "Department of Agriculture’s Congressional Logs for Fiscal Year 2014"
    assert logs.description is not None and "Department of Agriculture – 2014." in (
        logs.description
    )
    health = await connector.check()  # the report: which record, which fields
    assert health.status is HealthStatus.UP
    assert health.message is not None
    assert "1 record(s) with problems" in health.message
    assert "'USDA-DM-002'" in health.message and "description, title" in health.message
    # The repaired records serialize (orjson refuses lone surrogates on the way out too).
    assert json.dumps(logs.title, ensure_ascii=False).encode("utf-8")


async def test_a_byte_that_is_not_utf8_is_read_as_cp1252_and_reported(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    body = real_bytes("datajson/usda.gov.data.json").replace(
        b"Congressional Logs for Fiscal", b"Congressional Logs \x96 Fiscal"
    )
    router.get(f"{AGENCY}/data.json").respond(content=body)
    connector = agency(client)
    logs = await connector.get("USDA-DM-002")
    assert logs is not None and logs.title == (
        "Department of Agriculture Congressional Logs – Fiscal Year 2014"
    )
    assert (await connector.search(SearchQuery())).total == 3


def test_a_malformed_data_json_says_where() -> None:
    body = real_bytes("datajson/usda.gov.data.json")
    broken = body.replace(b'"accessLevel": "public",', b'"accessLevel": "public"', 1)
    mapper = DataJsonMapper(SourceSettings(id="usda", url=AGENCY))
    with pytest.raises(FatalError) as caught:
        mapper.parse(broken)
    line = body[: body.index(b'"accessLevel": "public",')].count(b"\n") + 2
    assert f"invalid JSON in data.json at line {line}, column" in caught.value.message
    assert "delimiter" in caught.value.message


async def test_a_catalogue_file_with_lone_surrogates_serves_every_record(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_bytes(real_bytes("datajson/usda.gov.lone-surrogates.data.json"))
    async with httpx.AsyncClient() as client:
        connector = FileConnector(
            SourceSettings(id="file", url=path.as_uri(), options=FileOptions()), client
        )
        assert (await connector.search(SearchQuery())).total == 3
        health = await connector.check()
    assert health.message is not None and "USDA-DM-002" in health.message


async def test_a_socrata_generated_data_json_gets_formats_from_media_types(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    router.get("https://data.ny.gov/data.json").respond(
        content=real_bytes("datajson/data.ny.gov.data.json")
    )
    [loans] = (await agency(client, "https://data.ny.gov/data.json").search(SearchQuery())).datasets
    assert [d.format for d in loans.distributions] == ["CSV", "RDF", "JSON", "XML"]


# -- DCAT (datos.gob.es, GovData) ---------------------------------------------------------


def test_datos_gob_es_format_node_frequency_and_publisher() -> None:
    settings = SourceSettings(id="es", url="https://datos.gob.es")
    [study] = parse_dcat_document(
        real_bytes("dcat/datos-gob-es-madrid.ttl"), "text/turtle", settings=settings
    )
    [dist] = study.distributions
    # dct:format names a URI node described as [ a dct:IMT; rdfs:label; rdf:value ].
    assert (dist.format, dist.media_type) == ("XLS", "application/vnd.ms-excel")
    # dct:accrualPeriodicity -> dct:Frequency -> rdf:value -> time:DurationDescription.
    assert study.update_frequency is UpdateFrequency.ANNUAL
    assert study.department == Department("l01280796", "Ayuntamiento de Madrid")
    assert dist.byte_size == 43008


def test_govdata_distributions_keep_formats_and_media_types() -> None:
    settings = SourceSettings(id="de", url="https://www.govdata.de")
    [services] = parse_dcat_document(
        real_bytes("dcat/govdata-rostock.rdf"), "application/rdf+xml", settings=settings
    )
    pairs = {(d.format, d.media_type) for d in services.distributions}
    assert ("GEOJSON", "application/geo+json") in pairs
    assert ("CSV", "text/csv") in pairs
    assert ("WMS", None) in pairs
    assert services.open_type is OpenType.OPEN
    assert services.contact_point == ContactPoint(
        name="Hanse- und Universitätsstadt Rostock – Kataster-, Vermessungs- und Liegenschaftsamt",
        email="geodienste@rostock.de",
    )


@pytest.mark.parametrize(
    ("url", "options", "fetched"),
    [
        ("http://cat.test/catalog.ttl", {}, "http://cat.test/catalog.ttl"),
        ("http://cat.test/exports/es.ttl", {}, "http://cat.test/exports/es.ttl"),
        ("http://cat.test/api?format=ttl", {}, "http://cat.test/api?format=ttl"),
        ("http://cat.test", {}, "http://cat.test/catalog.ttl"),
        ("http://cat.test/portal/", {}, "http://cat.test/portal/catalog.ttl"),
        ("http://cat.test/x.ttl", {"catalogue_path": "/y.ttl"}, "http://cat.test/x.ttl/y.ttl"),
        ("http://cat.test/x.ttl", {"catalogue_path": ""}, "http://cat.test/x.ttl"),
    ],
    ids=["names-the-document", "any-rdf-name", "with-a-query", "a-site", "a-folder",
         "explicit-path-joined", "explicit-empty-path"],
)  # fmt: skip
async def test_a_dcat_url_naming_an_rdf_document_is_used_as_it_is(
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    url: str,
    options: dict[str, Any],
    fetched: str,
) -> None:
    route = router.get(fetched).respond(
        content=real_bytes("dcat/datos-gob-es-madrid.ttl"),
        headers={"content-type": "text/turtle"},
    )
    settings = SourceSettings(id="es", url=url, options=DcatOptions(**options))
    connector = DcatConnector(settings, client)
    assert connector.catalogue_url == fetched
    assert (await connector.search(SearchQuery())).total == 1
    assert route.call_count == 1


# -- Socrata (data.transportation.gov) ----------------------------------------------------


async def test_socrata_common_core_keys_of_a_real_domain(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    site = "https://data.transportation.gov"
    answer = real_json("socrata/data-transportation-gov-catalog.json")
    answer["resultSetSize"] = len(answer["results"])  # the capture kept only the results
    router.get(f"{site}/api/catalog/v1").respond(json=answer)
    connector = SocrataConnector(
        SourceSettings(id="dot", url=site, options=SocrataOptions()), client
    )
    signals, tampa = (await connector.search(SearchQuery())).datasets
    assert signals.update_frequency is UpdateFrequency.CONT  # Update-Frequency R/PT0.1S
    assert tampa.update_frequency is UpdateFrequency.DAILY  # R/P1D
    assert signals.spatial == "Anthem, Arizona"  # Geographic-Coverage
    assert signals.temporal is not None  # Temporal-Applicability 2014-10-21/2015-03-04
    assert signals.temporal.start is not None and signals.temporal.start.date().isoformat() == (
        "2014-10-21"
    )
    assert signals.temporal.end is not None and signals.temporal.end.date().isoformat() == (
        "2015-03-04"
    )
    assert signals.contact_point is not None and signals.contact_point.name == "Saleh Mousa"


# -- CKAN (HDX, open.canada.ca) -----------------------------------------------------------

CKAN = "https://data.example.org"


async def ckan_record(
    router: respx.MockRouter, client: httpx.AsyncClient, package: dict[str, Any]
) -> Any:
    router.get(f"{CKAN}/api/3/action/package_search").respond(
        json={"success": True, "result": {"count": 1, "results": [package]}}
    )
    connector = CkanConnector(SourceSettings(id="ckan", url=CKAN, options=CkanOptions()), client)
    [dataset] = (await connector.search(SearchQuery())).datasets
    return dataset


async def test_hdx_update_frequency_in_days_and_a_user_id_maintainer(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    package = real_json("ckan/hdx-unesco-data-for-zimbabwe.json")
    assert package["data_update_frequency"] == "90" and package["maintainer_email"] is None
    dataset = await ckan_record(router, client, package)
    assert dataset.update_frequency is UpdateFrequency.QUARTERLY
    # "maintainer" is the id of an HDX user, not the name of a person to contact.
    assert dataset.contact_point is None
    assert "education" in dataset.keywords


async def test_open_canada_bilingual_keywords_objects_are_keywords(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    package = real_json("ckan/open-canada-584a6090.json")
    assert package["tags"] == [] and package["keywords"] == {"fr": ["statcan"], "en": ["statcan"]}
    dataset = await ckan_record(router, client, package)
    assert dataset.keywords == ("statcan",)
    assert dataset.contact_point == ContactPoint(email="open-ouvert@tbs-sct.gc.ca")


async def test_ckanext_scheming_top_level_fields_are_read(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    # The open.canada.ca record with what its dataset schema writes at the top level.
    package = real_json("ckan/open-canada-584a6090.json") | {
        "keywords": {"en": ["science", "spending"], "fr": ["sciences", "dépenses"]},
        "update_frequency": "Semi-annually",
        "contact_name": "Open Government",
    }
    dataset = await ckan_record(router, client, package)
    assert dataset.update_frequency is UpdateFrequency.ANNUAL_2
    assert dataset.keywords == ("science", "spending", "sciences", "dépenses")
    assert dataset.contact_point == ContactPoint(email="open-ouvert@tbs-sct.gc.ca")
    del package["maintainer_email"]
    dataset = await ckan_record(router, client, package)
    assert dataset.contact_point == ContactPoint(name="Open Government")
