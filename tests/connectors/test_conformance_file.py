"""The conformance kit over the built-in ``file`` connector, for both formats it reads.

The catalogue files in ``recordings/file/`` are exports of five packages of the demo city
each, saved byte for byte as the demo simulators serve them: ``data.json`` (the Finance
Bureau's, from ``simulators.datajson_sim``, a CKAN site's data.json export) and
``catalog.ttl`` (the Agriculture Bureau's, from ``simulators.dcat_sim``, ckanext-dcat's
``/catalog.ttl``); one package of each is the Transport Bureau's.

What applies to a connector that reads a local file, and what does not:

- apply, and run as for any connector: records map to valid datasets, ids are stable,
  paging ends without duplicates, claimed filters and visibility hold, ``check()``
  reports UP, ``get()`` of an unknown id is ``None``, ``departments()`` is well formed;
- do not apply, and the kit skips them itself because no request is ever sent: the
  platform faults (503, 400, timeout, refused connection, truncated JSON, HTML page,
  oversized body) for ``search``/``get``/``departments`` and for ``check()``, and
  "a declared filter reaches the request" (filters are applied by the local index);
  the secrets check is skipped because a file source has no secret option;
- replaced: "every request goes through the injected client to recordings" demands at
  least one request, which a file connector must never send; here it proves the
  connector sends none and opens no socket.

The fault checks have file counterparts below: a missing, truncated, HTML or oversized
file raises the error the kit expects of a failing platform (with the source's id), and
``check()`` then reports DOWN without raising.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from connectors.file import FileConnector, FileOptions
from connectors.sdk import (
    ConnectorError,
    FatalError,
    HealthStatus,
    SourceDefaults,
    SourceSettings,
    SourceUnavailable,
)
from connectors.sdk.conformance import ConnectorConformance
from schema.model import Department, OpenType, Sensitivity, ShareType

if TYPE_CHECKING:
    from connectors.sdk._conformance_checks import Session

EXPORTS = Path(__file__).parent / "recordings" / "file"

# The kit caps bodies at 64 KiB when there are no recordings (see its ``_session``).
KIT_BODY_CAP = 64 * 1024

LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in</title></head>"
    b"<body><form action='/login'><input name='user'></form></body></html>"
)


@dataclass(frozen=True)
class BrokenFile:
    """What a catalogue file holds instead of a catalogue (``None``: no file at all)."""

    content: Callable[[bytes], bytes] | None
    error: type[ConnectorError]


BROKEN_FILES = {
    "missing": BrokenFile(None, SourceUnavailable),
    "truncated": BrokenFile(lambda good: good[: len(good) // 2], FatalError),
    "html-login-page": BrokenFile(lambda good: LOGIN_PAGE, FatalError),
    "oversized": BrokenFile(lambda good: good + b" " * (KIT_BODY_CAP + 1 - len(good)), FatalError),
}


class FileConformance(ConnectorConformance):
    """The kit over a ``file`` source reading ``export``; subclassed once per format."""

    connector_class = FileConnector
    recordings = EXPORTS / "http"
    # As the demo reads its data.json platform; DCAT files name publishers by URI instead.
    options = {"department_ids": {"财政局": "finance", "交通运输局": "transport"}}
    defaults = SourceDefaults(ShareType.CONDITIONAL, OpenType.NOT_OPEN, Sensitivity.L3)
    page_size = 2
    export: Path

    def make_settings(self, **changes: Any) -> SourceSettings:
        options = FileOptions.model_validate({**self.options, "path": str(self.export)})
        return super().make_settings(**{"options": options, **changes})

    def _break(self, broken: str, folder: Path) -> BrokenFile:
        """Point the source at a broken copy of its export (or at no file)."""
        spec = BROKEN_FILES[broken]
        path = folder / self.export.name
        if spec.content is not None:
            path.write_bytes(spec.content(self.export.read_bytes()))
        self.export = path
        return spec

    def test_every_request_goes_through_the_injected_client_to_recordings(self) -> None:
        """Replaces the kit's check: the connector reads its file and sends no request
        (the kit blocks sockets and DNS while this runs, and fails on any attempt)."""

        async def check(s: Session) -> None:
            datasets = (await s.listing()).datasets
            assert await s.connector.get(datasets[0].local_id) == datasets[0]
            assert await s.connector.get(self.unknown_id) is None
            assert await s.connector.departments()
            assert (await s.connector.check()).status is HealthStatus.UP
            assert s.platform.exchanges == []

        self._run(check)

    @pytest.mark.parametrize("operation", ["search", "get", "departments"])
    @pytest.mark.parametrize("broken", sorted(BROKEN_FILES))
    def test_a_broken_file_raises_what_a_failing_platform_would(
        self, broken: str, operation: str, tmp_path: Path
    ) -> None:
        expected = self._break(broken, tmp_path).error

        async def check(s: Session) -> None:
            with pytest.raises(expected) as raised:
                await s.call(operation, "any-id")
            assert raised.value.source_id == s.settings.id

        self._run(check)

    @pytest.mark.parametrize("broken", sorted(BROKEN_FILES))
    def test_check_reports_down_and_never_raises_when_the_file_is_broken(
        self, broken: str, tmp_path: Path
    ) -> None:
        self._break(broken, tmp_path)

        async def check(s: Session) -> None:
            health = await s.connector.check()
            assert health.status is HealthStatus.DOWN
            assert health.message

        self._run(check)


class TestFileDataJsonConformance(FileConformance):
    export = EXPORTS / "data.json"
    department = Department("finance", "财政局")


class TestFileDcatConformance(FileConformance):
    export = EXPORTS / "catalog.ttl"
    department = Department("agriculture", "农业农村局")
