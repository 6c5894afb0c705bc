"""A simulated CKAN platform: the Action API v3 over a ``PlatformCatalogue``.

It answers ``package_search``, ``package_show``, ``package_list``,
``organization_list``/``organization_show``, ``group_list``/``group_show``,
``status_show`` and ``help_show`` with CKAN 2.10's envelopes, status codes and error
shapes, so a connector tested here behaves the same against a real CKAN. A shared,
mutable ``Fault`` makes it slow, hang, fail or answer garbage at run time, and
``SimStats`` counts the upstream calls.

    >>> sim = CkanSimulator(build_city_catalogue().platforms["transport-platform"])
    >>> app = sim.app            # any ASGI server, or httpx.ASGITransport(app)
    >>> sim.fault.mode = "hang"  # from now on every API call hangs

Admin endpoints (not part of CKAN): ``GET|POST /__sim__/fault`` reads or changes the
fault (JSON ``{"mode": "error", "latency_ms": 200}``), ``GET /__sim__/stats`` returns
request counts per action and the most recent requests, ``POST /__sim__/stats/reset``
clears them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulators.catalogue import PlatformCatalogue
from simulators.ckan_index import parse_sort, platform_index
from simulators.faults import (
    CORRUPTION,
    Fault,
    FaultMode,
    HugeBody,
    SimStats,
    SimulatedPlatform,
)
from simulators.solr_fq import FqSyntaxError, check_field

__all__ = [
    "CKAN_VERSION",
    "CkanSimulator",
    "Fault",
    "FaultMode",
    "SimStats",
    "ckan_app",
]

CKAN_VERSION = "2.10.4"
ROWS_MAX = 1000  # ckan.search.rows_max
ORG_LIST_MAX = 1000  # ckan.group_and_organization_list_max
ORG_LIST_ALL_FIELDS_MAX = 25  # ckan.group_and_organization_list_all_fields_max
DEFAULT_SORT = "score desc, metadata_modified desc"
JSON_TYPE = "application/json;charset=utf-8"


class ActionError(Exception):
    """An error CKAN reports in its envelope: ``{"success": false, "error": {...}}``."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def _validation_error(errors: Mapping[str, list[str]]) -> ActionError:
    return ActionError(409, {"__type": "Validation Error", **errors})


def _query_error(message: str) -> ActionError:
    return ActionError(
        409,
        {
            "__type": "Search Query Error",
            "message": f"Search Query is invalid: {json.dumps(message)}",
        },
    )


NOT_FOUND = ActionError(404, {"message": "Not found", "__type": "Not Found Error"})

# -- parameter validation --------------------------------------------------------------

_TRUE = {"true", "yes", "t", "y", "1", "on"}
_FALSE = {"false", "no", "f", "n", "0", "off", ""}


def _int_param(
    params: Mapping[str, Any],
    key: str,
    default: int,
    errors: dict[str, list[str]],
    *,
    natural: bool = True,
) -> int:
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    try:
        if isinstance(raw, bool | float | list | dict):
            raise ValueError(raw)
        value = int(raw)
    except ValueError:
        errors[key] = ["Invalid integer"]
        return default
    if natural and value < 0:
        errors[key] = ["Must be a natural number"]
    return value


def _bool_param(
    params: Mapping[str, Any], key: str, default: bool, errors: dict[str, list[str]]
) -> bool:
    raw = params.get(key)
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    errors[key] = ["Value must be one of: ['true', 'false']"]
    return default


def _list_param(params: Mapping[str, Any], key: str, errors: dict[str, list[str]]) -> list[str]:
    raw = params.get(key)
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            errors[key] = ["Could not parse as valid JSON"]
            return []
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        errors[key] = ["Not a list of strings"]
        return []
    return raw


# -- the app ---------------------------------------------------------------------------

Handler = Callable[[Mapping[str, Any], str], Awaitable[str]]


