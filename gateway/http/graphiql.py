"""GraphiQL served entirely by the gateway: no CDN, no external origin.

Government networks are often air-gapped, so the in-browser IDE must not load React or
GraphiQL from unpkg (as strawberry's built-in page does). Everything the page needs is
vendored under ``gateway/static/graphiql/`` (see ``VERSIONS.txt`` there) and served by
:func:`graphiql_static_app`, which the application mounts at :data:`GRAPHIQL_ASSET_PREFIX`::

    Mount(GRAPHIQL_ASSET_PREFIX, app=graphiql_static_app())

The page itself (:func:`graphiql_page`) carries a strict Content-Security-Policy that
forbids every other origin and every inline script: its bootstrap code is the static file
``init.js``, which reads its configuration from a non-executable
``<script type="application/json" id="graphiql-config">`` block.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import re
from pathlib import Path

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import NotModifiedResponse, PathLike, StaticFiles
from starlette.types import Scope

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "DEFAULT_QUERY",
    "GRAPHIQL_ASSET_PREFIX",
    "GRAPHIQL_TITLE",
    "STATIC_DIR",
    "graphiql_page",
    "graphiql_static_app",
    "wants_graphiql",
]

#: URL prefix (from the site root) under which the vendored assets are mounted.
GRAPHIQL_ASSET_PREFIX = "/graphql/static"

#: Directory holding the vendored assets, ``init.js`` and ``page.css``.
STATIC_DIR = Path(__file__).resolve().parent / "static" / "graphiql"

#: Title of the page and text of GraphiQL's logo slot.
GRAPHIQL_TITLE = "Catalogue gateway · GraphiQL"

#: Policy sent with the page: nothing but this origin, no inline script, no framing by others.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)

#: A useful first query: a federated search with facets and per-source status.
DEFAULT_QUERY = """\
# One search across every department's catalogue.
# Authenticate in Headers below: {"X-API-Key": "..."};
# declare your purpose with "X-Purpose".
query SearchDatasets {
  datasets(search: "公交", first: 10) {
    totalCount
    totalCountIsExact
    facets {
      departments { value count }
      themes { value count }
      formats { value count }
    }
    sources {
      source { id }
      status
      latencyMs
      matched
      message
    }
    edges {
      cursor
      node {
        id
        identifier
        title
        department { id name }
        source { id }
        modified
        updateFrequency
        shareType
        openType
        distributions { format accessUrl }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

# Stylesheets then scripts, in load order. The explorer plugin needs window.GraphiQL.
_STYLESHEETS = ("graphiql.min.css", "graphiql-plugin-explorer.min.css", "page.css")
_SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "graphiql-plugin-explorer.min.js",
    "init.js",
)

# A site-relative path: one leading slash, no scheme, no "//" or "\" that a browser could
# turn into another origin, no whitespace or control characters.
_SAFE_ENDPOINT = re.compile(r"^/(?![/\\])[^\s\\\x00-\x1f\x7f]*$")

_MEDIA_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".txt": "text/plain",
    ".license": "text/plain",
    ".json": "application/json",
    ".map": "application/json",
}

_VERSIONED = re.compile(rb"(?:^|&)v=[0-9a-f]+(?:&|$)")
_IMMUTABLE = "public, max-age=31536000, immutable"
_SHORT = "public, max-age=3600"


@functools.cache
def _asset_version(name: str) -> str:
    """Short content hash of one asset, used as a cache-busting ``?v=`` query."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()
    return digest[:12]


def _asset_url(name: str) -> str:
    return f"{GRAPHIQL_ASSET_PREFIX}/{name}?v={_asset_version(name)}"


def _json_for_script(value: object) -> str:
    """JSON safe to embed in a ``<script type="application/json">`` block.

    Script content is raw text (entities are not decoded there), so HTML escaping would
    corrupt the data; instead every character that could end the block or confuse an HTML
    parser is written as a JSON ``\\uXXXX`` escape, which ``JSON.parse`` restores.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def graphiql_page(
    endpoint: str = "/graphql",
    *,
    default_query: str,
    headers_hint: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render the GraphiQL page; every asset it loads comes from this gateway.

    ``endpoint`` is the site-relative path of the GraphQL endpoint (the browser builds the
    absolute URL from ``window.location.origin``). ``default_query`` fills the editor when
    the browser has no saved query. ``headers_hint``, when given, pre-fills the headers
    editor (as pretty-printed JSON) and opens it; headers are never persisted in the
    browser's storage, since they usually carry an API key.

    The response carries :data:`CONTENT_SECURITY_POLICY`. Raises ``ValueError`` when
    ``endpoint`` is not a plain site-relative path.
    """
    if not _SAFE_ENDPOINT.match(endpoint):
        raise ValueError(f"GraphiQL endpoint must be a site-relative path, got {endpoint!r}")
    config: dict[str, object] = {
        "endpoint": endpoint,
        "defaultQuery": default_query,
        "defaultHeaders": (
            json.dumps(headers_hint, ensure_ascii=False, indent=2)
            if headers_hint is not None
            else None
        ),
        "title": GRAPHIQL_TITLE,
    }
    esc = html.escape
    links = "\n".join(
        f'    <link rel="stylesheet" href="{esc(_asset_url(name))}">' for name in _STYLESHEETS
    )
    scripts = "\n".join(f'    <script src="{esc(_asset_url(name))}"></script>' for name in _SCRIPTS)
    page = f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="no-referrer">
    <title>{esc(GRAPHIQL_TITLE)}</title>
    <link rel="icon" href="data:,">
{links}
  </head>
  <body>
    <div id="graphiql">Loading {esc(GRAPHIQL_TITLE)}…</div>
    <noscript>GraphiQL needs JavaScript. POST queries to {esc(endpoint)} instead.</noscript>
    <script type="application/json" id="graphiql-config">{_json_for_script(config)}</script>
{scripts}
  </body>
</html>
"""
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )


class _GraphiQLStaticFiles(StaticFiles):
    """``StaticFiles`` with fixed media types, ``nosniff`` and cache headers.

    Media types do not depend on the host's ``mimetypes`` tables (Python 3.11 says
    ``application/javascript`` on some systems, ``text/javascript`` on others). URLs carrying
    the page's ``?v=<content hash>`` are cached for a year; bare URLs for an hour.
    """

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        suffix = Path(os.fspath(full_path)).suffix.lower()
        response = FileResponse(
            full_path,
            status_code=status_code,
            stat_result=stat_result,
            media_type=_MEDIA_TYPES.get(suffix, "text/plain" if not suffix else None),
        )
        versioned = _VERSIONED.search(scope.get("query_string", b"")) is not None
        response.headers["Cache-Control"] = _IMMUTABLE if versioned else _SHORT
        response.headers["X-Content-Type-Options"] = "nosniff"
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


def graphiql_static_app() -> StaticFiles:
    """ASGI app serving the vendored GraphiQL assets; mount it at :data:`GRAPHIQL_ASSET_PREFIX`."""
    return _GraphiQLStaticFiles(directory=STATIC_DIR)


def _quality(accept: str, media_type: str) -> float:
    """The q-value ``accept`` gives ``media_type``, from its most specific matching range."""
    main, _, sub = media_type.partition("/")
    best_rank, best_q = -1, 0.0
    for item in accept.split(","):
        params = item.split(";")
        media_range = params[0].strip().lower()
        r_main, _, r_sub = media_range.partition("/")
        if media_range == media_type:
            rank = 2
        elif r_main == main and r_sub == "*":
            rank = 1
        elif r_main == "*" and r_sub == "*":
            rank = 0
        else:
            continue
        q = 1.0
        for param in params[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        if rank > best_rank or (rank == best_rank and q > best_q):
            best_rank, best_q = rank, q
    return best_q


def wants_graphiql(request: Request) -> bool:
    """True when a browser asks for the IDE rather than for a GraphQL result.

    That is a GET with no ``query`` parameter whose ``Accept`` header rates ``text/html``
    strictly above JSON (``application/json`` and ``application/graphql-response+json``).
    A tie, a missing ``Accept`` or ``*/*`` (curl, most clients) means JSON.
    """
    if request.method != "GET" or "query" in request.query_params:
        return False
    accept = request.headers.get("accept", "")
    if not accept:
        return False
    html_q = _quality(accept, "text/html")
    json_q = max(
        _quality(accept, "application/json"),
        _quality(accept, "application/graphql-response+json"),
    )
    return html_q > 0.0 and html_q > json_q
