"""The fault plumbing every simulator shares (simulators/faults.py): the ``huge`` answer is
the platform's own valid document, once or repeated, on every simulator."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
import rdflib

from simulators.catalogue import PlatformCatalogue, build_city_catalogue
from simulators.ckan_sim import CkanSimulator
from simulators.datajson_sim import DataJsonSimulator
from simulators.dcat_sim import DcatSimulator
from simulators.faults import Fault, SimulatedPlatform
from simulators.opendatasoft_sim import OpenDataSoftSimulator
from simulators.rest_sim import RestSimulator
from simulators.socrata_sim import SocrataSimulator

PORTAL = "city-open-portal"


@functools.cache
def small_platform() -> PlatformCatalogue:
    """The portal with five datasets: enough to repeat, small enough to parse quickly."""
    portal = build_city_catalogue().platforms[PORTAL]
    return replace(portal, packages=portal.packages[:5])


# (simulator, the path of its search answer, how many records the body holds)
SIMULATORS: dict[str, tuple[type[SimulatedPlatform], str, Callable[[Any], int]]] = {
    "ckan": (CkanSimulator, "/api/3/action/package_search", lambda b: len(b["result"]["results"])),
    "datajson": (DataJsonSimulator, "/data.json", lambda b: len(b["dataset"])),
    "opendatasoft": (
        OpenDataSoftSimulator,
        "/api/explore/v2.1/catalog/datasets",
        lambda b: len(b["results"]),
    ),
    "socrata": (SocrataSimulator, "/api/catalog/v1", lambda b: len(b["results"])),
    "rest": (RestSimulator, "/api/v1/resources", lambda b: len(b["data"]["list"])),
}


async def huge_answer(simulator: SimulatedPlatform, path: str, size: int) -> httpx.Response:
    simulator.fault.update({"mode": "huge", "huge_bytes": size})
    transport = httpx.ASGITransport(app=simulator.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
        return await client.get(path)


@pytest.mark.parametrize("name", list(SIMULATORS))
async def test_a_huge_answer_is_a_valid_document_repeating_the_records(name: str) -> None:
    simulator_class, path, records_in = SIMULATORS[name]
    platform = small_platform()
    once = await huge_answer(simulator_class(platform, Fault()), path, 1)
    assert once.status_code == 200
    records = records_in(once.json())
    assert records > 0
    # Three times the size of one copy: the records come again, joined into one document.
    thrice = await huge_answer(simulator_class(platform, Fault()), path, 3 * len(once.content))
    assert len(thrice.content) >= 3 * len(once.content) - 3 * len(b"]}")
    assert records_in(thrice.json()) >= 3 * records


def ground(graph: rdflib.Graph) -> set[Any]:
    return {t for t in graph if not any(isinstance(term, rdflib.BNode) for term in t)}


# rdflib's JSON-LD parser still builds a ConjunctiveGraph inside.
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize(
    ("ext", "syntax"), [("ttl", "turtle"), ("jsonld", "json-ld"), ("rdf", "xml")]
)
async def test_a_huge_rdf_answer_parses_to_the_same_graph(ext: str, syntax: str) -> None:
    platform = small_platform()
    once = await huge_answer(DcatSimulator(platform, Fault()), f"/catalog.{ext}", 1)
    thrice = await huge_answer(
        DcatSimulator(platform, Fault()), f"/catalog.{ext}", 3 * len(once.content)
    )
    assert len(thrice.content) > 2 * len(once.content)
    graph_once = rdflib.Graph().parse(data=once.content, format=syntax)
    graph_thrice = rdflib.Graph().parse(data=thrice.content, format=syntax)
    assert len(graph_once) > 0
    # Duplicate triples: the same graph (blank nodes aside, which each parse names anew).
    assert ground(graph_thrice) == ground(graph_once)


async def test_a_huge_answer_stops_at_shutdown() -> None:
    simulator = CkanSimulator(small_platform(), Fault())
    simulator.release()  # as at shutdown: the stream ends instead of writing on
    answer = await huge_answer(simulator, "/api/3/action/package_search", 10_000_000)
    assert answer.content.startswith(b'{"help":')
    assert len(answer.content) < 10_000_000
