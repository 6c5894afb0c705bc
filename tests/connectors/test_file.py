"""FileConnector: a catalogue file on disk, data.json now, DCAT through connectors.dcat."""

from __future__ import annotations

import json
import os
import sys
import types
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.file import FileConnector, FileOptions, catalogue_path
from connectors.sdk import (
    FatalError,
    NotSupported,
    SearchQuery,
    SourceSettings,
    SourceUnavailable,
)
from schema.model import Dataset, Department

FIXTURE = Path(__file__).parent / "fixtures" / "datajson" / "catalog.json"
PLATFORM = Department(id="files", name="File drop")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    def no_network(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the file connector made an HTTP request: {request.url}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(no_network)) as c:
        yield c


@pytest.fixture
def make(client: httpx.AsyncClient) -> Callable[..., FileConnector]:
    def build(
        path: Path | None = None, *, url: str = "http://unused.example", **options: Any
    ) -> FileConnector:
        settings = SourceSettings(
            id="files",
            url=url,
            department=PLATFORM,
            options=FileOptions(path=str(path) if path else None, **options),
        )
        return FileConnector(settings, client)

    return build


def write_catalogue(path: Path, *records: dict[str, Any], mtime_ns: int | None = None) -> None:
    path.write_text(json.dumps({"dataset": list(records)}, ensure_ascii=False), encoding="utf-8")
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


async def test_a_data_json_file_is_searched_locally(make: Callable[..., FileConnector]) -> None:
    connector = make(FIXTURE)
    page = await connector.search(SearchQuery(text="bus"))
    assert [d.local_id for d in page.datasets] == ["330100/JTJ-00001"]
    assert page.total == 1 and page.any_of_applied is True
    assert (await connector.get("crime-2020")) is not None


async def test_a_file_url_names_the_file(make: Callable[..., FileConnector]) -> None:
    connector = make(url=FIXTURE.resolve().as_uri())
    assert connector.path == FIXTURE.resolve()
    assert (await connector.search(SearchQuery())).total == 4


async def test_the_file_is_read_again_only_when_it_changes(
    tmp_path: Path, make: Callable[..., FileConnector]
) -> None:
    path = tmp_path / "data.json"
    write_catalogue(path, {"identifier": "a", "title": "公交线路"}, mtime_ns=10**18)
    connector = make(path)
    first = await connector.refresh()
    assert await connector.refresh() is first  # same mtime, size and inode: not re-read
    write_catalogue(
        path,
        {"identifier": "a", "title": "公交线路"},
        {"identifier": "b", "title": "公交站点"},
        mtime_ns=10**18 + 1,
    )
    second = await connector.refresh()
    assert second is not first
    assert [d.local_id for d in second.datasets] == ["a", "b"]


async def test_a_broken_rewrite_keeps_the_last_good_catalogue(
    tmp_path: Path, make: Callable[..., FileConnector]
) -> None:
    path = tmp_path / "data.json"
    write_catalogue(path, {"identifier": "a", "title": "A"}, mtime_ns=10**18)
    connector = make(path)
    await connector.refresh()
    path.write_bytes(b'{"dataset": [')
    with pytest.raises(FatalError, match="invalid JSON"):
        await connector.refresh()
    assert (await connector.search(SearchQuery())).total == 1


async def test_a_missing_file_is_unavailable(
    tmp_path: Path, make: Callable[..., FileConnector]
) -> None:
    connector = make(tmp_path / "nowhere.json")
    with pytest.raises(SourceUnavailable, match="does not exist"):
        await connector.search(SearchQuery())


