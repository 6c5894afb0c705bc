"""Clients choose the language of titles, descriptions and keywords: `lang` or Accept-Language."""

from __future__ import annotations

import httpx

from gateway.app import Gateway, create_app
from gateway.config import parse_config
from schema.ids import encode_id
from schema.model import Translation
from tests.gateway.conftest import make_dataset
from tests.gateway.memory_connector import MemoryConnector

QUERY = """{ datasets(first: 5) { edges { node {
  title description keywords language languages
  en: title(lang: "en") fr: title(lang: "fr")
} } } }"""


def gateway(http_client: httpx.AsyncClient, language: str | None = "zh") -> Gateway:
    config = parse_config(
        {
            "sources": [
                {
                    "id": "a",
                    "connector": "ckan",
                    "url": "http://127.0.0.1:9",
                    **({"language": language} if language else {}),
                }
            ]
        }
    )
    record = make_dataset(
        "a",
        1,
        title="公交线路",
        description="全市公交线路。",
        keywords=("公交",),
        translations=(Translation("en", "Bus routes", "The city's bus routes.", ("bus",)),),
    )
    connector = MemoryConnector(config.sources[0].settings, http_client, [record])
    return Gateway(config, client=http_client, connectors=[connector])


async def ask(gw: Gateway, query: str = QUERY, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(gw)), base_url="http://gateway.test"
    ) as client:
        return await client.post("/graphql", json={"query": query}, headers=headers)


def node(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert "errors" not in body, body
    found: dict[str, object] = body["data"]["datasets"]["edges"][0]["node"]
    return found


async def test_without_a_preference_the_platforms_text_is_served(
    http_client: httpx.AsyncClient,
) -> None:
    answer = node(await ask(gateway(http_client)))
    assert answer["title"] == "公交线路"
    assert answer["language"] == "zh"
    assert answer["languages"] == ["zh", "en"]
    assert answer["en"] == "Bus routes"
    assert answer["fr"] == "公交线路"  # not published in French: what the platform has


async def test_accept_language_chooses_the_translation(http_client: httpx.AsyncClient) -> None:
    response = await ask(gateway(http_client), **{"Accept-Language": "en-GB,en;q=0.9"})
    answer = node(response)
    assert answer["title"] == "Bus routes"
    assert answer["description"] == "The city's bus routes."
    assert answer["keywords"] == ["bus"]
    assert answer["language"] == "en"
    assert "accept-language" in response.headers["vary"].lower()


async def test_the_original_language_first_in_accept_language_keeps_the_original(
    http_client: httpx.AsyncClient,
) -> None:
    answer = node(await ask(gateway(http_client), **{"Accept-Language": "zh-CN,en;q=0.5"}))
    assert answer["title"] == "公交线路"


async def test_the_lang_argument_beats_accept_language(http_client: httpx.AsyncClient) -> None:
    query = '{ datasets { edges { node { title(lang: "zh") language(lang: "zh") } } } }'
    answer = node(await ask(gateway(http_client), query, **{"Accept-Language": "en"}))
    assert answer == {"title": "公交线路", "language": "zh"}


async def test_dataset_by_id_follows_the_preference_too(http_client: httpx.AsyncClient) -> None:
    dataset_id = encode_id("Dataset", "a", "a-1")
    query = f'{{ dataset(id: "{dataset_id}") {{ title }} }}'
    response = await ask(gateway(http_client), query, **{"Accept-Language": "en"})
    assert response.json() == {"data": {"dataset": {"title": "Bus routes"}}}


async def test_a_malformed_lang_is_a_bad_user_input_error(http_client: httpx.AsyncClient) -> None:
    query = '{ datasets { edges { node { title(lang: "<b>") } } } }'
    body = (await ask(gateway(http_client), query)).json()
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "lang"}
    assert "not a language tag" in error["message"]


async def test_a_source_without_a_language_says_null(http_client: httpx.AsyncClient) -> None:
    answer = node(await ask(gateway(http_client, language=None)))
    assert answer["language"] is None
    assert answer["languages"] == ["en"]
    assert answer["title"] == "公交线路"
