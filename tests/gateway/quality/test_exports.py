"""Catalogue exports: the caller's visible catalogue (as GraphQL decides it), in DCAT-AP 3
(SHACL-valid), Project Open Data 1.1 (schema-valid) and CSV, audited."""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pyshacl import validate
from rdflib import Graph
from rdflib.namespace import DCTERMS
from referencing import Registry, Resource

from gateway.audit import AuditLog
from tests.gateway.conftest import GatewayFactory, asgi_client
from tests.gateway.invariant_catalogue import (
    ANALYST,
    ANONYMOUS,
    CALLERS,
    POLICY,
    SOURCES,
    As,
    assert_absent,
    gid,
)

STANDARDS = Path(__file__).parent / "standards"
SHAPES = Graph().parse(STANDARDS / "dcat-ap-3.0.1-SHACL.ttl")
PATHS = ["/catalog.ttl", "/catalog.jsonld", "/data.json", "/catalog.csv"]


def pod_validator() -> jsonschema.Draft4Validator:
    catalog = json.loads((STANDARDS / "pod-1.1-non-federal-catalog.json").read_text("utf-8"))
    dataset = json.loads((STANDARDS / "pod-1.1-non-federal-dataset.json").read_text("utf-8"))
    base = "https://project-open-data.cio.gov/v1.1/schema/"
    registry: Registry[Any] = Registry().with_resources(
        [
            (base + "catalog.json", Resource.from_contents(catalog)),
            (base + "dataset-non-federal.json", Resource.from_contents(dataset)),
        ]
    )
    return jsonschema.Draft4Validator(catalog, registry=registry)


async def export(make_gateway: GatewayFactory, path: str, caller: As = ANONYMOUS) -> Any:
    gateway = make_gateway(SOURCES, policy=POLICY)
    async with asgi_client(gateway) as client:
        return await client.get(path, headers=dict(caller.headers))


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.name)
@pytest.mark.parametrize("path", PATHS)
async def test_each_export_holds_exactly_what_the_caller_may_see(
    make_gateway: GatewayFactory, path: str, caller: As
) -> None:
    response = await export(make_gateway, path, caller)
    assert response.status_code == 200
    visible = caller.visible()
    assert visible, "every caller sees something here"
    for dataset in visible:
        assert f'"{dataset.identifier}"' in response.text or (
            f",{dataset.identifier}," in response.text
        ), dataset.local_id
    assert_absent(response.text, caller.hidden())


async def test_masked_fields_and_urls_above_the_privilege_stay_out(
    make_gateway: GatewayFactory,
) -> None:
    # The analyst's staff grant masks contact and landing page of other departments' data.
    text = (await export(make_gateway, "/catalog.ttl", ANALYST)).text
    assert "roadworks@mail.example" not in text and "roadworks.example/landing" not in text
    assert "clinics@mail.example" in text  # own department: nothing masked


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/catalog.ttl", "text/turtle"),
        ("/catalog.jsonld", "application/ld+json"),
        ("/data.json", "application/json"),
        ("/catalog.csv", "text/csv"),
    ],
)
async def test_exports_answer_their_media_types(
    make_gateway: GatewayFactory, path: str, media_type: str
) -> None:
    response = await export(make_gateway, path)
    assert response.headers["content-type"].startswith(media_type)


@pytest.mark.parametrize(
    ("path", "syntax"), [("/catalog.ttl", "turtle"), ("/catalog.jsonld", "json-ld")]
)
async def test_the_rdf_exports_pass_the_dcat_ap_3_shapes(
    make_gateway: GatewayFactory, path: str, syntax: str
) -> None:
    response = await export(make_gateway, path, ANALYST)
    with warnings.catch_warnings():  # rdflib's JSON-LD parser uses its own deprecated class
        warnings.simplefilter("ignore", DeprecationWarning)
        data = Graph().parse(data=response.text, format=syntax)
    conforms, _, report = validate(data, shacl_graph=SHAPES)
    assert conforms, report
    assert len(list(data.subjects(predicate=None, object=None))) > 20


async def test_the_shapes_do_catch_a_dataset_without_description(
    make_gateway: GatewayFactory,
) -> None:
    response = await export(make_gateway, "/catalog.ttl", ANALYST)
    data = Graph().parse(data=response.text, format="turtle")
    data.remove((None, DCTERMS.description, None))
    conforms, _, report = validate(data, shacl_graph=SHAPES)
    assert not conforms and "description" in report


async def test_data_json_validates_against_the_pod_1_1_schema(
    make_gateway: GatewayFactory,
) -> None:
    response = await export(make_gateway, "/data.json", ANALYST)
    document = response.json()
    pod_validator().validate(document)
    assert {d["identifier"] for d in document["dataset"]} == {
        d.identifier for d in ANALYST.visible()
    }
    broken = {**document, "dataset": [{**document["dataset"][0], "accessLevel": "open"}]}
    with pytest.raises(jsonschema.ValidationError):
        pod_validator().validate(broken)


async def test_csv_has_a_bom_a_header_and_a_row_per_dataset(make_gateway: GatewayFactory) -> None:
    response = await export(make_gateway, "/catalog.csv", ANALYST)
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "id",
        "identifier",
        "title",
        "department",
        "source",
        "modified",
        "update_frequency",
        "share_type",
        "open_type",
        "formats",
        "landing_page",
    ]
    assert sorted(r[0] for r in rows[1:]) == sorted(gid(d) for d in ANALYST.visible())


async def test_a_wrong_api_key_is_refused_before_anything_is_exported(
    make_gateway: GatewayFactory,
) -> None:
    response = await export(
        make_gateway, "/data.json", As("nobody", ANONYMOUS.who, {"x-api-key": "wrong"})
    )
    assert response.status_code == 401
    assert "busstops" not in response.text


async def test_an_export_is_audited_with_every_dataset_id_sent(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    gateway = make_gateway(SOURCES, policy=POLICY)
    gateway.audit = AuditLog(tmp_path / "audit.log", fsync="never")
    await gateway.audit.open()
    async with asgi_client(gateway) as client:
        response = await client.get("/catalog.csv", headers=dict(ANALYST.headers))
    await gateway.audit.aclose()
    assert response.status_code == 200
    (record,) = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert record["caller"] == "analyst" and record["operation"] == "export /catalog.csv"
    assert sorted(record["dataset_ids"]) == sorted(
        f"{d.source_id}/{d.local_id}" for d in ANALYST.visible()
    )
    assert record["outcome"] == "ok"


async def test_a_source_failing_is_named_in_a_header_and_the_rest_is_exported(
    make_gateway: GatewayFactory,
) -> None:
    from tests.gateway.conftest import make_dataset
    from tests.gateway.federation.test_federation import CrashingConnector

    gateway = make_gateway(
        {"ok": [make_dataset("ok", 1)], "bad": [make_dataset("bad", 1)]},
        connector_class=CrashingConnector,
    )
    async with asgi_client(gateway) as client:
        response = await client.get("/catalog.csv")
    assert response.status_code == 200
    assert response.headers["x-catalogue-incomplete"] == "bad"
    assert gid(make_dataset("ok", 1)) in response.text
    assert "secret internal detail" not in response.text
