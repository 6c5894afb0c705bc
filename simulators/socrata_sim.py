"""A simulated Socrata site: the Discovery API (``/api/catalog/v1``) over a ``PlatformCatalogue``.

Written against the Discovery API reference (the OpenAPI document behind
dev.socrata.com/docs/other/discovery, ``apis/discovery.json`` in socrata/dev.socrata.com),
whose rules it enforces:

- ``{"results", "resultSetSize", "timings", "warnings"}`` answers, ``{"error": "..."}``
  with HTTP 400 for a bad request;
- ``limit`` (default 100) and ``offset``, refused when ``offset + limit`` passes 10000;
  ``scroll_id`` pages by asset id and refuses ``order``;
- repeated parameters (``tags=a&tags=b``, also ``tags[]=``) are a union, distinct ones an
  intersection; ``categories`` / ``tags`` read the domain's own category and tags when
  ``search_context`` is given, Socrata's algorithmic ones otherwise;
- ``q`` matches name, description, category, tags, column names and attribution, all
  words when there are three or fewer (``min_should_match`` default ``3<60%``);
- ``order`` by ``relevance`` (default), ``name``, ``updatedAt``... with ``ASC``/``DESC``;
  assets missing the value sort last;
- an unrecognised parameter is a custom metadata key (``Catalog_Share-Type=...``), so a
  misspelt one yields no results rather than an error.

Also ``/api/catalog/v1/domains``, ``/domain_categories``, ``/domain_tags`` (counts) and
``/api/catalog/v1/domains/{domain}/facets``. The records come from
``simulators.socrata_records``. Faults and the ``/__sim__`` admin endpoints work as in
``simulators.ckan_sim``::

    >>> sim = SocrataSimulator(build_city_catalogue().platforms["city-open-portal"])
    >>> sim.fault.mode = "garbage"
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulators.catalogue import PlatformCatalogue
from simulators.faults import (
    CORRUPTION,
    Fault,
    HugeBody,
    SimStats,
    SimulatedPlatform,
)
from simulators.socrata_records import Asset, asset_index, tokens

__all__ = ["DEFAULT_LIMIT", "PAGING_WINDOW", "SocrataSimulator", "connector_options"]

DEFAULT_LIMIT = 100
PAGING_WINDOW = 10_000
JSON_TYPE = "application/json; charset=utf-8"

ASSET_TYPES = frozenset(
    {
        "api", "calendar", "chart", "datalens", "dataset", "federated_href", "file", "filter",
        "form", "href", "link", "map", "measure", "story", "visualization",
    }
)  # fmt: skip

# Parameters whose every value our (public, published, official, base) assets share.
_ALL_HAVE: Mapping[str, str] = {
    "visibility": "open",
    "audience": "public",
    "approval_status": "approved",
    "provenance": "official",
    "public": "true",
    "published": "true",
    "explicitly_hidden": "false",
    "data_json_hidden": "false",
    "derived": "false",
}
_BOOLEAN_PARAMS = frozenset({"public", "published", "explicitly_hidden", "data_json_hidden"})
_IGNORED = frozenset({"search_context", "show_visibility", "min_should_match", "app_token"})
_NO_MATCH = frozenset({"parent_ids", "derived_from", "shared_to"})

_ORDERS: Mapping[str, tuple[Callable[[Asset], Any], bool]] = {
    # attribute -> (sort key, descending by default); a None key sorts last
    "relevance": (lambda a: None, True),
    "name": (lambda a: a.name.lower(), False),
    "owner": (lambda a: a.owner_name.lower(), False),
    "dataset_id": (lambda a: a.uid, False),
    "datatype": (lambda a: "dataset", False),
    "domain_category": (lambda a: a.domain_category.lower() if a.domain_category else None, False),
    "createdAt": (lambda a: a.created, True),
    "updatedAt": (lambda a: a.updated, True),
    "page_views_total": (lambda a: a.page_views["page_views_total"], True),
    "page_views_last_month": (lambda a: a.page_views["page_views_last_month"], True),
    "page_views_last_week": (lambda a: a.page_views["page_views_last_week"], True),
}
# Parameters matching one value of an asset: (the value, whether the match ignores case).
_FIELDS: Mapping[str, tuple[Callable[[Asset], str | None], bool]] = {
    "ids": (lambda a: a.uid, False),
    "names": (lambda a: a.name, True),
    "attribution": (lambda a: a.attribution, False),  # documented as case-sensitive
    "license": (lambda a: a.license, False),
    "for_user": (lambda a: a.owner_id, False),
}
_MIN_MATCH = re.compile(r"^\s*(?:(\d+)\s*<\s*)?(-?\d+)(%?)\s*$")


def connector_options(platform: PlatformCatalogue) -> dict[str, Any]:
    """``options`` of a ``connector: socrata`` source reading this simulator the way the
    CKAN sources read the same catalogue: attributions (organization titles) mapped to
    the organization slugs, domain categories (group titles) to the group slugs."""
    return {
        "departments": {
            org["title"]: {"id": org["name"], "name": org["title"]}
            for org in platform.organizations
        },
        "category_themes": {group["title"]: group["name"] for group in platform.groups},
    }


class BadRequest(Exception):
    """A request the Discovery API answers with 400 and ``{"error": message}``."""


Params = Mapping[str, list[str]]


class SocrataSimulator(SimulatedPlatform):
    """One simulated Socrata site serving ``platform``; ``app`` is its Starlette app.

    ``domain`` is the site's domain name (``metadata.domain``, what ``domains=`` must
    name); by default the host name each request was sent to. ``base_url`` fixes the
    site URL used in links; by default each request's own base URL.
    """

    def __init__(
        self,
        platform: PlatformCatalogue,
        fault: Fault | None = None,
        *,
        stats: SimStats | None = None,
        domain: str | None = None,
        base_url: str | None = None,
    ) -> None:
        super().__init__(platform, fault, stats)
        self.domain = domain
        self.base_url = base_url.rstrip("/") if base_url else None
        self.index = asset_index(platform)
        api = "/api/catalog/v1"
        self.app = Starlette(
            routes=[
                Route(api, self.catalog, methods=["GET"]),
                Route(f"{api}/domains", self.count_domains, methods=["GET"]),
                Route(f"{api}/domain_categories", self.count_categories, methods=["GET"]),
                Route(f"{api}/domain_tags", self.count_tags, methods=["GET"]),
                Route(f"{api}/domains/{{domain}}/facets", self.facets, methods=["GET"]),
                *self.faults.admin_routes(),
            ]
        )

    # -- plumbing ----------------------------------------------------------------------

    def _site(self, request: Request) -> tuple[str, str]:
        base = self.base_url or str(request.base_url).rstrip("/")
        return base, self.domain or request.url.hostname or "localhost"

    async def _serve(
        self, request: Request, name: str, answer: Callable[[Params, str, str], str]
    ) -> Response:
        params = _params(request)
        self.stats.record(name, {k: v[0] if len(v) == 1 else v for k, v in params.items()})
        base, domain = self._site(request)
        fault_response = await self._apply_fault(request, base, domain)
        if fault_response is not None:
            return fault_response
        started = time.perf_counter()
        try:
            body = answer(params, base, domain)
        except BadRequest as exc:
            return Response(_dumps({"error": str(exc)}), 400, media_type=JSON_TYPE)
        millis = round((time.perf_counter() - started) * 1000)
        timings = f'"timings":{{"serviceMillis":{millis},"searchMillis":[{millis},0]}}'
        return Response(f"{body[:-1]},{timings}}}".encode(), media_type=JSON_TYPE)

    async def _apply_fault(self, request: Request, base: str, domain: str) -> Response | None:
        def garbage() -> Response:
            body = '{"results":[{"resource":{"name":"公交线路","id":"8ab3-x9q' + CORRUPTION
            return Response(body.encode(), media_type=JSON_TYPE)

        async def huge() -> HugeBody:
            # A valid catalog answer whose results repeat.
            block = ",".join(_fill(a.json, base, domain) for a in self.index.assets)
            tail = f'],"resultSetSize":{len(self.index.assets)},"timings":{{}},"warnings":[]}}'
            return HugeBody(b'{"results":[', block.encode(), tail.encode(), JSON_TYPE)

        return await self.faults.failure(request, garbage=garbage, huge=huge)

    # -- the Discovery API -------------------------------------------------------------

    async def catalog(self, request: Request) -> Response:
        return await self._serve(request, "catalog", self._search)

    def _search(self, params: Params, base: str, domain: str) -> str:
        limit = _count_param(params, "limit", DEFAULT_LIMIT)
        offset = _count_param(params, "offset", 0)
        order = _order(params)
        scroll = params.get("scroll_id")
        if scroll is not None and order is not None:
            raise BadRequest("Sorting is not supported with scroll_id; remove the order param")
        if scroll is None and offset + limit > PAGING_WINDOW:
            raise BadRequest(
                f"offset + limit must be less than or equal to {PAGING_WINDOW}; "
                f"use scroll_id to page through larger result sets (offset={offset}, "
                f"limit={limit})"
            )
        matched = self._matching(params, domain)
        if scroll is not None:
            after = scroll[-1]
            page = sorted((i for i in matched if self.index.assets[i].uid > after), key=self._uid)
            page = page[:limit]
        else:
            page = self._ordered(matched, order, params)[offset : offset + limit]
        results = ",".join(_fill(self.index.assets[i].json, base, domain) for i in page)
        return f'{{"results":[{results}],"resultSetSize":{len(matched)},"warnings":[]}}'

    def _uid(self, i: int) -> str:
        return self.index.assets[i].uid

    def _matching(self, params: Params, domain: str) -> list[int]:
        """Indices of the assets every parameter admits, in catalogue order."""
        checks: list[Callable[[Asset], bool]] = []
        contextual = "search_context" in params
        for key, values in params.items():
            wanted = {v.strip().lower() for v in values}
            exact = set(values)
            match key:
                case "q" | "limit" | "offset" | "order" | "scroll_id":
                    continue
                case "domains":
                    names = {d.strip().lower() for v in values for d in v.split(",")}
                    if domain.lower() not in names:
                        return []
                case "only":
                    types = {v.strip().lower().removesuffix("s") for v in values}
                    unknown = sorted(t for t in types if t not in ASSET_TYPES)
                    if unknown:
                        raise BadRequest(f"'{unknown[0]}' is not a valid asset type for 'only'")
                    if "dataset" not in types:
                        return []
                case "categories" if contextual:
                    checks.append(_one_of(_category, wanted, fold=True))
                case "categories":
                    checks.append(_any_of(_socrata_categories, wanted))
                case "tags" if contextual:
                    checks.append(_any_of(_domain_tags, wanted))
                case "tags":
                    return []  # our assets carry no algorithmic tags: nothing matches
                case _ if key in _FIELDS:
                    get, fold = _FIELDS[key]
                    checks.append(_one_of(get, wanted if fold else exact, fold=fold))
                case _ if key in _ALL_HAVE:
                    if key in _BOOLEAN_PARAMS and not wanted <= {"true", "false"}:
                        raise BadRequest(f"Invalid boolean value for '{key}': {values[0]!r}")
                    if _ALL_HAVE[key] not in wanted:
                        return []
                case _ if key in _NO_MATCH:
                    return []
                case _ if key in _IGNORED or key.startswith("boost"):
                    continue
                case _:  # a custom metadata key
                    checks.append(_one_of(_metadata_value(key), wanted, fold=True))
        found = [i for i, a in enumerate(self.index.assets) if all(c(a) for c in checks)]
        query = " ".join(params.get("q", []))
        if not query.strip():
            return found
        terms = list(dict.fromkeys(tokens(query)))
        needed = _min_should_match(params.get("min_should_match", ["3<60%"])[-1], len(terms))
        return [i for i in found if self._hits(self.index.assets[i], terms) >= needed]

    @staticmethod
    def _hits(asset: Asset, terms: Sequence[str]) -> int:
        return sum(1 for t in terms if t in asset.name_tokens or t in asset.text_tokens)

    def _ordered(
        self, matched: list[int], order: tuple[str, bool] | None, params: Params
    ) -> list[int]:
        attribute, descending = order or ("relevance", True)
        assets = self.index.assets
        if attribute == "relevance":
            terms = list(dict.fromkeys(tokens(" ".join(params.get("q", [])))))
            if not terms:
                return matched if descending else matched[::-1]

            def score(i: int) -> int:
                a = assets[i]
                return sum(
                    3 * (t in a.name_tokens) + 2 * (t in a.label_tokens) + (t in a.text_tokens)
                    for t in terms
                )

            ranked = sorted(matched, key=lambda i: (-score(i), i))
            return ranked if descending else ranked[::-1]
        key = _ORDERS[attribute][0]
        present = [i for i in matched if key(assets[i]) is not None]
        missing = [i for i in matched if key(assets[i]) is None]
        present.sort(key=lambda i: (key(assets[i]), assets[i].uid), reverse=descending)
        return present + missing

    # -- counts and facets -------------------------------------------------------------

    async def count_domains(self, request: Request) -> Response:
        def answer(params: Params, base: str, domain: str) -> str:
            count = len(self._matching({**params, "q": []}, domain))
            return _dumps({"results": [{"domain": domain, "count": count}] if count else []})

        return await self._serve(request, "domains", answer)

    async def count_categories(self, request: Request) -> Response:
        return await self._serve(
            request, "domain_categories", self._counter("domain_category", _categories)
        )

    async def count_tags(self, request: Request) -> Response:
        return await self._serve(request, "domain_tags", self._counter("domain_tag", _tags))

    def _counter(
        self, field: str, values: Callable[[Asset], Sequence[str]]
    ) -> Callable[[Params, str, str], str]:
        def answer(params: Params, base: str, domain: str) -> str:
            counts = self._counts(self._matching(params, domain), values)
            return _dumps({"results": [{field: v, "count": n} for v, n in counts]})

        return answer

    def _counts(
        self, matched: list[int], values: Callable[[Asset], Sequence[str]]
    ) -> list[tuple[str, int]]:
        counter: Counter[str] = Counter()
        for i in matched:
            counter.update(set(values(self.index.assets[i])))
        return sorted(counter.items(), key=lambda item: (-item[1], item[0]))

    async def facets(self, request: Request) -> Response:
        wanted = request.path_params["domain"]

        def answer(params: Params, base: str, domain: str) -> str:
            if wanted.lower() != domain.lower():
                return _dumps({"results": []})
            matched = self._matching({k: v for k, v in params.items() if k == "only"}, domain)
            facets: list[tuple[str, Callable[[Asset], Sequence[str]]]] = [
                ("datatypes", lambda a: ["dataset"]),
                ("categories", _categories),
                ("tags", _tags),
                ("attribution", lambda a: [a.attribution] if a.attribution else []),
                ("license", lambda a: [a.license] if a.license else []),
            ]
            keys = sorted({k for i in matched for k in self.index.assets[i].metadata})
            facets += [(key, _metadata_values(key)) for key in keys]
            results = []
            for name, values in facets:
                counts = self._counts(matched, values)
                results.append(
                    {
                        "facet": name,
                        "count": sum(n for _, n in counts),
                        "values": [{"value": v, "count": n} for v, n in counts],
                    }
                )
            return _dumps({"results": results})

        return await self._serve(request, "facets", answer)


# -- parameters -------------------------------------------------------------------------


def _params(request: Request) -> dict[str, list[str]]:
    """Query parameters by name (``tags[]`` is ``tags``), repeated values kept in order."""
    out: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        name = key.removesuffix("[]")
        if name == "$$app_token":
            name = "app_token"
        out.setdefault(name, []).append(value)
    return out


def _count_param(params: Params, key: str, default: int) -> int:
    values = params.get(key)
    if not values:
        return default
    raw = values[-1].strip()
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Invalid value for '{key}': {raw!r} is not an integer") from None
    if value < 0:
        raise BadRequest(f"Invalid value for '{key}': must be non-negative, got {value}")
    return value


def _order(params: Params) -> tuple[str, bool] | None:
    values = params.get("order")
    if not values or not values[-1].strip():
        return None
    parts = values[-1].split()
    attribute = parts[0]
    if attribute not in _ORDERS or len(parts) > 2:
        raise BadRequest(
            f"Invalid order: {values[-1]!r}; valid attributes are {', '.join(_ORDERS)}, "
            "optionally followed by ASC or DESC"
        )
    if len(parts) == 1:
        return attribute, _ORDERS[attribute][1]
    direction = parts[1].upper()
    if direction not in ("ASC", "DESC"):
        raise BadRequest(f"Invalid order direction: {parts[1]!r}; use ASC or DESC")
    return attribute, direction == "DESC"


def _min_should_match(spec: str, terms: int) -> int:
    """Elasticsearch's ``minimum_should_match``: ``2``, ``60%``, ``-1`` or ``3<60%``."""
    found = _MIN_MATCH.match(spec)
    if found is None:
        raise BadRequest(f"Invalid min_should_match: {spec!r}")
    threshold, amount, percent = found.group(1), int(found.group(2)), found.group(3)
    if threshold is not None and terms <= int(threshold):
        return terms
    needed = math.floor(terms * amount / 100) if percent else amount
    if needed < 0:
        needed += terms
    return max(1, min(terms, needed)) if terms else 0


