"""A simulated home-grown government REST API: 河西市政务数据资源目录 开放接口 v1.

Many Chinese departments publish their data resource catalogue through an API their
vendor wrote rather than CKAN. This one is modelled on what such APIs look like:

- ``GET /api/v1/resources?keyword=&pageNo=&pageSize=`` pages numbered from 1, at most
  100 rows, optional filters ``deptCode``, ``shareType``, ``openType``,
  ``securityLevel`` (several values joined by commas), ``excludeGrade`` (grades left
  out, joined by commas), ``updateTimeStart`` (inclusive)
  and ``updateTimeEnd`` (exclusive) as ``yyyy-MM-dd HH:mm:ss`` Beijing time, and
  ``orderBy=updateTime|createTime|resourceName`` with ``sortType=ASC|DESC`` (default
  ``updateTime`` ``DESC``);
- ``GET /api/v1/resources/{resourceId}``, ``GET /api/v1/departments``,
  ``GET /api/v1/health``;
- every answer wrapped as ``{"code": 0, "msg": "success", "data": ...}``; errors keep
  HTTP 200 and say so in ``code`` (4001 参数错误, 4004 资源不存在), except a missing
  or wrong ``AppKey`` header: HTTP 401 with code 4010;
- Java-style records: camelCase keys, ``null`` for what is unknown, 32-hex ids, local
  times without a zone, comma-joined ``keywords`` and ``formats``, Chinese class names.

Shapes checked against public documentation of such APIs: the Shenzhen open data
portal's ``/data/dataSet/findPage`` (``pageNo`` from 1, ``pageSize``, ``deptCode``,
``sortType`` DESC/ASC), Changzhou-style ``opendata`` API pages (``errcode`` 0 for
success, numeric error codes such as 参数错误, ``page``/``rows`` paging) and vendor
docs answering ``{"code": 0, "message": ..., "data": {"list": [...], ...}}``.

Any ``PlatformCatalogue`` (raw CKAN package dicts) can be served: each package is
converted to this platform's native record. The ``Fault`` and ``SimStats`` are the CKAN
simulator's, with the same admin endpoints (``/__sim__/fault``, ``/__sim__/stats``,
``/__sim__/stats/reset``).

    >>> sim = RestSimulator(build_city_catalogue().platforms["livelihood-platform"])
    >>> sim.fault.mode = "garbage"
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from schema import vocab
from schema.model import OpenType, Sensitivity, ShareType
from simulators.catalogue import PlatformCatalogue
from simulators.faults import (
    CORRUPTION,
    Fault,
    HugeBody,
    SimStats,
    SimulatedPlatform,
)

__all__ = [
    "DEMO_APP_KEY",
    "MAPPING_PATH",
    "PAGE_SIZE_MAX",
    "RestSimulator",
    "native_record",
    "rest_source_options",
]

DEMO_APP_KEY = "hexi-demo-app-key"
APP_KEY_HEADER = "AppKey"
MAPPING_PATH = Path(__file__).with_name("rest_platform.yaml")
PAGE_SIZE_MAX = 100
DEFAULT_PAGE_SIZE = 10
JSON_TYPE = "application/json;charset=UTF-8"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
BEIJING = timedelta(hours=8)

SHARE_ZH = {
    ShareType.UNCONDITIONAL: "无条件共享",
    ShareType.CONDITIONAL: "有条件共享",
    ShareType.NOT_SHARED: "不予共享",
}
OPEN_ZH = {
    OpenType.OPEN: "无条件开放",
    OpenType.CONDITIONAL: "有条件开放",
    OpenType.NOT_OPEN: "不予开放",
}
LEVEL_ZH = {
    Sensitivity.L1: "一级",
    Sensitivity.L2: "二级",
    Sensitivity.L3: "三级",
    Sensitivity.L4: "四级",
}
_ORDER_FIELDS = {"updateTime", "createTime", "resourceName"}
_LIST_FILTERS = ("deptCode", "shareType", "openType", "securityLevel")
_TAG = re.compile(r"<[^>]+>")


def rest_source_options(app_key: str = DEMO_APP_KEY) -> dict[str, Any]:
    """Gateway ``options`` for a ``connector: rest`` source reading this simulator.

    In a config file write the key as ``value: ${HEXI_APP_KEY}`` instead.
    """
    return {
        "mapping": str(MAPPING_PATH),
        "auth": {"type": "api_key", "name": APP_KEY_HEADER, "in": "header", "value": app_key},
    }


class ApiError(Exception):
    def __init__(self, code: int, msg: str, status: int = 200) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def _beijing(ckan_time: str | None) -> str | None:
    """CKAN's naive UTC timestamp as the platform writes it: Beijing time, whole seconds."""
    if not ckan_time:
        return None
    moment = datetime.fromisoformat(ckan_time) + BEIJING
    return moment.strftime(TIME_FORMAT)