async def test_a_file_over_the_size_cap_is_refused(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    path = tmp_path / "data.json"
    write_catalogue(path, {"identifier": "a", "title": "A" * 2000})
    settings = SourceSettings(
        id="files",
        url="http://unused",
        options=FileOptions(path=str(path)),
        max_response_bytes=1000,
    )
    with pytest.raises(FatalError, match="cap"):
        await FileConnector(settings, client).search(SearchQuery())


async def test_without_a_path_or_file_url_the_error_says_what_to_set(
    make: Callable[..., FileConnector],
) -> None:
    with pytest.raises(FatalError, match="options.path or a file:// url"):
        await make().search(SearchQuery())


async def test_content_that_is_neither_json_nor_rdf_is_not_supported(
    tmp_path: Path, make: Callable[..., FileConnector]
) -> None:
    path = tmp_path / "catalogue.txt"
    path.write_text("title,identifier\nA,a\n", encoding="utf-8")
    with pytest.raises(NotSupported, match="cannot tell the format"):
        await make(path).search(SearchQuery())


# -- DCAT files go to connectors.dcat.parse_dcat_document --------------------------------

TURTLE = b"""@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<https://data.example/ds/1> a dcat:Dataset ; dct:title "Bus routes" .
"""


def fake_dcat(monkeypatch: pytest.MonkeyPatch, *, with_settings: bool) -> list[tuple[Any, ...]]:
    """Install a stand-in ``connectors.dcat`` that records how it was called."""
    calls: list[tuple[Any, ...]] = []

    def parse_with_settings(
        data: bytes, media_type: str, *, settings: SourceSettings
    ) -> list[Dataset]:
        calls.append((data, media_type, settings.id))
        return [Dataset(source_id=settings.id, local_id="https://data.example/ds/1", title="Bus")]

    def parse_plain(data: bytes, media_type: str) -> list[Dataset]:
        calls.append((data, media_type))
        return [Dataset(source_id="", local_id="https://data.example/ds/1", title="Bus")]

    module = types.ModuleType("connectors.dcat")
    module.parse_dcat_document = parse_with_settings if with_settings else parse_plain  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "connectors.dcat", module)
    return calls


@pytest.mark.parametrize(
    ("name", "content", "media_type"),
    [
        ("catalogue.ttl", TURTLE, "text/turtle"),
        ("catalogue.rdf", b"<?xml version='1.0'?><rdf:RDF/>", "application/rdf+xml"),
        ("catalogue.jsonld", b'{"@graph": []}', "application/ld+json"),
        ("catalogue.json", b'{"@context": {}, "@graph": []}', "application/ld+json"),
        ("export", TURTLE, "text/turtle"),
        ("export", b"<rdf:RDF/>", "application/rdf+xml"),
    ],
)
async def test_dcat_files_are_parsed_by_the_dcat_module(
    tmp_path: Path,
    make: Callable[..., FileConnector],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    content: bytes,
    media_type: str,
) -> None:
    calls = fake_dcat(monkeypatch, with_settings=True)
    path = tmp_path / name
    path.write_bytes(content)
    page = await make(path).search(SearchQuery())
    assert calls == [(content, media_type, "files")]
    assert [(d.source_id, d.department) for d in page.datasets] == [("files", PLATFORM)]


async def test_a_two_argument_dcat_parser_gets_its_records_claimed_for_this_source(
    tmp_path: Path, make: Callable[..., FileConnector], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_dcat(monkeypatch, with_settings=False)
    path = tmp_path / "catalogue.ttl"
    path.write_bytes(TURTLE)
    page = await make(path).search(SearchQuery())
    assert calls == [(TURTLE, "text/turtle")]
    assert page.datasets[0].source_id == "files"


async def test_format_option_overrides_detection(
    tmp_path: Path, make: Callable[..., FileConnector], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_dcat(monkeypatch, with_settings=True)
    path = tmp_path / "catalogue.json"
    path.write_bytes(b'{"@graph": []}')
    await make(path, format="dcat").search(SearchQuery())
    assert calls and calls[0][1] == "application/ld+json"
    with pytest.raises(FatalError, match="'dataset' is null"):
        await make(path, format="datajson").search(SearchQuery())


async def test_without_the_dcat_module_dcat_files_are_not_supported(
    tmp_path: Path, make: Callable[..., FileConnector], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "connectors.dcat", None)
    path = tmp_path / "catalogue.ttl"
    path.write_bytes(TURTLE)
    with pytest.raises(NotSupported, match="connectors.dcat.parse_dcat_document"):
        await make(path).search(SearchQuery())


def test_catalogue_path_prefers_the_option_then_a_local_file_url() -> None:
    assert catalogue_path("file:///srv/data.json", "~/x.json") == Path.home() / "x.json"
    assert catalogue_path("file:///srv/cat%20alogue.json", None) == Path("/srv/cat alogue.json")
    assert catalogue_path("file://localhost/srv/data.json", None) == Path("/srv/data.json")
    assert catalogue_path("file://other-host/srv/data.json", None) is None
    assert catalogue_path("https://x.example/data.json", None) is None
