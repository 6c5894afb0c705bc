"""A connector for the Hexi Water Bureau open-data API (河西市水务数据开放接口), v1.

The API (fictional, shaped like many bureau APIs)::

    GET /api/v1/datasets?page=1&page_size=20[&q=][&bureau=][&topic=][&updated_since=]
                        [&order=-updated]
        -> {"code": 0, "message": "ok",
            "data": {"total": 6, "page": 1, "page_size": 20, "items": [<record>, ...]}}
    GET /api/v1/datasets/<code>   -> {"code": 0, "message": "ok", "data": <record>}
                                     HTTP 404 {"code": 40400, "message": "数据集不存在"}
    GET /api/v1/bureaus           -> {"code": 0, "data": [{"code": "water", "name": "..."}]}
    a parameter it cannot read    -> HTTP 400 {"code": 40000, "message": "参数错误: ..."}

Every call sends the key in the ``X-Api-Key`` header. A non-zero ``code`` is an error even
when the HTTP status is 200 (``40100``: bad key). A 400 (``40000``) to a search or lookup
is the caller's bad query: ``QueryRejected``, which never counts against the source.
``page_size`` is at most 50. Filters are exact: ``bureau`` and ``topic`` take one code
each, ``updated_since`` an ISO 8601 instant (inclusive; records with no ``updated`` never
match). Timestamps without an offset are local time (UTC+8).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import httpx
from connectors.sdk import (
    Capabilities,
    Connector,
    FatalError,
    FilterName,
    QueryRejected,
    SearchPage,
    SearchQuery,
    Sort,
    SourceSettings,
    get_json,
)
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from schema import vocab
from schema.model import (
    ContactPoint,
    DataField,
    Dataset,
    Department,
    Distribution,
    UpdateFrequency,
)

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 50
LOCAL_TIME = timezone(timedelta(hours=8), "CST")
NOT_FILES = frozenset({"API", "WEB", "HTML"})  # formats that are services, not downloads


class WaterPortalOptions(BaseModel):
    """``options`` of a ``connector: hexi-water`` source::

    options: {api_key: "${HEXI_WATER_API_KEY}"}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr
    page_size_max: int = Field(MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class WaterPortalConnector(Connector):
    """Live queries against the water bureau's API (``settings.url`` is its root)."""

    name = "hexi-water"
    options_model = WaterPortalOptions
    capabilities = Capabilities(
        search=True,
        filters=frozenset({FilterName.DEPARTMENTS, FilterName.THEMES, FilterName.MODIFIED_AFTER}),
        sorts=frozenset({Sort.RELEVANCE, Sort.MODIFIED_DESC}),
        get_by_id=True,
        max_page_size=MAX_PAGE_SIZE,
    )

    def __init__(self, settings: SourceSettings, client: httpx.AsyncClient) -> None:
        super().__init__(settings, client)
        if not isinstance(settings.options, WaterPortalOptions):
            raise TypeError("settings.options must be validated with WaterPortalOptions")
        self.options = settings.options
        self._base = settings.url.rstrip("/")
        self._headers = {
            "Accept": "application/json",
            "X-Api-Key": self.options.api_key.get_secret_value(),
        }

    async def search(self, query: SearchQuery) -> SearchPage:
        size = max(1, min(query.limit, self.options.page_size_max))
        # The API pages by number: ask for the page holding `offset`, skip into it.
        page_number, skip = divmod(max(query.offset, 0), size)
        params = {"page": str(page_number + 1), "page_size": str(size)}
        applied: set[FilterName] = set()
        wanted = query.filter
        if query.text:
            params["q"] = query.text
        if len(wanted.departments) == 1:  # the API filters on one bureau only
            params["bureau"] = wanted.departments[0]
            applied.add(FilterName.DEPARTMENTS)
        if len(wanted.themes) == 1:
            params["topic"] = wanted.themes[0]
            applied.add(FilterName.THEMES)
        if wanted.modified_after is not None:
            params["updated_since"] = wanted.modified_after.isoformat()
            applied.add(FilterName.MODIFIED_AFTER)
        if query.sort is Sort.MODIFIED_DESC:
            params["order"] = "-updated"

        data = await self._call("/api/v1/datasets", params, callers_query=True)
        if not isinstance(data, Mapping):
            raise self._fatal(f"datasets 'data' is {_kind(data)}, not an object")
        items, total = data.get("items"), data.get("total")
        if not isinstance(items, list):
            raise self._fatal(f"datasets 'data.items' is {_kind(items)}, not a list")
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            raise self._fatal(f"datasets 'data.total' is {total!r}, not a count")

        rows = items[skip:]
        mapped = [(i, ds) for i, item in enumerate(rows) if (ds := self._dataset(item, i))]
        return SearchPage(
            datasets=tuple(ds for _, ds in mapped),
            total=total,
            applied=frozenset(applied),
            any_of_applied=not query.any_of,  # the API cannot express "any of"
            consumed=len(rows),
            positions=None if len(mapped) == len(rows) else tuple(i for i, _ in mapped),
        )

    async def get(self, local_id: str) -> Dataset | None:
        """The record, or ``None`` when missing or unmappable (alike: no existence oracle)."""
        data = await self._call(
            f"/api/v1/datasets/{quote(local_id, safe='')}", {}, missing=True, callers_query=True
        )
        return None if data is None else self._dataset(data, 0)

    async def departments(self) -> list[Department]:
        data = await self._call("/api/v1/bureaus", {})
        if not isinstance(data, list):
            raise self._fatal(f"bureaus 'data' is {_kind(data)}, not a list")
        bureaus = (_department(item) for item in data)
        return list({d.id: d for d in bureaus if d is not None}.values())

    # -- HTTP ---------------------------------------------------------------------------

    async def _call(
        self,
        path: str,
        params: dict[str, str],
        *,
        missing: bool = False,
        callers_query: bool = False,
    ) -> Any:
        """The ``data`` of one API call; ``None`` for a 404 when ``missing`` is allowed.
        ``callers_query``: the parameters carry the caller's input (search, lookup), so
        the API's 400 is the caller's bad query, not the platform failing."""
        status, body = await get_json(
            self.client,
            self._base + path,
            source_id=self.source_id,
            params=params,
            headers=self._headers,
            max_bytes=self.settings.max_response_bytes,
            allow_statuses=frozenset({400, 404}) if missing else frozenset({400}),
        )
        code = body.get("code") if isinstance(body, Mapping) else None
        if not isinstance(code, int):
            raise self._fatal(f"{path} answered a JSON {_kind(body)} without a numeric 'code'")
        if status == 404:
            return None
        if status == 400 and callers_query:
            message = _text(body.get("message")) or "no message"
            raise QueryRejected(
                f"{path} rejected the query (code {code}): {message[:200]}",
                source_id=self.source_id,
            )
        if code != 0:
            message = _text(body.get("message")) or "no message"
            raise self._fatal(f"{path} answered code {code}: {message[:200]}")
        return body.get("data")

    def _fatal(self, message: str) -> FatalError:
        return FatalError(message, source_id=self.source_id)

    # -- mapping ------------------------------------------------------------------------

    def _dataset(self, item: object, position: int) -> Dataset | None:
        """The canonical record, or ``None`` (logged) for one that cannot be mapped."""
        code = _text(item.get("code")) if isinstance(item, Mapping) else None
        department = _department(item.get("bureau")) if isinstance(item, Mapping) else None
        if not isinstance(item, Mapping) or code is None or department is None:
            # The API always names a bureau, so the bureau filter is exact; a record
            # without one is broken, not "ours".
            log.warning("source %s: skipped item #%d (no code or bureau)", self.source_id, position)
            return None
        defaults = self.settings.defaults
        return Dataset(
            source_id=self.source_id,
            local_id=code,
            title=_text(item.get("name")) or code,
            identifier=_text(item.get("catalog_code")),
            description=_text(item.get("summary")),
            keywords=_texts(item.get("tags")),
            themes=_texts(item.get("topics")),
            department=department,
            issued=_time(item.get("published")),
            modified=_time(item.get("updated")),
            update_frequency=vocab.parse_update_frequency(item.get("cycle"))
            or UpdateFrequency.UNKNOWN,
            # A class the record does not state is the source's default, never "most open".
            share_type=vocab.parse_share_type(item.get("sharing")) or defaults.share_type,
            share_condition=_text(item.get("sharing_condition")),
            open_type=vocab.parse_open_type(item.get("opening")) or defaults.open_type,
            sensitivity=vocab.parse_sensitivity(item.get("level")) or defaults.sensitivity,
            license=_text(item.get("license")),
            landing_page=f"{self._base}/datasets/{quote(code, safe='')}",
            contact_point=_contact(item.get("contact")),
            distributions=tuple(
                _file(f) for f in item.get("files") or () if isinstance(f, Mapping)
            ),
            fields=tuple(
                DataField(name, _text(c.get("type")), _text(c.get("comment")))
                for c in item.get("columns") or ()
                if isinstance(c, Mapping) and (name := _text(c.get("name")))
            ),
        )


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _texts(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list) else []
    return tuple(dict.fromkeys(t for v in items if (t := _text(v))))


def _time(value: object) -> datetime | None:
    text = _text(value)
    try:
        parsed = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_TIME)
    return parsed


def _department(value: object) -> Department | None:
    if not isinstance(value, Mapping) or (code := _text(value.get("code"))) is None:
        return None
    return Department(code, _text(value.get("name")) or code)


def _contact(value: object) -> ContactPoint | None:
    if not isinstance(value, Mapping):
        return None
    name, email, phone = (_text(value.get(k)) for k in ("name", "email", "tel"))
    return ContactPoint(name, email, phone) if name or email or phone else None


def _file(value: Mapping[str, Any]) -> Distribution:
    fmt = (_text(value.get("format")) or "").upper() or None
    url = _text(value.get("url"))
    size = value.get("size")
    return Distribution(
        title=_text(value.get("title")),
        format=fmt,
        access_url=url,
        download_url=url if fmt and fmt not in NOT_FILES else None,
        byte_size=size
        if isinstance(size, int) and not isinstance(size, bool) and size >= 0
        else None,
    )
