"""CKAN translations: ckanext-fluent fields, `title_<lang>` / `notes_<lang>` extras."""

from __future__ import annotations

import copy

import respx

from connectors.ckan import CkanConnector
from connectors.sdk import SearchQuery
from schema.model import Translation
from tests.connectors.test_ckan import (
    connector,
    load,
    make_connector,
    mock_search,
    search_envelope,
)


def package(**fields: object) -> dict[str, object]:
    pkg: dict[str, object] = copy.deepcopy(load("package_search.json")["result"]["results"][0])
    pkg.update(fields)
    return pkg


async def test_fluent_fields_become_translations(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    record = package(
        title_translated={"zh": "公交线路与站点", "en": "Bus routes and stops", "fr": " "},
        notes_translated={"en": "<p>Routes and <b>stops</b>.</p>"},
        keywords={"en": ["bus", "bus", " routes "], "fr": ["autobus"]},
    )
    mock_search(router, search_envelope([record]))
    [dataset] = (await connector.search(SearchQuery())).datasets
    assert dataset.translations == (
        Translation("en", "Bus routes and stops", "Routes and stops.", ("bus", "routes")),
        Translation("fr", keywords=("autobus",)),
        Translation("zh", "公交线路与站点"),
    )
    assert dataset.title == "公交线路与站点"  # the package's own title stays the title


async def test_language_suffixed_extras_become_translations(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    record = package(
        extras=[
            {"key": "title_en", "value": "Bus routes"},
            {"key": "notes_en", "value": "The city's bus routes."},
            {"key": "description_pt_BR", "value": "Linhas de ônibus"},
            {"key": "title_internal", "value": "not a language"},
        ]
    )
    mock_search(router, search_envelope([record]))
    [dataset] = (await connector.search(SearchQuery())).datasets
    assert dataset.translations == (
        Translation("en", "Bus routes", "The city's bus routes."),
        Translation("pt-BR", description="Linhas de ônibus"),
    )


async def test_a_package_without_translations_has_none(
    router: respx.MockRouter, connector: CkanConnector
) -> None:
    mock_search(router)
    page = await connector.search(SearchQuery())
    assert all(d.translations == () for d in page.datasets)


__all__ = ["connector", "make_connector"]  # fixtures reused from test_ckan
