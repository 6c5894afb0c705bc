"""The DCAT-AP connector: RDF parsing and mapping, hydra paging (respx, no network)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError

from connectors.dcat import (
    DcatConnector,
    DcatOptions,
    DcatPredicates,
    next_page,
    parse_dcat_document,
)
from connectors.sdk import (
    FatalError,
    HealthStatus,
    SearchQuery,
    Sort,
    SourceDefaults,
    SourceSettings,
)
from schema.model import (
    ContactPoint,
    Dataset,
    Department,
    Distribution,
    OpenType,
    Sensitivity,
    ShareType,
    Temporal,
    Translation,
    UpdateFrequency,
)

FIXTURES = Path(__file__).parent / "fixtures" / "dcat"
BASE = "http://data.hexi.example"
DEFAULTS = SourceDefaults(
    share_type=ShareType.CONDITIONAL, open_type=OpenType.NOT_OPEN, sensitivity=Sensitivity.L3
)
OWN_DEPARTMENT = Department(id="big-data", name="河西市大数据发展管理局")
SERIALIZATIONS = {
    "turtle": ("catalog.ttl", "text/turtle; charset=utf-8"),
    "json-ld": ("catalog.jsonld", "application/ld+json"),
    "rdf-xml": ("catalog.rdf", "application/rdf+xml"),
}

PREFIXES = """
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix cgw: <https://catalogue-gateway.example/ns#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix eu: <http://publications.europa.eu/resource/authority/> .
"""


def _eu(table: str, code: str) -> str:
    return f"http://publications.europa.eu/resource/authority/{table}/{code}"


def make_settings(**changes: object) -> SourceSettings:
    values: dict[str, object] = {
        "id": "hexi-dcat",
        "url": BASE,
        "defaults": DEFAULTS,
        "department": OWN_DEPARTMENT,
        "options": DcatOptions(),
    }
    values.update(changes)
    return SourceSettings(**values)  # type: ignore[arg-type]


def parse_turtle(body: str, **changes: object) -> list[Dataset]:
    return parse_dcat_document(
        (PREFIXES + body).encode(), "text/turtle", settings=make_settings(**changes)
    )


def one(body: str, **changes: object) -> Dataset:
    datasets = parse_turtle(body, **changes)
    assert len(datasets) == 1, datasets
    return datasets[0]


BUS_ROUTES = Dataset(
    source_id="hexi-dcat",
    local_id="330100/JTJ-00001",
    identifier="330100/JTJ-00001",
    title="公交线路",
    description="Bus routes of Hexi, with stops.",
    keywords=("公交", "线路", "bus"),
    themes=("transport", "urban-planning"),
    department=Department(id="transport", name="交通运输局"),
    issued=datetime(2020, 1, 15, tzinfo=UTC),
    modified=datetime(2026, 10, 1, 8, 30, tzinfo=timezone(timedelta(hours=8))),
    update_frequency=UpdateFrequency.MONTHLY,
    share_type=ShareType.CONDITIONAL,
    share_condition="需签订数据共享使用协议。",
    open_type=OpenType.CONDITIONAL,
    sensitivity=Sensitivity.L2,
    license="http://creativecommons.org/licenses/by/4.0/",
    landing_page="http://data.hexi.example/dataset/bus-routes.html",
    contact_point=ContactPoint(
        name="王芳", email="wangfang@jt.hexi.example", phone="+86-571-0000-1234"
    ),
    distributions=(
        Distribution(
            title="公交线路查询接口",
            format="API",
            media_type="application/json",
            access_url="http://data.hexi.example/api/bus-routes",
        ),
        Distribution(
            title="公交线路（CSV）",
            format="CSV",
            media_type="text/csv",
            access_url="http://data.hexi.example/dataset/bus-routes/resource/csv",
            download_url="http://data.hexi.example/files/bus-routes.csv",
            byte_size=20480,
        ),
    ),
    spatial="河西市",
    temporal=Temporal(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 12, 31, tzinfo=UTC)),
    # the other languages the literals carry, for clients asking with lang/Accept-Language
    language="zh-CN",
    translations=(
        Translation("de", title="Busrouten"),
        Translation(
            "en",
            title="Bus routes",
            description="Bus routes of Hexi, with stops.",
            keywords=("bus",),
        ),
        Translation("fr", description="Routes de bus"),
    ),
)

AIR_QUALITY = Dataset(
    source_id="hexi-dcat",
    local_id="http://data.hexi.example/dataset/air-quality",
    title="Air quality, hourly",
    department=OWN_DEPARTMENT,
    modified=datetime(2026, 9, 30, tzinfo=UTC),
    update_frequency=UpdateFrequency.HOURLY,
    share_type=DEFAULTS.share_type,
    open_type=OpenType.OPEN,
    sensitivity=DEFAULTS.sensitivity,
    distributions=(
        Distribution(format="JSON", access_url="http://data.hexi.example/api/air", byte_size=1024),
    ),
    translations=(Translation("ja", title="大気質"),),
)


# -- the three serializations ------------------------------------------------------------


@pytest.mark.parametrize("syntax", list(SERIALIZATIONS))
def test_each_serialization_parses_to_the_same_datasets(
    syntax: str, caplog: pytest.LogCaptureFixture
) -> None:
    name, media_type = SERIALIZATIONS[syntax]
    data = (FIXTURES / name).read_bytes()

    datasets = parse_dcat_document(data, media_type, settings=make_settings())

    assert datasets == [BUS_ROUTES, AIR_QUALITY]
    assert "has no dct:title" in caplog.text  # the untitled record was skipped, said so


@pytest.mark.parametrize("syntax", list(SERIALIZATIONS))
def test_an_unlabelled_document_is_recognised_by_its_content(syntax: str) -> None:
    name, _ = SERIALIZATIONS[syntax]
    data = (FIXTURES / name).read_bytes()

    assert parse_dcat_document(data, "text/plain", settings=make_settings()) == [
        BUS_ROUTES,
        AIR_QUALITY,
    ]


# -- multilingual literals ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("titles", "expected"),
    [
        ('"Bus routes"@en , "公交线路"@zh-Hans , "Bus"', "公交线路"),
        ('"Bus routes"@en , "Busrouten"@de , "Bus"', "Bus routes"),
        ('"Busrouten"@de , "Bus"', "Bus"),
        ('"Busrouten"@de', "Busrouten"),
        ('"  "@zh , "Bus routes"@en', "Bus routes"),
    ],
    ids=["zh-first", "then-en", "then-no-language", "then-any", "blank-ignored"],
)
def test_titles_prefer_chinese_then_english_then_untagged(titles: str, expected: str) -> None:
    dataset = one(f"<{BASE}/d> a dcat:Dataset ; dct:title {titles} .")
    assert dataset.title == expected


def test_the_language_preference_is_configurable() -> None:
    body = f'<{BASE}/d> a dcat:Dataset ; dct:title "公交线路"@zh , "Bus routes"@en .'
    dataset = one(body, options=DcatOptions(languages=("en", "zh")))
    assert dataset.title == "Bus routes"


def test_other_languages_become_translations_of_title_description_and_keywords() -> None:
    body = f"""<{BASE}/d> a dcat:Dataset ; dct:title "公交线路"@zh , "Bus routes"@en ;
      dct:description "全市公交线路。"@zh , "The city's bus routes."@en ;
      dcat:keyword "公交"@zh , "bus"@en , "route"@en ."""
    dataset = one(body)
    assert dataset.title == "公交线路" and dataset.language == "zh"
    assert dataset.translations == (
        Translation("en", "Bus routes", "The city's bus routes.", ("bus", "route")),
    )


def test_an_untagged_title_has_no_language() -> None:
    dataset = one(f'<{BASE}/d> a dcat:Dataset ; dct:title "Bus" .')
    assert dataset.language is None and dataset.translations == ()


def test_keywords_keep_every_language_preferred_ones_first() -> None:
    body = f"""<{BASE}/d> a dcat:Dataset ; dct:title "T" ;
      dcat:keyword "bus"@en , "公交"@zh , "bus"@en-GB ."""
    assert one(body).keywords == ("公交", "bus")


# -- EU vocabularies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "theme"),
    [
        ("TRAN", "transport"),
        ("HEAL", "health"),
        ("ENVI", "environment"),
        ("SOCI", "society"),
        ("TECH", "science"),
        ("XYZW", "xyzw"),
    ],
)
def test_eu_data_themes_become_readable_theme_ids(code: str, theme: str) -> None:
    body = f'<{BASE}/d> a dcat:Dataset ; dct:title "T" ; dcat:theme <{_eu("data-theme", code)}> .'
    assert one(body).themes == (theme,)


def test_other_themes_keep_their_last_path_segment() -> None:
    body = (
        f'<{BASE}/d> a dcat:Dataset ; dct:title "T" ; dcat:theme <{BASE}/group/public-safety/> ,'
        ' <http://vocab.example/themes#roads> , "literal-theme" .'
    )
    assert one(body).themes == ("literal-theme", "public-safety", "roads")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"<{_eu('frequency', 'ANNUAL_2')}>", UpdateFrequency.ANNUAL_2),
        (f"<{_eu('frequency', 'CONT')}>", UpdateFrequency.CONT),
        (f"<{_eu('frequency', 'TRIDECENNIAL')}>", UpdateFrequency.UNKNOWN),
        ('"每季度"', UpdateFrequency.QUARTERLY),
        ('"R/P1W"', UpdateFrequency.WEEKLY),
    ],
    ids=["annual-2", "continuous", "unknown-eu-code", "chinese", "iso-duration"],
)
def test_accrual_periodicity_maps_eu_frequencies(value: str, expected: UpdateFrequency) -> None:
    body = f'<{BASE}/d> a dcat:Dataset ; dct:title "T" ; dct:accrualPeriodicity {value} .'
    assert one(body).update_frequency is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<http://publications.europa.eu/resource/authority/access-right/PUBLIC>", OpenType.OPEN),
        (
            "<http://publications.europa.eu/resource/authority/access-right/RESTRICTED>",
            OpenType.CONDITIONAL,
        ),
        (
            "<http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC>",
            OpenType.NOT_OPEN,
        ),
        ('[ a dct:RightsStatement ; rdfs:label "public" ]', OpenType.OPEN),
        (
            "<http://publications.europa.eu/resource/authority/access-right/SENSITIVE>",
            DEFAULTS.open_type,
        ),
    ],
    ids=["public", "restricted", "non-public", "rights-statement-label", "unknown-default"],
)
def test_access_rights_map_to_the_open_type(value: str, expected: OpenType) -> None:
    body = f'<{BASE}/d> a dcat:Dataset ; dct:title "T" ; dct:accessRights {value} .'
    assert one(body).open_type is expected


def test_file_types_and_iana_media_types_are_read_from_their_uris() -> None:
    body = f"""<{BASE}/d> a dcat:Dataset ; dct:title "T" ;
      dcat:distribution
        [ dct:title "a" ; dct:format <{_eu("file-type", "GEOJSON")}> ;
          dcat:mediaType <https://www.iana.org/assignments/media-types/application/geo+json> ] ,
        [ dct:title "b" ; dct:format <http://www.iana.org/assignments/media-types/text/csv> ] ,
        [ dct:title "c" ; dct:format [ a dct:IMT ; rdfs:label "xlsx" ] ] ."""
    dists = one(body).distributions
    assert [(d.title, d.format, d.media_type) for d in dists] == [
        ("a", "GEOJSON", "application/geo+json"),
        ("b", "CSV", "text/csv"),  # format derived from the media type
        ("c", "XLSX", None),
    ]


def test_media_types_and_described_format_nodes_fill_both_fields() -> None:
    body = f"""<{BASE}/d> a dcat:Dataset ; dct:title "T" ;
      dcat:distribution
        [ dct:title "a" ; dcat:mediaType "text/csv" ] ,
        [ dct:title "b" ; dct:format "application/vnd.ms-excel" ] ,
        [ dct:title "c" ; dct:format <{BASE}/dist/c/format> ] ,
        [ dct:title "d" ; dct:format <{BASE}/dist/d/format> ] ,
        [ dct:title "e" ; dcat:downloadURL <{BASE}/files/e.json> ] ,
        [ dct:title "f" ; dct:format [ rdf:value "application/pdf" ] ] .
      <{BASE}/dist/c/format> a dct:IMT ; rdfs:label "ODS" ;
        rdf:value "application/vnd.oasis.opendocument.spreadsheet" ."""
    dists = one(body).distributions
    assert [(d.title, d.format, d.media_type) for d in dists] == [
        ("a", "CSV", "text/csv"),  # only a media type: the format it names
        ("b", "XLS", "application/vnd.ms-excel"),  # a media type in dct:format
        ("c", "ODS", "application/vnd.oasis.opendocument.spreadsheet"),  # a described URI
        ("d", None, None),  # an undescribed platform URI says nothing (not "FORMAT")
        ("e", "JSON", None),  # the download URL's extension
        ("f", "PDF", "application/pdf"),
    ]


# -- classes DCAT-AP has no property for ------------------------------------------------


def test_share_type_and_sensitivity_come_from_the_cgw_predicates() -> None:
    body = f"""<{BASE}/d> a dcat:Dataset ; dct:title "T" ;
      cgw:shareType cgw:UNCONDITIONAL ; cgw:sensitivity "L1" ; cgw:shareCondition "none" ."""
    dataset = one(body)
    assert (dataset.share_type, dataset.sensitivity, dataset.share_condition) == (
        ShareType.UNCONDITIONAL,
        Sensitivity.L1,
        "none",
    )


def test_class_predicates_are_configurable() -> None:
    body = f"""@prefix gx: <http://data.gov.example/ns#> .
      <{BASE}/d> a dcat:Dataset ; dct:title "T" ; gx:gxlx "不予共享" ; gx:mgjb "四级" ;
      cgw:shareType "无条件共享" ."""
    predicates = DcatPredicates(
        share_type=("http://data.gov.example/ns#gxlx",),
        sensitivity=("http://data.gov.example/ns#mgjb",),
    )
    dataset = one(body, options=DcatOptions(predicates=predicates))
    assert (dataset.share_type, dataset.sensitivity) == (ShareType.NOT_SHARED, Sensitivity.L4)


def test_records_that_state_no_class_get_the_source_defaults() -> None:
    dataset = one(f'<{BASE}/d> a dcat:Dataset ; dct:title "T" .')
    assert (dataset.share_type, dataset.open_type, dataset.sensitivity) == (
        DEFAULTS.share_type,
        DEFAULTS.open_type,
        DEFAULTS.sensitivity,
    )


def test_an_unknown_class_spelling_is_the_least_open_class_not_the_default(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dataset = one(
        f'<{BASE}/d> a dcat:Dataset ; dct:title "T" ; cgw:shareType "maybe" ; '
        f'cgw:sensitivity "L5" .'
    )
    assert DEFAULTS.share_type is not ShareType.NOT_SHARED
    assert (dataset.share_type, dataset.open_type, dataset.sensitivity) == (
        ShareType.NOT_SHARED,
        DEFAULTS.open_type,
        Sensitivity.L4,
    )
    assert "unrecognised share_type 'maybe'" in caplog.text


# -- missing and odd fields --------------------------------------------------------------


def test_a_blank_node_dataset_without_identifier_is_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = f"""[] a dcat:Dataset ; dct:title "no id" .
      [] a dcat:Dataset ; dct:title "has id" ; dct:identifier "X-1" .
      <{BASE}/d> a dcat:Dataset ; dct:title "by uri" ."""
    datasets = parse_turtle(body)
    assert {(d.local_id, d.title) for d in datasets} == {("X-1", "has id"), (f"{BASE}/d", "by uri")}
    assert "without dct:identifier or URI" in caplog.text


def test_a_title_only_dataset_maps_with_defaults_and_the_source_department() -> None:
    dataset = one(f'<{BASE}/d> a dcat:Dataset ; dct:title "T" .')
    assert dataset == Dataset(
        source_id="hexi-dcat",
        local_id=f"{BASE}/d",
        title="T",
        department=OWN_DEPARTMENT,
        share_type=DEFAULTS.share_type,
        open_type=DEFAULTS.open_type,
        sensitivity=DEFAULTS.sensitivity,
    )


def test_two_datasets_with_one_identifier_are_kept_once(caplog: pytest.LogCaptureFixture) -> None:
    body = f"""<{BASE}/a> a dcat:Dataset ; dct:title "A" ; dct:identifier "same" .
      <{BASE}/b> a dcat:Dataset ; dct:title "B" ; dct:identifier "same" ."""
    assert [d.local_id for d in parse_turtle(body)] == ["same"]
    assert "second dcat:Dataset" in caplog.text


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ('"2024-02-30"^^xsd:date', None),
        ('"yesterday"^^xsd:dateTime', None),
        ('"2024-05-06T07:08:09Z"', datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)),
        ('"2024-05-06T07:08:09"^^xsd:dateTime', datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)),
        ('"2021"^^xsd:gYear', datetime(2021, 1, 1, tzinfo=UTC)),
        ('"2021-05"^^xsd:gYearMonth', datetime(2021, 5, 1, tzinfo=UTC)),
        ('"2021-05-06+08:00"', datetime(2021, 5, 6, tzinfo=timezone(timedelta(hours=8)))),
        # rdflib normalises a typed xsd:date to its day, dropping the zone.
        ('"2021-05-06+08:00"^^xsd:date', datetime(2021, 5, 6, tzinfo=UTC)),
        ('"2021-05-06T25:00:00"^^xsd:dateTime', None),
    ],
    ids=[
        "impossible-date",
        "not-a-date",
        "untyped-utc",
        "naive-is-utc",
        "year",
        "year-month",
        "date-with-zone",
        "typed-date-with-zone",
        "impossible-time",
    ],
)
def test_dates_are_parsed_or_dropped_never_guessed(literal: str, expected: datetime | None) -> None:
    dataset = one(f'<{BASE}/d> a dcat:Dataset ; dct:title "T" ; dct:modified {literal} .')
    assert dataset.modified == expected


@pytest.mark.parametrize(
    ("literal", "expected"),
    [('"12"', 12), ('"12.0"^^xsd:decimal', 12), ('"12.5"', None), ('"-3"', None), ('"lots"', None)],
)
def test_byte_sizes_are_whole_non_negative_numbers(literal: str, expected: int | None) -> None:
    body = f"""<{BASE}/d> a dcat:Dataset ; dct:title "T" ;
      dcat:distribution [ dcat:accessURL <{BASE}/f> ; dcat:byteSize {literal} ] ."""
    assert one(body).distributions[0].byte_size == expected


def test_contact_point_telephone_may_be_a_vcard_value_node() -> None:
    body = f"""<{BASE}/d> a dcat:Dataset ; dct:title "T" ;
      dcat:contactPoint [ vcard:organization-name "Help desk"@en ;
                          vcard:hasEmail "desk@hexi.example" ;
                          vcard:hasTelephone [ vcard:hasValue <tel:12345> ] ] ."""
    assert one(body).contact_point == ContactPoint("Help desk", "desk@hexi.example", "12345")


def test_publisher_without_notation_uses_its_uri_last_segment_and_blank_ones_their_name() -> None:
    body = f"""<{BASE}/a> a dcat:Dataset ; dct:title "A" ;
        dct:publisher <{BASE}/organization/Civil%20Affairs/> .
      <{BASE}/organization/Civil%20Affairs/> foaf:name "民政局"@zh .
      <{BASE}/b> a dcat:Dataset ; dct:title "B" ;
        dct:publisher [ foaf:name "Market Bureau"@en ] ."""
    departments = {d.title: d.department for d in parse_turtle(body)}
    assert departments == {
        "A": Department(id="civil-affairs", name="民政局"),
        "B": Department(id="market-bureau", name="Market Bureau"),
    }


def test_licence_falls_back_to_the_distributions_and_spatial_to_a_uri() -> None:
    body = f"""<{BASE}/d> a dcat:Dataset ; dct:title "T" ;
      dct:spatial <http://sws.geonames.org/1808926/> ;
      dcat:distribution [ dcat:accessURL <{BASE}/f> ;
                          dct:license <http://opendefinition.org/od/cc-by> ] ."""
    dataset = one(body)
    assert (dataset.license, dataset.spatial) == (
        "http://opendefinition.org/od/cc-by",
        "http://sws.geonames.org/1808926/",
    )


# -- malformed documents -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "media_type", "reason"),
    [
        (
            b"<http://x/d> a <http://www.w3.org/ns/dcat#Dataset> ;"
            b' <http://purl.org/dc/terms/title> "T',
            "text/turtle",
            "malformed Turtle",
        ),
        (b'{"@graph": [{"@id": "http://x/d", ', "application/ld+json", "malformed JSON-LD"),
        (
            b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            b"<rdf:Description",
            "application/rdf+xml",
            "malformed RDF/XML",
        ),
        (b"<!DOCTYPE html><html><body>login</body></html>", "text/html", "not RDF"),
        (b"<!DOCTYPE html><html><body>login</body></html>", "", "not RDF"),
        (b"\n<html><body>login</body></html>", "text/turtle", "an HTML page, not RDF"),
    ],
    ids=["turtle", "json-ld", "rdf-xml", "html", "unlabelled-html", "html-labelled-turtle"],
)
def test_malformed_documents_are_fatal_with_a_reason(
    data: bytes, media_type: str, reason: str
) -> None:
    with pytest.raises(FatalError) as caught:
        parse_dcat_document(data, media_type, settings=make_settings())
    assert reason in caught.value.message
    assert caught.value.source_id == "hexi-dcat"


def test_a_document_broken_after_valid_records_yields_no_partial_datasets() -> None:
    good = (FIXTURES / "catalog.ttl").read_bytes()
    with pytest.raises(FatalError, match="malformed Turtle"):
        parse_dcat_document(
            good + b'\n<http://x/z> a dcat:Dataset ; dct:title "Z',
            "text/turtle",
            settings=make_settings(),
        )


def test_a_remote_json_ld_context_is_refused_not_fetched() -> None:
    data = b'{"@context": "https://www.w3.org/ns/dcat3.jsonld", "@id": "http://x/d", "title": "T"}'
    with pytest.raises(FatalError, match="remote @context 'https://www.w3.org/ns/dcat3.jsonld'"):
        parse_dcat_document(data, "application/ld+json", settings=make_settings())


def test_a_configured_json_ld_context_is_used_instead_of_fetching() -> None:
    context = {
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "title": "http://purl.org/dc/terms/title",
        }
    }
    data = (
        b'{"@context": "https://ctx.example/dcat.jsonld", "@id": "http://x/d",'
        b' "@type": "dcat:Dataset", "title": "T"}'
    )
    options = DcatOptions(jsonld_contexts={"https://ctx.example/dcat.jsonld": context})
    datasets = parse_dcat_document(
        data, "application/ld+json", settings=make_settings(options=options)
    )
    assert [(d.local_id, d.title) for d in datasets] == [("http://x/d", "T")]


# -- hydra paging ------------------------------------------------------------------------


def test_next_page_reads_ckanext_dcat_literal_page_urls() -> None:
    body = (
        PREFIXES
        + """<http://cat.example/catalog.ttl?page=2> a hydra:PagedCollection ;
        hydra:nextPage "http://cat.example/catalog.ttl?page=3" ;
        hydra:next "http://cat.example/catalog.ttl?page=3" ;
        hydra:previousPage "http://cat.example/catalog.ttl?page=1" ;
        hydra:totalItems 283 ; hydra:itemsPerPage 100 ."""
    )
    assert next_page(body.encode(), "text/turtle") == "http://cat.example/catalog.ttl?page=3"


def test_next_page_reads_hydra_views_and_resolves_relative_urls() -> None:
    data = b"""{"@context": {"hydra": "http://www.w3.org/ns/hydra/core#"},
      "@id": "http://cat.example/datasets", "@type": "hydra:Collection",
      "hydra:view": {"@id": "/datasets?page=1", "@type": "hydra:PartialCollectionView",
                     "hydra:next": {"@id": "/datasets?page=2"}}}"""
    assert (
        next_page(data, "application/ld+json", base="http://cat.example/datasets")
        == "http://cat.example/datasets?page=2"
    )


def test_the_last_page_has_no_next_page() -> None:
    body = (
        PREFIXES
        + """<http://cat.example/catalog.ttl?page=3> a hydra:PagedCollection ;
        hydra:previousPage "http://cat.example/catalog.ttl?page=2" ; hydra:totalItems 283 ."""
    )
    assert next_page(body.encode(), "text/turtle") is None


# -- the connector: loading, paging, revalidation (respx) ---------------------------------

CATALOGUE = f"{BASE}/catalog.ttl"


def page_url(n: int) -> str:
    return CATALOGUE if n == 1 else f"{CATALOGUE}?page={n}"


def catalogue_page(n: int, titles: list[str], *, next_page: str | None = None) -> str:
    """One ckanext-dcat style page: datasets, and paging with literal URLs."""
    records = "\n".join(
        f'<{BASE}/dataset/{title}> a dcat:Dataset ; dct:identifier "{title}" ;'
        f' dct:title "{title}"@en ; dct:modified "2026-0{n}-01"^^xsd:date .'
        for title in titles
    )
    paging = f"<{page_url(n)}> a hydra:PagedCollection ; hydra:totalItems 5 ; hydra:itemsPerPage 2"
    if next_page:
        paging += f' ; hydra:nextPage "{next_page}" ; hydra:next "{next_page}"'
    return PREFIXES + records + "\n" + paging + " .\n"


PAGES = {
    1: catalogue_page(1, ["a1", "a2"], next_page=page_url(2)),
    2: catalogue_page(2, ["b1", "b2"], next_page=page_url(3)),
    3: catalogue_page(3, ["c1"]),
}


def make_connector(client: httpx.AsyncClient, **options: Any) -> DcatConnector:
    return DcatConnector(make_settings(options=DcatOptions(**options)), client)


def serve_pages(router: respx.MockRouter, pages: Mapping[int, str]) -> dict[int, respx.Route]:
    """Each page with an ETag, answering 304 to a matching If-None-Match."""
    routes = {}
    # respx matches query params by inclusion: the pages that have one are routed first.
    for n, text in sorted(pages.items(), reverse=True):
        etag = f'"page-{n}-{hash(text) & 0xFFFF:x}"'

        def answer(request: httpx.Request, text: str = text, etag: str = etag) -> httpx.Response:
            if request.headers.get("if-none-match") == etag:
                return httpx.Response(304, headers={"ETag": etag})
            return httpx.Response(
                200, text=text, headers={"ETag": etag, "Content-Type": "text/turtle"}
            )

        params = {} if n == 1 else {"page": str(n)}
        routes[n] = router.get(CATALOGUE, params=params).mock(side_effect=answer)
    return dict(sorted(routes.items()))


async def test_hydra_pages_are_followed_to_the_end(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    routes = serve_pages(router, PAGES)
    connector = make_connector(client)

    page = await connector.search(SearchQuery(limit=10, sort=Sort.TITLE_ASC))

    assert [d.local_id for d in page.datasets] == ["a1", "a2", "b1", "b2", "c1"]
    assert page.total == 5
    assert [route.call_count for route in routes.values()] == [1, 1, 1]
    assert routes[1].calls.last.request.headers["accept"] == "text/turtle"


async def test_unchanged_pages_are_revalidated_not_reparsed(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    routes = serve_pages(router, PAGES)
    connector = make_connector(client)
    first = await connector.refresh()

    again = await connector.refresh()

    assert again is first  # every page answered 304: the index is kept
    assert all(route.call_count == 2 for route in routes.values())
    assert all("if-none-match" in r.calls.last.request.headers for r in routes.values())


async def test_a_changed_page_reloads_the_catalogue_keeping_unchanged_pages(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    serve_pages(router, PAGES)
    connector = make_connector(client)
    await connector.refresh()
    router.routes.clear()
    serve_pages(router, {**PAGES, 2: catalogue_page(2, ["b1", "b3"], next_page=page_url(3))})

    index = await connector.refresh()

    assert sorted(d.local_id for d in index.datasets) == ["a1", "a2", "b1", "b3", "c1"]


async def test_paging_that_loops_back_stops_with_a_warning(
    router: respx.MockRouter, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    serve_pages(router, {1: PAGES[1], 2: catalogue_page(2, ["b1"], next_page=page_url(1))})

    index = await make_connector(client).refresh()

    assert sorted(d.local_id for d in index.datasets) == ["a1", "a2", "b1"]
    assert "loops back" in caplog.text


async def test_paging_stops_at_max_pages(
    router: respx.MockRouter, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    routes = serve_pages(router, PAGES)

    index = await make_connector(client, max_pages=2).refresh()

    assert len(index) == 4
    assert routes[3].call_count == 0
    assert "max_pages=2" in caplog.text


async def test_a_next_page_on_another_host_is_not_followed(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    serve_pages(router, {1: catalogue_page(1, ["a1"], next_page="http://169.254.169.254/x")})
    connector = make_connector(client)

    with pytest.raises(FatalError, match="leaves the catalogue's host"):
        await connector.search(SearchQuery())
    health = await connector.check()
    assert health.status is HealthStatus.DOWN
    assert "leaves the catalogue's host" in (health.message or "")


async def test_a_malformed_later_page_fails_the_load_without_partial_records(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    serve_pages(router, {**PAGES, 2: PAGES[2][:-40]})
    connector = make_connector(client)

    with pytest.raises(FatalError, match="malformed Turtle"):
        await connector.search(SearchQuery())
    assert connector.last_error is not None


async def test_the_catalogue_path_names_the_syntax_and_the_accept_header(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    body = (FIXTURES / "catalog.jsonld").read_bytes()
    route = router.get(f"{BASE}/dcat/catalog.jsonld").mock(
        return_value=httpx.Response(200, content=body, headers={"Content-Type": "text/plain"})
    )
    connector = make_connector(client, catalogue_path="dcat/catalog.jsonld")

    assert await connector.get("330100/JTJ-00001") == BUS_ROUTES
    assert await connector.get("330100/HBJ-00099") is None  # skipped: no title
    assert route.calls.last.request.headers["accept"] == "application/ld+json"


async def test_an_empty_path_means_the_url_is_the_catalogue_and_unknown_syntax_is_sniffed(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    route = router.get(f"{BASE}/export").mock(
        return_value=httpx.Response(200, content=(FIXTURES / "catalog.rdf").read_bytes())
    )
    settings = make_settings(url=f"{BASE}/export", options=DcatOptions(catalogue_path=""))
    connector = DcatConnector(settings, client)

    departments = await connector.departments()

    assert departments == [
        Department(id="big-data", name="河西市大数据发展管理局"),
        Department(id="transport", name="交通运输局"),
    ]
    assert "text/turtle" in route.calls.last.request.headers["accept"]


def test_options_reject_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        DcatOptions.model_validate({"catalog_path": "/x.ttl"})