def _plain(notes: str | None) -> str | None:
    if not notes:
        return None
    text = _TAG.sub(" ", notes.replace("<br>", "\n").replace("</p>", "\n"))
    return "\n".join(" ".join(line.split()) for line in text.splitlines()).strip() or None


def native_record(package: Mapping[str, Any]) -> dict[str, Any]:
    """One CKAN package as this platform's resource record (URLs keep ``{base}``)."""
    extras = {e["key"]: e["value"] for e in package.get("extras") or ()}
    org = package.get("organization") or {}
    share = vocab.parse_share_type(extras.get("share_type"))
    open_ = vocab.parse_open_type(extras.get("open_type"))
    level = vocab.parse_sensitivity(extras.get("sensitivity"))
    resources = package.get("resources") or []
    formats = list(dict.fromkeys(str(r["format"]).upper() for r in resources if r.get("format")))
    try:
        items = json.loads(extras.get("fields") or "[]")
    except ValueError:
        items = []
    start, _, end = str(extras.get("temporal") or "").partition("/")
    return {
        "resourceId": str(package["id"]).replace("-", ""),
        "resourceCode": extras.get("identifier"),
        "resourceName": package.get("title"),
        "resourceNameEn": extras.get("title_en"),
        "resourceDesc": _plain(package.get("notes")),
        "deptCode": org.get("name"),
        "deptName": org.get("title"),
        "deptCreditCode": org.get("code"),
        "themes": [
            {"themeCode": g.get("name"), "themeName": g.get("title")}
            for g in package.get("groups") or []
        ],
        "keywords": ",".join(t["name"] for t in package.get("tags") or []) or None,
        "shareType": SHARE_ZH[share] if share else None,
        "shareCondition": extras.get("share_condition"),
        "openType": OPEN_ZH[open_] if open_ else None,
        "openCondition": extras.get("open_condition"),
        "securityLevel": LEVEL_ZH[level] if level else None,
        "updateCycle": extras.get("update_cycle"),
        "createTime": _beijing(package.get("metadata_created")),
        "updateTime": _beijing(package.get("metadata_modified")),
        "formats": ",".join(formats) or None,
        "files": [
            {
                "fileId": str(r.get("id", "")).replace("-", ""),
                "fileName": r.get("name"),
                "fileFormat": str(r["format"]).upper() if r.get("format") else None,
                "fileSize": r.get("size"),
                "mimeType": r.get("mimetype"),
                "accessUrl": r.get("url"),
                "downloadUrl": r.get("url") if r.get("url_type") == "upload" else None,
            }
            for r in resources
        ],
        "fields": [
            {
                "fieldName": i.get("name"),
                "fieldType": i.get("type"),
                "fieldDesc": i.get("description"),
            }
            for i in items
            if isinstance(i, dict)
        ],
        "contactName": package.get("maintainer"),
        "contactPhone": extras.get("contact_phone"),
        "contactEmail": package.get("maintainer_email"),
        "spatialScope": extras.get("spatial"),
        "dataStartDate": start or None,
        "dataEndDate": end or None,
        "licenseName": package.get("license_title"),
        "directoryCode": extras.get("resource_code"),
        "resourceCategory": extras.get("resource_class"),
        "formatCategory": extras.get("format_class"),
        "shareMode": extras.get("share_method"),
        "notSharedBasis": extras.get("not_shared_basis"),
        "relatedCodes": [extras["related_resources"]] if extras.get("related_resources") else [],
        "dataGrade": extras.get("grade"),
        "status": "已发布",
    }


