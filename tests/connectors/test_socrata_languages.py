"""Socrata translations: custom metadata fields named `<Fieldset>_Title-<LANG>`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import respx

from connectors import _socrata_records as read
from connectors.sdk import SearchQuery
from schema.model import Translation
from tests.connectors.test_socrata import CATALOG, connector, make_connector

RECORDING = Path(__file__).parent / "recordings" / "socrata" / "catalog-ids-yih9-7q3x.json"

__all__ = ["connector", "make_connector"]  # fixtures reused from test_socrata


def test_title_and_description_fields_per_language() -> None:
    custom = {
        "Catalog_Title-EN": "Bus routes",
        "Catalog_Description-EN": "The city's bus routes.",
        "Multilingual_Title-fr-CA": "Lignes d'autobus",
        "Catalog_Title-Only": "not a language",
        "Catalog_Title-DE": " ",
        "Catalog_Update-Frequency": "每月",
    }
    assert read.translations(custom) == (
        Translation("en", "Bus routes", "The city's bus routes."),
        Translation("fr-ca", "Lignes d'autobus"),
    )


async def test_the_recorded_assets_english_title_is_a_translation(
    router: respx.MockRouter, connector: object
) -> None:
    recorded = json.loads(RECORDING.read_text(encoding="utf-8"))["response"]["body"]
    router.get(CATALOG).mock(return_value=httpx.Response(200, json=recorded))
    page = await connector.search(SearchQuery())  # type: ignore[attr-defined]
    english = [t for d in page.datasets for t in d.translations if t.lang == "en"]
    assert "Rated tourist attractions - Beishan District, 2020" in [t.title for t in english]
