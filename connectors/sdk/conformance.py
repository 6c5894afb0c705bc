"""The connector conformance kit: one test class a connector's test suite subclasses.

    from pathlib import Path
    from connectors.sdk.conformance import ConnectorConformance
    from my_portal import MyPortalConnector

    class TestMyPortal(ConnectorConformance):
        connector_class = MyPortalConnector
        recordings = Path(__file__).parent / "recordings"
        options = {"api_key": "test-key"}
        page_size = 2

Every check is a test method of ``ConnectorConformance`` with a name that says what it
proves. The connector talks to a ``RecordedPlatform``: an ``httpx.MockTransport`` that
answers from recorded responses, keeps every request, injects failures (503, 400,
timeouts, garbage...), and fails loudly on a request no recording answers. Sockets and DNS
are blocked while a check runs, so a connector that builds its own client fails too.

Recordings are JSON files under the ``recordings`` folder (subfolders allowed), one
exchange each::

    {"description": "first page of everything",
     "request": {"method": "GET", "path": "/api/3/action/package_search",
                 "params": {"rows": "2", "start": "0"}},
     "response": {"status": 200, "headers": {"content-type": "application/json"},
                  "body": {"success": true, "result": {...}}}}

A request is answered by the recording with its method and path whose ``params`` (and
``headers``, if any) the request all carries, values compared as strings; the most
specific recording wins and a tie is an error. ``response.text`` replaces ``body`` for an
answer that is not JSON. Override ``recording_for`` to choose recordings yourself.

This module is also a pytest plugin (entry point ``pytest11``, or ``-p
connectors.sdk.conformance``): ``-m conformance`` selects the kit's checks, and
``--conformance-record=URL`` forwards requests no recording answers to the live platform
at URL and saves its answers as new recordings.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, cast
from urllib.parse import unquote

import httpx
import pytest
from pydantic import ValidationError

from connectors.sdk import (
    Capabilities,
    Connector,
    ConnectorError,
    DatasetFilter,
    FatalError,
    FilterName,
    HealthStatus,
    RetriableError,
    SearchQuery,
    SourceDefaults,
    SourceSettings,
    SourceUnavailable,
)
from connectors.sdk._conformance_checks import (
    OPERATIONS,
    Session,
    dataset_problems,
    department_problems,
    described,
    error_texts,
    fail,
    page_problems,
    secret_values,
    sent_requests,
)
from connectors.sdk._conformance_rejections import RejectedQueryChecks
from connectors.sdk._recorded_platform import (
    FAULTS,
    Exchange,
    Fault,
    LogRecords,
    NetworkGuard,
    RecordedPlatform,
    RecordedRequest,
    RecordedResponse,
    Recording,
    RecordingError,
    UnmockedNetworkCall,
    UnrecordedRequest,
    load_recordings,
    oversized,
)
from schema.model import Department

__all__ = [
    "FAULTS",
    "ConnectorConformance",
    "Exchange",
    "Fault",
    "RecordedPlatform",
    "RecordedRequest",
    "RecordedResponse",
    "Recording",
    "RecordingError",
    "UnmockedNetworkCall",
    "UnrecordedRequest",
    "dataset_problems",
    "load_recordings",
    "oversized",
]


# -- the kit ----------------------------------------------------------------------------


class ConnectorConformance(RejectedQueryChecks):
    """The standard checks of a connector; subclass it as ``Test<YourPlatform>``.

    Set ``connector_class`` and ``recordings`` (a folder, see the module docstring);
    optionally ``bad_query_answers`` (the platform's answers to a query it refuses as
    invalid: the kit checks they raise ``QueryRejected``), ``options`` (validated with
    the connector's ``options_model``; put a key in a ``SecretStr`` option to have the
    kit check it never leaks), ``page_size`` (the
    recordings must span at least two pages of it), ``url``, ``department``,
    ``defaults``, ``unknown_id`` (an id ``get`` must answer ``None`` for; record that
    answer), ``filter_examples`` and ``any_of_example`` (otherwise derived from the
    recorded records). Override ``recording_for``, ``make_settings`` or
    ``make_connector`` for what the attributes cannot express::

        class TestWaterPortal(ConnectorConformance):
            connector_class = WaterPortalConnector
            recordings = Path(__file__).parent / "recordings"
            options = {"api_key": "conformance-test-key"}
            page_size = 2

    Each test builds a fresh connector over a fresh ``RecordedPlatform`` and runs its
    own event loop, so the kit needs no async plugin and no fixtures.
    """

    connector_class: ClassVar[type[Connector]]
    recordings: ClassVar[Path]
    options: ClassVar[Mapping[str, Any]] = {}
    source_id: ClassVar[str] = "conformance"
    url: ClassVar[str] = "http://127.0.0.1:8080"
    department: ClassVar[Department | None] = None
    defaults: ClassVar[SourceDefaults] = SourceDefaults()
    page_size: ClassVar[int] = 2
    max_pages: ClassVar[int] = 100
    unknown_id: ClassVar[str] = "conformance-kit-no-such-dataset"
    filter_examples: ClassVar[Mapping[FilterName, DatasetFilter]] = {}
    any_of_example: ClassVar[tuple[DatasetFilter, ...] | None] = None

    _record_url: str | None = None

    # -- hooks --------------------------------------------------------------------------

    def recording_for(self, request: httpx.Request) -> str | None:
        """The name of the recording answering ``request``; ``None`` to match by path
        and params."""
        return None

    def make_settings(self, **changes: Any) -> SourceSettings:
        try:
            options = self.connector_class.options_model.model_validate(dict(self.options))
        except ValidationError as exc:
            pytest.fail(f"`options` do not validate:\n{exc}", pytrace=False)
        values: dict[str, Any] = {
            "id": self.source_id,
            "url": self.url,
            "defaults": self.defaults,
            "department": self.department,
            "options": options,
        }
        return SourceSettings(**(values | changes))

    def make_connector(self, settings: SourceSettings, client: httpx.AsyncClient) -> Connector:
        return self.connector_class(settings, client)

    # -- plumbing -----------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _conformance_command_line(self, request: pytest.FixtureRequest) -> None:
        self._record_url = request.config.getoption("conformance_record", default=None)

    def declared_capabilities(self) -> Capabilities:
        """The capabilities of a connector built from this class's settings: a connector may
        set them per instance (the REST connector derives them from its mapping)."""
        unused = cast(httpx.AsyncClient, object())  # building a connector sends nothing
        return self.make_connector(self.make_settings(), unused).capabilities

    def _get_by_id(self) -> bool:
        return self.declared_capabilities().get_by_id

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "declared_filter" in metafunc.fixturenames:
            connector_class = getattr(self, "connector_class", None)
            filters = self.declared_capabilities().filters if connector_class else frozenset()
            declared = sorted(filters, key=lambda n: n.value)
            metafunc.parametrize("declared_filter", declared, ids=[n.value for n in declared])

    def _secrets(self, settings: SourceSettings) -> list[tuple[str, str]]:
        return list(secret_values(settings.options, "options"))

    def _platform(self, settings: SourceSettings) -> RecordedPlatform:
        secrets = [value for _, value in self._secrets(settings)]
        if self._record_url is None:
            return RecordedPlatform(
                load_recordings(self.recordings), self.url, choose=self.recording_for
            )
        self.recordings.mkdir(parents=True, exist_ok=True)
        return RecordedPlatform(
            load_recordings(self.recordings),
            self.url,
            choose=self.recording_for,
            upstream=httpx.AsyncHTTPTransport(),
            upstream_url=self._record_url,
            record_into=self.recordings,
            secrets=secrets,
        )

    def _run(self, check: Callable[[Session], Awaitable[None]]) -> None:
        asyncio.run(self._session(check))

    async def _session(self, check: Callable[[Session], Awaitable[None]]) -> None:
        for attribute in ("connector_class", "recordings"):
            if not hasattr(self, attribute):
                pytest.fail(f"{type(self).__name__} must set `{attribute}`", pytrace=False)
        settings = self.make_settings()
        platform = self._platform(settings)
        # A body cap just above the largest recording, so "oversized" stays small.
        largest = max((len(r.response.content()) for r in platform.recordings.values()), default=0)
        settings = self.make_settings(max_response_bytes=max(largest + 4096, 64 * 1024))
        guard = NetworkGuard()
        blocked = guard.active() if self._record_url is None else contextlib.nullcontext()
        try:
            # trust_env=False: a proxy from the environment must not take over the requests.
            transport = platform.transport()
            async with httpx.AsyncClient(transport=transport, trust_env=False) as client:
                with blocked:
                    connector = self.make_connector(settings, client)
                    try:
                        await check(Session(self, platform, connector, settings))
                    finally:
                        # Connectors that load in the background release it here.
                        close = getattr(connector, "aclose", None)
                        if close is not None:
                            await close()
        except BaseException:
            # A request nothing answered is the cause of whatever failed after it.
            fail(platform.problems, "requests nothing recorded answers")
            fail(guard.attempts, "network calls outside the injected client")
            raise
        finally:
            await platform.aclose()
        fail(platform.problems, "requests nothing recorded answers")
        fail(guard.attempts, "network calls outside the injected client")

    def _expect(
        self,
        operation: str,
        fault_name: str,
        expected: type[ConnectorError],
        *,
        times: int | None = None,
    ) -> None:
        if operation == "get" and not self.declared_capabilities().get_by_id:
            pytest.skip("the connector does not declare get_by_id")

        async def check(s: Session) -> None:
            fault = s.fault(fault_name)
            outcome = await s.under_fault(operation, fault, times)
            if not outcome.exchanges:
                pytest.skip(f"{operation}() sent no request to the platform")
            error = outcome.error
            if error is None and times is not None:
                first = outcome.exchanges[0].request
                if not any(e.request.url == first.url for e in outcome.exchanges[1:]):
                    pytest.fail(
                        f"{operation}() answered normally after the platform {fault.description},"
                        f" without retrying; raise {expected.__name__} or retry",
                        pytrace=False,
                    )
                return
            if error is None:
                pytest.fail(
                    f"{operation}() answered normally although the platform "
                    f"{fault.description}; expected {expected.__name__}",
                    pytrace=False,
                )
            if not isinstance(error, expected):
                pytest.fail(
                    f"{operation}() raised {type(error).__name__}: {error} when the platform "
                    f"{fault.description}; expected {expected.__name__}",
                    pytrace=False,
                )
            if error.source_id != s.settings.id:
                pytest.fail(
                    f"{operation}() raised {type(error).__name__} with source_id="
                    f"{error.source_id!r}; errors name their source ({s.settings.id!r})",
                    pytrace=False,
                )

        self._run(check)

    # -- records ------------------------------------------------------------------------

    def test_records_map_to_valid_canonical_datasets(self) -> None:
        async def check(s: Session) -> None:
            datasets = (await s.listing()).datasets
            if not datasets:
                pytest.fail("the recorded search pages hold no records", pytrace=False)
            fail(
                [
                    f"record {getattr(ds, 'local_id', '?')!r}: {problem}"
                    for ds in datasets
                    for problem in dataset_problems(ds, s.settings.id)
                ],
                "records that are not valid canonical datasets",
            )

        self._run(check)

    def test_ids_are_stable_across_searches_and_get(self) -> None:
        async def check(s: Session) -> None:
            listing = await s.listing()
            by_id = {ds.local_id: ds for ds in listing.datasets}
            problems = []
            again, _ = await s.search()
            first = [ds.local_id for ds in listing.pages[0].datasets]
            if [ds.local_id for ds in again.datasets] != first:
                again_ids = [ds.local_id for ds in again.datasets]
                problems.append(f"the first page gave ids {first}, then {again_ids}")
            if s.connector.capabilities.get_by_id and first:
                got = await s.connector.get(first[0])
                want = by_id[first[0]]
                if got is None:
                    problems.append(f"get({first[0]!r}) is None for a record search found")
                elif (got.local_id, got.title, got.identifier) != (
                    want.local_id,
                    want.title,
                    want.identifier,
                ):
                    problems.append(f"get({first[0]!r}) answered another record: {got}")
            for name in sorted(s.connector.capabilities.filters, key=lambda n: n.value):
                example = await s.filter_example(name)
                page, _ = await s.search(filter=example)
                for ds in page.datasets:
                    seen = by_id.get(ds.local_id)
                    if seen is None or (seen.title, seen.identifier) != (ds.title, ds.identifier):
                        problems.append(
                            f"the search {described(example)} found {ds.local_id!r} "
                            f"({ds.title!r}), which the unfiltered pages "
                            f"{'hold as ' + repr(seen.title) if seen else 'do not hold'}"
                        )
            fail(problems, "ids that change between calls")

        self._run(check)

    def test_paging_through_every_page_ends_without_duplicates(self) -> None:
        async def check(s: Session) -> None:
            listing = await s.listing()
            problems = []
            seen: dict[str, int] = {}
            for number, page in enumerate(listing.pages, 1):
                problems += [f"page {number}: {p}" for p in page_problems(page, s.limit)]
                for ds in page.datasets:
                    if ds.local_id in seen:
                        problems.append(
                            f"page {number} repeats {ds.local_id!r} from page {seen[ds.local_id]}"
                        )
                    seen.setdefault(ds.local_id, number)
            if len(listing.pages) < 2:
                problems.append(
                    f"the recordings hold a single page of {s.limit}: record at least two "
                    "pages, so paging is tested"
                )
            totals = {page.total for page in listing.pages}
            if len(totals) > 1:
                problems.append(f"the total changed from page to page: {sorted(map(str, totals))}")
            total = listing.pages[0].total
            if total is not None and listing.end != total:
                problems.append(f"the pages held {listing.end} rows, but total says {total}")
            fail(problems, "paging problems")

        self._run(check)

    # -- filters ------------------------------------------------------------------------

    def test_declared_filter_reaches_the_request(self, declared_filter: FilterName) -> None:
        async def check(s: Session) -> None:
            example = await s.filter_example(declared_filter)
            _, plain = await s.search()
            _, filtered = await s.search(filter=example)
            if not filtered:
                pytest.skip("the search sent no request (answered from a local index)")
            if sent_requests(plain) == sent_requests(filtered):
                pytest.fail(
                    f"capabilities.filters declares {declared_filter.value}, but the search "
                    f"{described(example)} sent the same request as an unfiltered one: "
                    f"{[unquote(str(e.request.url)) for e in filtered]}",
                    pytrace=False,
                )

        self._run(check)

    def test_applied_filter_holds_for_every_returned_record(
        self, declared_filter: FilterName
    ) -> None:
        async def check(s: Session) -> None:
            example = await s.filter_example(declared_filter)
            page, _ = await s.search(filter=example)
            if declared_filter not in page.applied:
                return  # not claimed: the gateway applies it itself
            await s.check_claim(
                f"SearchPage.applied claims {declared_filter.value} for {described(example)}",
                lambda ds: example.matches_one(declared_filter, ds),
                filter=example,
            )

        self._run(check)

    def test_any_of_applied_only_when_every_record_matches_an_alternative(self) -> None:
        async def check(s: Session) -> None:
            alternatives = await s.any_of_example()
            page, _ = await s.search(any_of=alternatives)
            if not page.any_of_applied:
                return  # not claimed: the gateway applies the visibility itself
            await s.check_claim(
                "SearchPage.any_of_applied claims " + " OR ".join(map(described, alternatives)),
                SearchQuery(any_of=alternatives).matches_any_of,
                any_of=alternatives,
            )

        self._run(check)

    # -- failures -----------------------------------------------------------------------

    @pytest.mark.parametrize("operation", OPERATIONS)
    def test_a_503_is_retried_or_raised_as_retriable_error(self, operation: str) -> None:
        self._expect(operation, "503", RetriableError, times=1)

    @pytest.mark.parametrize("operation", OPERATIONS)
    def test_a_503_that_persists_raises_retriable_error(self, operation: str) -> None:
        self._expect(operation, "503", RetriableError)

    @pytest.mark.parametrize("operation", OPERATIONS)
    def test_a_400_raises_fatal_error(self, operation: str) -> None:
        self._expect(operation, "400", FatalError)

    @pytest.mark.parametrize("operation", OPERATIONS)
    def test_a_timeout_raises_source_unavailable(self, operation: str) -> None:
        self._expect(operation, "timeout", SourceUnavailable)

    @pytest.mark.parametrize("operation", OPERATIONS)
    def test_a_refused_connection_raises_source_unavailable(self, operation: str) -> None:
        self._expect(operation, "refused", SourceUnavailable)

    @pytest.mark.parametrize("operation", OPERATIONS)
    def test_invalid_json_raises_fatal_error(self, operation: str) -> None:
        self._expect(operation, "invalid-json", FatalError)

    @pytest.mark.parametrize("operation", OPERATIONS)
    def test_an_html_page_raises_fatal_error(self, operation: str) -> None:
        self._expect(operation, "html", FatalError)

    @pytest.mark.parametrize("operation", OPERATIONS)
    def test_an_oversized_body_raises_fatal_error(self, operation: str) -> None:
        self._expect(operation, "oversized", FatalError)

    def test_check_reports_up_when_the_platform_answers(self) -> None:
        async def check(s: Session) -> None:
            health = await s.connector.check()
            if health.status is not HealthStatus.UP:
                pytest.fail(f"check() is {health} over the recorded platform", pytrace=False)

        self._run(check)

    @pytest.mark.parametrize("fault", ["503", "400", "timeout", "refused", "invalid-json", "html"])
    def test_check_reports_down_and_never_raises_when_the_platform_fails(self, fault: str) -> None:
        async def check(s: Session) -> None:
            s.platform.inject(FAULTS[fault])
            try:
                health = await s.connector.check()
            except (UnrecordedRequest, UnmockedNetworkCall):
                raise
            except Exception as exc:
                pytest.fail(f"check() raised {exc!r}; it reports, never raises", pytrace=False)
            if not s.platform.exchanges:
                pytest.skip("check() sent no request to the platform")
            if health.status is not HealthStatus.DOWN or not health.message:
                pytest.fail(
                    f"check() is {health} when the platform {FAULTS[fault].description}; "
                    "expected DOWN with a message",
                    pytrace=False,
                )

        self._run(check)

    # -- secrets, lookups, network --------------------------------------------------------

    def test_secrets_never_appear_in_repr_errors_or_logs(self) -> None:
        async def check(s: Session) -> None:
            secrets = self._secrets(s.settings)
            if not secrets:
                pytest.skip("`options` hold no SecretStr value to check")
            logs = LogRecords()
            texts: list[tuple[str, str]] = [
                ("repr(connector)", repr(s.connector)),
                ("str(connector)", str(s.connector)),
                ("repr(settings)", repr(s.settings)),
            ]
            with logs.capturing():
                await s.listing()
                for operation in OPERATIONS:
                    if operation == "get" and not s.connector.capabilities.get_by_id:
                        continue
                    for fault in ("400", "503", "timeout", "invalid-json", "html"):
                        outcome = await s.under_fault(operation, FAULTS[fault], None)
                        if outcome.error is not None:
                            how = FAULTS[fault].description
                            where = f"the error of {operation}() when the platform {how}"
                            texts += [(where, t) for t in error_texts(outcome.error)]
                s.platform.inject(FAULTS["400"])
                health = await s.connector.check()
                s.platform.heal()
                texts.append(("check().message", health.message or ""))
            texts += [("a log record", text) for text in logs.texts()]
            fail(
                sorted(
                    {
                        f"{path} appears in {where}"
                        for path, secret in secrets
                        for where, text in texts
                        if secret in text
                    }
                ),
                "secrets that leak",
            )

        self._run(check)

    def test_get_of_an_unknown_id_is_none(self) -> None:
        if not self.declared_capabilities().get_by_id:
            pytest.skip("the connector does not declare get_by_id")

        async def check(s: Session) -> None:
            found = await s.connector.get(self.unknown_id)
            if found is not None:
                pytest.fail(f"get({self.unknown_id!r}) answered {found}", pytrace=False)

        self._run(check)

    def test_departments_have_unique_ids_and_names(self) -> None:
        async def check(s: Session) -> None:
            departments = await s.connector.departments()
            problems = department_problems(departments)
            fail(problems, "departments() problems")

        self._run(check)

    def test_every_request_goes_through_the_injected_client_to_recordings(self) -> None:
        async def check(s: Session) -> None:
            await s.listing()
            if s.connector.capabilities.get_by_id:
                await s.connector.get(await s.known_id())
                await s.connector.get(self.unknown_id)
            await s.connector.departments()
            await s.connector.check()
            if not s.platform.exchanges:
                pytest.fail("the connector sent no request through the injected client")
            # _session fails the test on any unrecorded request or socket use.

        self._run(check)


# -- the pytest plugin ------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "connector conformance kit")
    group.addoption(
        "--conformance-record",
        metavar="URL",
        default=None,
        help="forward requests no recording answers to the live platform at URL and save "
        "its answers as new recordings",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: a check of the connector conformance kit")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        cls = getattr(item, "cls", None)
        if isinstance(cls, type) and issubclass(cls, ConnectorConformance):
            item.add_marker("conformance")