class CkanSimulator(SimulatedPlatform):
    """One simulated CKAN site serving ``platform``; ``app`` is its Starlette app.

    ``base_url`` fixes the site URL used in links (``{base}`` in the stored records);
    by default each request's own base URL is used, so links point back at the server
    the client actually called.
    """

    def __init__(
        self,
        platform: PlatformCatalogue,
        fault: Fault | None = None,
        *,
        base_url: str | None = None,
        stats: SimStats | None = None,
    ) -> None:
        super().__init__(platform, fault, stats)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.index = platform_index(platform)
        self._actions: dict[str, Handler] = {
            "package_search": self.package_search,
            "package_show": self.package_show,
            "package_list": self.package_list,
            "organization_list": functools.partial(self.group_list, "organization"),
            "group_list": functools.partial(self.group_list, "groups"),
            "organization_show": functools.partial(self.group_show, "organization"),
            "group_show": functools.partial(self.group_show, "groups"),
            "status_show": self.status_show,
            "help_show": self.help_show,
        }
        self.app = Starlette(
            routes=[
                Route("/api/3/action/{action}", self.dispatch, methods=["GET", "POST"]),
                Route("/api/action/{action}", self.dispatch, methods=["GET", "POST"]),
                *self.faults.admin_routes(),
            ]
        )

    def _base(self, request: Request) -> str:
        return self.base_url or str(request.base_url).rstrip("/")

    # -- plumbing ----------------------------------------------------------------------

    async def dispatch(self, request: Request) -> Response:
        action = request.path_params["action"]
        base = self._base(request)
        help_url = f"{base}/api/3/action/help_show?name={action}"
        try:
            params = await _read_params(request)
        except ActionError as exc:
            self.stats.record(action, {})
            return _envelope_error(help_url, exc)
        self.stats.record(action, params)
        fault_response = await self._apply_fault(request, base)
        if fault_response is not None:
            return fault_response
        handler = self._actions.get(action)
        try:
            if handler is None:
                raise ActionError(
                    400,
                    {
                        "message": f"Bad request - Action name not known: {action}",
                        "__type": "Bad Request",
                    },
                )
            result = await handler(params, base)
        except ActionError as exc:
            return _envelope_error(help_url, exc)
        body = f'{{"help":{json.dumps(help_url)},"success":true,"result":{result}}}'
        return Response(body.encode(), media_type=JSON_TYPE)

    async def _apply_fault(self, request: Request, base: str) -> Response | None:
        def garbage() -> Response:
            body = (
                f'{{"help":"{base}/api/3/action/help_show?name=package_search",'
                '"success":true,"result":{"count":12,"results":[{"id":"5e1f9c' + CORRUPTION
            )
            return Response(body.encode(), media_type=JSON_TYPE)

        async def huge() -> HugeBody:
            # A valid package_search envelope whose results repeat.
            head = (
                f'{{"help":"{base}/api/3/action/help_show?name=package_search",'
                f'"success":true,"result":{{"count":{len(self.index.json)},"facets":{{}},'
                '"results":['
            )
            return HugeBody(
                head.encode(),
                ",".join(self.index.json).replace("{base}", base).encode(),
                f'],"sort":"{DEFAULT_SORT}","search_facets":{{}}}}}}'.encode(),
                JSON_TYPE,
            )

        return await self.faults.failure(request, garbage=garbage, huge=huge)

    # -- actions -----------------------------------------------------------------------

    async def package_search(self, params: Mapping[str, Any], base: str) -> str:
        errors: dict[str, list[str]] = {}
        rows = min(_int_param(params, "rows", 10, errors), ROWS_MAX)
        start = _int_param(params, "start", 0, errors)
        facet_limit = _int_param(params, "facet.limit", 50, errors, natural=False)
        facet_fields = _list_param(params, "facet.field", errors)
        _bool_param(params, "include_private", False, errors)
        fq_list = _list_param(params, "fq_list", errors)
        if errors:
            raise _validation_error(errors)
        q = str(params.get("q") or "").strip()
        sort_text = str(params.get("sort") or DEFAULT_SORT)
        filters = (str(params.get("fq") or ""), *fq_list)
        try:
            sort = parse_sort(sort_text) or parse_sort(DEFAULT_SORT)
            for name in facet_fields:
                check_field(name)
            matched = self.index.search(q, filters, sort)
        except FqSyntaxError as exc:
            raise _query_error(str(exc)) from None
        cache_key = None if "NOW" in q or any("NOW" in f for f in filters) else (q, filters)
        facets, search_facets = self.index.facets(matched, facet_fields, facet_limit, cache_key)
        page = ",".join(self.index.json[i] for i in matched[start : start + rows])
        return (
            f'{{"count":{len(matched)},"facets":{_dumps(facets)},'
            f'"results":[{page.replace("{base}", base)}],"sort":{_dumps(sort_text)},'
            f'"search_facets":{_dumps(search_facets)}}}'
        )

    async def package_show(self, params: Mapping[str, Any], base: str) -> str:
        key = params.get("id") or params.get("name_or_id")
        if not key:
            raise _validation_error({"id": ["Missing value"]})
        position = self.index.by_key.get(str(key))
        if position is None:
            raise NOT_FOUND
        return self.index.json[position].replace("{base}", base)

    async def package_list(self, params: Mapping[str, Any], base: str) -> str:
        errors: dict[str, list[str]] = {}
        limit = _int_param(params, "limit", len(self.index.packages), errors)
        offset = _int_param(params, "offset", 0, errors)
        if errors:
            raise _validation_error(errors)
        names = sorted(p["name"] for p in self.index.packages)
        return _dumps(names[offset : offset + limit])

    def _group_dict(self, kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        is_org = kind == "organization"
        return {
            "approval_status": raw.get("approval_status", "approved"),
            "created": raw.get("created", "2019-01-02T03:04:05.000000"),
            "description": raw.get("description", ""),
            "display_name": raw["title"] or raw["name"],
            "id": raw["id"],
            "image_display_url": raw.get("image_url", ""),
            "image_url": raw.get("image_url", ""),
            "is_organization": is_org,
            "name": raw["name"],
            "num_followers": 0,
            "package_count": self.index.package_counts[kind, raw["name"]],
            "state": "active",
            "title": raw["title"],
            "type": "organization" if is_org else "group",
        }

    def _groups(self, kind: str) -> list[dict[str, Any]]:
        raws = self.platform.organizations if kind == "organization" else self.platform.groups
        return [self._group_dict(kind, raw) for raw in raws]

    async def group_list(self, kind: str, params: Mapping[str, Any], base: str) -> str:
        errors: dict[str, list[str]] = {}
        all_fields = _bool_param(params, "all_fields", False, errors)
        cap = ORG_LIST_ALL_FIELDS_MAX if all_fields else ORG_LIST_MAX
        limit = min(_int_param(params, "limit", cap, errors), cap)
        offset = _int_param(params, "offset", 0, errors)
        sort = str(params.get("sort") or "title asc").split()
        wanted = _list_param(
            params, "organizations" if kind == "organization" else "groups", errors
        )
        field_name = {
            "name": "name",
            "title": "title",
            "package_count": "package_count",
            "packages": "package_count",
        }.get(sort[0] if sort else "title")
        descending = len(sort) > 1 and sort[1].lower() == "desc"
        if field_name is None:
            raise _validation_error({**errors, "sort": [f"Cannot sort by field `{sort[0]}`"]})
        if errors:
            raise _validation_error(errors)
        groups = self._groups(kind)
        if wanted:
            groups = [g for g in groups if g["name"] in wanted]
        q = str(params.get("q") or "").lower()
        if q:
            groups = [g for g in groups if q in g["name"].lower() or q in g["title"].lower()]
        groups.sort(key=lambda g: (g[field_name], g["name"]), reverse=descending)
        page = groups[offset : offset + limit]
        return _dumps(page if all_fields else [g["name"] for g in page])

    async def group_show(self, kind: str, params: Mapping[str, Any], base: str) -> str:
        key = str(params.get("id") or "")
        for group in self._groups(kind):
            if key in (group["id"], group["name"]):
                return _dumps(group)
        raise NOT_FOUND

    async def status_show(self, params: Mapping[str, Any], base: str) -> str:
        return _dumps(
            {
                "ckan_version": CKAN_VERSION,
                "site_url": base,
                "site_description": self.platform.title_en,
                "site_title": self.platform.title,
                "error_emails_to": None,
                "locale_default": "zh_Hans_CN",
                "extensions": ["activity", "datastore", "scheming_datasets", "dcat"],
            }
        )

    async def help_show(self, params: Mapping[str, Any], base: str) -> str:
        name = str(params.get("name") or "")
        if name not in self._actions:
            raise NOT_FOUND
        return _dumps(f"Simulated CKAN {CKAN_VERSION} action `{name}`.")


def ckan_app(
    platform: PlatformCatalogue,
    fault: Fault | None = None,
    *,
    base_url: str | None = None,
    stats: SimStats | None = None,
) -> Starlette:
    """A Starlette app speaking the CKAN Action API for ``platform`` (see ``CkanSimulator``).

    >>> app = ckan_app(build_city_catalogue().platforms["city-open-portal"], Fault())
    """
    return CkanSimulator(platform, fault, base_url=base_url, stats=stats).app


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _envelope_error(help_url: str, exc: ActionError) -> Response:
    body = _dumps({"help": help_url, "success": False, "error": exc.error})
    return Response(body.encode(), exc.status, media_type=JSON_TYPE)


async def _read_params(request: Request) -> dict[str, Any]:
    """Query string, then a POST body (JSON or form) on top, as CKAN reads them."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method != "POST":
        return params
    body = await request.body()
    if not body.strip():
        return params
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(body.decode("utf-8", "replace")))
        return params
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ActionError(
            400, {"message": f"Bad request - JSON Error: {exc}", "__type": "Bad Request"}
        ) from None
    if not isinstance(data, dict):
        raise ActionError(
            400,
            {
                "message": "Bad request - JSON Error: Request data JSON decoded to a non-dict",
                "__type": "Bad Request",
            },
        )
    params.update(data)
    return params