# -- records ----------------------------------------------------------------------------


def _one_of(
    get: Callable[[Asset], str | None], allowed: set[str], *, fold: bool
) -> Callable[[Asset], bool]:
    def check(asset: Asset) -> bool:
        value = get(asset)
        return value is not None and (value.strip().lower() if fold else value) in allowed

    return check


def _any_of(get: Callable[[Asset], frozenset[str]], allowed: set[str]) -> Callable[[Asset], bool]:
    def check(asset: Asset) -> bool:
        return not get(asset).isdisjoint(allowed)

    return check


def _category(asset: Asset) -> str | None:
    return asset.domain_category


def _socrata_categories(asset: Asset) -> frozenset[str]:
    return asset.categories


def _domain_tags(asset: Asset) -> frozenset[str]:
    return asset.domain_tags


def _metadata_value(key: str) -> Callable[[Asset], str | None]:
    def get(asset: Asset) -> str | None:
        return asset.metadata.get(key)

    return get


def _metadata_values(key: str) -> Callable[[Asset], Sequence[str]]:
    def get(asset: Asset) -> Sequence[str]:
        return [asset.metadata[key]] if key in asset.metadata else []

    return get


def _categories(asset: Asset) -> Sequence[str]:
    return [asset.domain_category] if asset.domain_category else []


def _tags(asset: Asset) -> Sequence[str]:
    return sorted(asset.domain_tags)


def _fill(record_json: str, base: str, domain: str) -> str:
    return record_json.replace("{base}", base).replace("{domain}", domain)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