class RestSimulator(SimulatedPlatform):
    """One simulated catalogue API serving ``platform``; ``app`` is its Starlette app."""

    def __init__(
        self,
        platform: PlatformCatalogue,
        fault: Fault | None = None,
        *,
        stats: SimStats | None = None,
        app_key: str = DEMO_APP_KEY,
        base_url: str | None = None,
    ) -> None:
        super().__init__(platform, fault, stats)
        self.app_key = app_key
        self.base_url = base_url.rstrip("/") if base_url else None
        self.records = [native_record(p) for p in platform.packages]
        self._json = [_dumps(r) for r in self.records]
        self._by_id = {r["resourceId"]: i for i, r in enumerate(self.records)}
        self._haystack = [
            " ".join(
                str(r.get(k) or "")
                for k in ("resourceName", "resourceDesc", "keywords", "deptName")
            ).casefold()
            for r in self.records
        ]
        self.app = Starlette(
            routes=[
                Route("/api/v1/resources", self.resources, methods=["GET"]),
                Route("/api/v1/resources/{resource_id}", self.resource, methods=["GET"]),
                Route("/api/v1/departments", self.departments, methods=["GET"]),
                Route("/api/v1/health", self.health, methods=["GET"]),
                *self.faults.admin_routes(),
                Route("/api/{rest:path}", self.unknown, methods=["GET", "POST"]),
            ]
        )

    # -- endpoints -----------------------------------------------------------------------

    async def resources(self, request: Request) -> Response:
        return await self._serve(request, "resources", self._search)

    async def resource(self, request: Request) -> Response:
        return await self._serve(request, "resource", self._detail)

    async def departments(self, request: Request) -> Response:
        return await self._serve(request, "departments", self._departments)

    async def health(self, request: Request) -> Response:
        return await self._serve(request, "health", self._health)

    async def unknown(self, request: Request) -> Response:
        self.stats.record("unknown", dict(request.query_params))
        return _answer_error(ApiError(4040, "接口不存在", 404))

    async def _serve(self, request: Request, action: str, handler: Any) -> Response:
        params = dict(request.query_params)
        if "resource_id" in request.path_params:
            params["resourceId"] = request.path_params["resource_id"]
        self.stats.record(action, params)
        base = self.base_url or str(request.base_url).rstrip("/")
        faulty = await self._apply_fault(request)
        if faulty is not None:
            return faulty
        try:
            if request.headers.get(APP_KEY_HEADER) != self.app_key:
                raise ApiError(4010, "AppKey无效或已过期", 401)
            data: str = handler(params)
        except ApiError as exc:
            return _answer_error(exc)
        body = f'{{"code":0,"msg":"success","data":{data}}}'.replace("{base}", base)
        return Response(body.encode(), media_type=JSON_TYPE)

    def _search(self, params: Mapping[str, str]) -> str:
        page_no = _positive(params, "pageNo", 1)
        page_size = _positive(params, "pageSize", DEFAULT_PAGE_SIZE)
        if page_size > PAGE_SIZE_MAX:
            raise ApiError(4001, f"参数错误：pageSize不能大于{PAGE_SIZE_MAX}")
        order_by = params.get("orderBy") or "updateTime"
        if order_by not in _ORDER_FIELDS:
            raise ApiError(4001, f"参数错误：不支持的排序字段{order_by}")
        sort_type = (params.get("sortType") or "DESC").upper()
        if sort_type not in ("ASC", "DESC"):
            raise ApiError(4001, "参数错误：sortType只能为ASC或DESC")
        start, end = _time(params, "updateTimeStart"), _time(params, "updateTimeEnd")
        keyword = (params.get("keyword") or "").strip().casefold()
        wanted = {
            key: {v.strip() for v in params[key].split(",") if v.strip()}
            for key in _LIST_FILTERS
            if params.get(key)
        }
        left_out = {v.strip() for v in (params.get("excludeGrade") or "").split(",") if v.strip()}
        matched = []
        for index, record in enumerate(self.records):
            if keyword and keyword not in self._haystack[index]:
                continue
            if record.get("dataGrade") in left_out:
                continue
            if any(record.get(key) not in values for key, values in wanted.items()):
                continue
            stamp = record.get("updateTime")
            if start and (stamp is None or stamp < start):
                continue
            if end and (stamp is None or stamp >= end):
                continue
            matched.append(index)
        # NULLs sort first ascending and last descending (as MySQL does); ties by id.
        matched.sort(key=lambda i: self.records[i]["resourceId"])
        matched.sort(
            key=lambda i: (
                self.records[i].get(order_by) is not None,
                self.records[i].get(order_by) or "",
            ),
            reverse=sort_type == "DESC",
        )
        total = len(matched)
        rows = matched[(page_no - 1) * page_size : page_no * page_size]
        page = ",".join(self._json[i] for i in rows)
        return (
            f'{{"total":{total},"pageNo":{page_no},"pageSize":{page_size},'
            f'"pages":{math.ceil(total / page_size)},"list":[{page}]}}'
        )

    def _detail(self, params: Mapping[str, str]) -> str:
        index = self._by_id.get(params.get("resourceId", ""))
        if index is None:
            raise ApiError(4004, "资源不存在")
        return self._json[index]

    def _departments(self, params: Mapping[str, str]) -> str:
        counts: dict[str, int] = {}
        for record in self.records:
            if record["deptCode"]:
                counts[record["deptCode"]] = counts.get(record["deptCode"], 0) + 1
        return _dumps(
            [
                {
                    "deptCode": org["name"],
                    "deptName": org["title"],
                    "parentCode": None,
                    "resourceCount": counts.get(org["name"], 0),
                }
                for org in self.platform.organizations
            ]
        )

    def _health(self, params: Mapping[str, str]) -> str:
        return _dumps({"status": "UP", "version": "2.3.1", "resourceCount": len(self.records)})

    # -- faults --------------------------------------------------------------------------

    async def _apply_fault(self, request: Request) -> Response | None:
        def garbage() -> Response:
            body = (
                '{"code":0,"msg":"success","data":{"total":12,"pageNo":1,"list":[{"resourceId":'
                '"5e1f9c' + CORRUPTION
            )
            return Response(body.encode(), media_type=JSON_TYPE)

        async def huge() -> HugeBody:
            # A valid search answer whose list repeats the records.
            base = self.base_url or str(request.base_url).rstrip("/")
            block = ",".join(self._json).replace("{base}", base).encode()
            head = f'{{"code":0,"msg":"success","data":{{"total":{len(self._json)},"list":['
            return HugeBody(head.encode(), block, b"]}}", JSON_TYPE)

        return await self.faults.failure(request, garbage=garbage, huge=huge)


def _positive(params: Mapping[str, str], key: str, default: int) -> int:
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(4001, f"参数错误：{key}必须为正整数")
    return int(raw)


def _time(params: Mapping[str, str], key: str) -> str | None:
    raw = (params.get(key) or "").strip()
    if not raw:
        return None
    try:
        datetime.strptime(raw, TIME_FORMAT)
    except ValueError:
        raise ApiError(4001, f"参数错误：{key}格式应为yyyy-MM-dd HH:mm:ss") from None
    return raw


def _answer_error(exc: ApiError) -> Response:
    body = _dumps({"code": exc.code, "msg": exc.msg, "data": None})
    return Response(body.encode(), exc.status, media_type=JSON_TYPE)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
