"""The conformance kit over the built-in CKAN connector, and over broken variants of it.

``TestCkanConformance`` is what a department writes for its own connector. The recordings
in ``recordings/ckan/`` are CKAN 2.10 answers (recorded with ``--conformance-record`` from
the demo CKAN simulator serving five packages derived from ``fixtures/ckan``). The tests
after it run single kit checks over deliberately broken CKAN connectors (a kit check that
passes a broken connector proves nothing); ``TestCkanConformance`` is their control.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.ckan import CkanConnector
from connectors.sdk import (
    ConnectorError,
    FatalError,
    FilterName,
    QueryRejected,
    SearchPage,
    SearchQuery,
    SourceDefaults,
)
from connectors.sdk.conformance import (
    ConnectorConformance,
    RecordedPlatform,
    Recording,
    RecordingError,
    UnrecordedRequest,
    load_recordings,
)
from schema.model import Dataset, Department, OpenType, Sensitivity, ShareType

TOKEN = "ckan-conformance-token-5ecret"
FIXTURES = Path(__file__).parent / "fixtures" / "ckan"


class TestCkanConformance(ConnectorConformance):
    connector_class = CkanConnector
    recordings = Path(__file__).parent / "recordings" / "ckan"
    options = {
        "api_key": TOKEN,
        # Like the demo platforms: extras indexed as exact strings, one key per class, so
        # the class filters and the visibility are claimed (and checked) as applied.
        "exact_extras": True,
        "extras_keys": {
            "share_type": ["share_type"],
            "open_type": ["open_type"],
            "sensitivity": ["sensitivity"],
        },
    }
    department = Department("city-data", "市大数据中心")
    defaults = SourceDefaults(ShareType.CONDITIONAL, OpenType.NOT_OPEN, Sensitivity.L2)
    page_size = 2
    # CKAN's answers to a query Solr or the action's schema refuses (tests/connectors/
    # test_ckan.py says where each comes from).
    bad_query_answers = [
        {"status": status, "body": json.loads((FIXTURES / name).read_text(encoding="utf-8"))}
        for name, status in (
            ("package_search_400_query.json", 400),
            ("package_search_409.json", 409),
            ("package_search_409_validation.json", 409),
        )
    ]


# -- the kit fails broken connectors ----------------------------------------------------


class LeaksItsKey(CkanConnector):
    async def search(self, query: SearchQuery) -> SearchPage:
        assert self.options.api_key is not None
        logging.getLogger("leaky").debug("key %s", self.options.api_key.get_secret_value())
        return await super().search(query)


class ClaimsFiltersItDoesNotSend(CkanConnector):
    async def search(self, query: SearchQuery) -> SearchPage:
        page = await super().search(SearchQuery(offset=query.offset, limit=query.limit))
        return SearchPage(page.datasets, page.total, applied=query.filter.active())


class SearchesTextInsteadOfFiltering(CkanConnector):
    async def search(self, query: SearchQuery) -> SearchPage:
        text = " ".join(query.filter.themes) or None
        page = await super().search(SearchQuery(text, offset=query.offset, limit=query.limit))
        return SearchPage(page.datasets, page.total, applied=query.filter.active())


class ReturnsUnfilteredRecords(CkanConnector):
    async def search(self, query: SearchQuery) -> SearchPage:
        filtered = await super().search(query)
        plain = await super().search(SearchQuery(offset=query.offset, limit=query.limit))
        return SearchPage(plain.datasets, filtered.total, applied=filtered.applied)


class ClaimsAnyOfItDoesNotSend(CkanConnector):
    async def search(self, query: SearchQuery) -> SearchPage:
        page = await super().search(SearchQuery(offset=query.offset, limit=query.limit))
        return SearchPage(page.datasets, page.total, any_of_applied=True)


class SwallowsErrors(CkanConnector):
    async def search(self, query: SearchQuery) -> SearchPage:
        try:
            return await super().search(query)
        except ConnectorError:
            return SearchPage((), 0)


class IgnoresOffset(CkanConnector):
    async def search(self, query: SearchQuery) -> SearchPage:
        return await super().search(SearchQuery(limit=query.limit))


class BlankTitles(CkanConnector):
    async def search(self, query: SearchQuery) -> SearchPage:
        page = await super().search(query)
        blank = tuple(Dataset(d.source_id, d.local_id, title=" ") for d in page.datasets)
        return SearchPage(blank, page.total)


class BuildsItsOwnClient(CkanConnector):
    async def departments(self) -> list[Department]:
        async with httpx.AsyncClient() as client:
            await client.get("http://127.0.0.1:9/api/3/action/organization_list")
        return []


class AnswersUnknownIds(CkanConnector):
    async def get(self, local_id: str) -> Dataset | None:
        return await super().get(local_id) or Dataset(self.source_id, local_id, "placeholder")


class BlamesTheCallerForEverything(CkanConnector):
    async def search(self, query: SearchQuery) -> SearchPage:
        try:
            return await super().search(query)
        except ConnectorError as exc:
            raise QueryRejected(exc.message, source_id=self.source_id) from exc


class NeverBlamesTheCaller(CkanConnector):
    async def search(self, query: SearchQuery) -> SearchPage:
        try:
            return await super().search(query)
        except QueryRejected as exc:
            raise FatalError(exc.message, source_id=self.source_id) from exc


class BlamesTheCallerForItsListing(CkanConnector):
    async def departments(self) -> list[Department]:
        try:
            return await super().departments()
        except FatalError as exc:
            raise QueryRejected(exc.message, source_id=self.source_id) from exc


def kit_for(connector: type[CkanConnector], **changes: Any) -> TestCkanConformance:
    """The CKAN kit class over another connector (and other settings), as an instance."""
    attributes = {"connector_class": connector, **changes}
    kit: TestCkanConformance = type(
        f"Kit{connector.__name__}", (TestCkanConformance,), attributes
    )()
    return kit


BROKEN = [
    # (broken connector, kit check, its arguments, what the failure says)
    (
        LeaksItsKey,
        "test_secrets_never_appear_in_repr_errors_or_logs",
        (),
        r"options\.api_key appears in a log record",
    ),
    (
        ClaimsFiltersItDoesNotSend,
        "test_declared_filter_reaches_the_request",
        (FilterName.THEMES,),
        "sent the same request as an unfiltered one",
    ),
    (
        ClaimsFiltersItDoesNotSend,
        "test_applied_filter_holds_for_every_returned_record",
        (FilterName.DEPARTMENTS,),
        "request is the same as without it, and the platform holds records that do not match",
    ),
    (
        SearchesTextInsteadOfFiltering,
        "test_applied_filter_holds_for_every_returned_record",
        (FilterName.THEMES,),
        "answered by the same recording as the unfiltered search",
    ),
    (
        ReturnsUnfilteredRecords,
        "test_applied_filter_holds_for_every_returned_record",
        (FilterName.OPEN_TYPES,),
        "yet these returned records do not match",
    ),
    (
        ClaimsAnyOfItDoesNotSend,
        "test_any_of_applied_only_when_every_record_matches_an_alternative",
        (),
        "request is the same as without it, and the platform holds records that do not match",
    ),
    (
        SwallowsErrors,
        "test_a_503_that_persists_raises_retriable_error",
        ("search",),
        "answered normally although the platform answered 503",
    ),
    (SwallowsErrors, "test_a_400_raises_fatal_error", ("search",), "expected FatalError"),
    (IgnoresOffset, "test_paging_through_every_page_ends_without_duplicates", (), "page 2 repeats"),
    (
        BlankTitles,
        "test_records_map_to_valid_canonical_datasets",
        (),
        "title is ' ': a non-blank string",
    ),
    (
        BuildsItsOwnClient,
        "test_departments_have_unique_ids_and_names",
        (),
        "network calls outside the injected client",
    ),
    (AnswersUnknownIds, "test_get_of_an_unknown_id_is_none", (), "answered Dataset"),
    (
        BlamesTheCallerForEverything,
        "test_a_failing_platform_never_raises_query_rejected",
        ("search",),
        "raised QueryRejected when the platform answered 503",
    ),
    (
        NeverBlamesTheCaller,
        "test_the_platforms_bad_query_answer_raises_query_rejected",
        ("search",),
        r"raised FatalError.* when the platform answered bad_query_answers\[0\]",
    ),
    (
        BlamesTheCallerForItsListing,
        "test_a_bad_query_answer_to_a_listing_the_connector_builds_is_not_query_rejected",
        (),
        "departments\\(\\) raised QueryRejected",
    ),
]


@pytest.mark.parametrize(
    ("connector", "check", "args", "message"),
    BROKEN,
    ids=[f"{connector.__name__}-{check[5:]}" for connector, check, _, _ in BROKEN],
)
def test_the_kit_fails_a_broken_connector(
    connector: type[CkanConnector], check: str, args: tuple[Any, ...], message: str
) -> None:
    with pytest.raises(pytest.fail.Exception, match=message):
        getattr(kit_for(connector), check)(*args)


# -- the recorded platform --------------------------------------------------------------

URL = TestCkanConformance.url


def test_a_request_no_recording_answers_fails_with_the_stanza_to_record() -> None:
    kit = kit_for(CkanConnector, unknown_id="never-recorded")
    with pytest.raises(pytest.fail.Exception) as failure:
        kit.test_get_of_an_unknown_id_is_none()
    text = str(failure.value)
    assert f"no recording answers GET {URL}/api/3/action/package_show?id=never-recorded" in text
    assert '"path": "/api/3/action/package_show"' in text
    assert '"id": "never-recorded"' in text


async def test_the_recorded_ckan_sees_the_api_key_as_the_authorization_header() -> None:
    platform = RecordedPlatform(load_recordings(TestCkanConformance.recordings), URL)
    async with httpx.AsyncClient(transport=platform.transport()) as client:
        await CkanConnector(TestCkanConformance().make_settings(), client).departments()
    assert [e.request.headers["authorization"] for e in platform.exchanges] == [TOKEN, TOKEN]


async def test_record_mode_saves_the_live_answer_without_secrets_then_replays_it(
    tmp_path: Path,
) -> None:
    forwarded: list[httpx.Request] = []

    def live_ckan(request: httpx.Request) -> httpx.Response:
        forwarded.append(request)
        return httpx.Response(200, json={"success": True, "result": {"ckan_version": "2.10.4"}})

    recorder = RecordedPlatform(
        {},
        URL,
        upstream=httpx.MockTransport(live_ckan),
        upstream_url="http://127.0.0.1:5000",
        record_into=tmp_path,
        secrets=[TOKEN],
    )
    params = {"api_key": TOKEN, "all_fields": "true"}
    async with httpx.AsyncClient(transport=recorder.transport()) as client:
        await client.get(f"{URL}/api/3/action/status_show", params=params)
    [saved] = tmp_path.glob("status_show-*.json")
    assert TOKEN not in saved.read_text("utf-8")
    assert str(forwarded[0].url).startswith("http://127.0.0.1:5000/api/3/action/status_show?")

    replay = RecordedPlatform(load_recordings(tmp_path), URL)
    async with httpx.AsyncClient(transport=replay.transport()) as client:
        answer = await client.get(f"{URL}/api/3/action/status_show", params=params)
    assert answer.json()["result"] == {"ckan_version": "2.10.4"}
    assert len(forwarded) == 1


def test_every_broken_recording_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"request": {"path": "no-slash"}, "response": {}}')
    (tmp_path / "b.json").write_text("{not json")
    (tmp_path / "c.json").write_text(
        '{"request": {"path": "/x"}, "response": {"body": 1, "text": "t"}}'
    )
    with pytest.raises(RecordingError) as error:
        load_recordings(tmp_path)
    assert [p.split(":")[0] for p in error.value.problems] == ["a.json", "b.json", "c.json"]


async def test_equally_specific_recordings_for_one_request_are_an_error() -> None:
    def recording(params: dict[str, str]) -> Recording:
        return Recording.model_validate(
            {
                "request": {"path": "/api/3/action/package_search", "params": params},
                "response": {"body": {}},
            }
        )

    platform = RecordedPlatform(
        {"a": recording({"rows": "2"}), "b": recording({"start": "0"})}, URL
    )
    async with httpx.AsyncClient(transport=platform.transport()) as client:
        with pytest.raises(UnrecordedRequest, match="recordings a, b all answer"):
            await client.get(f"{URL}/api/3/action/package_search?rows=2&start=0")
