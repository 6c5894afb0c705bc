"""GraphiQL is served entirely by the gateway: same-origin assets, strict CSP, no CDN.

The unit tests check the page, the static app and the vendored files. The browser test
(marked ``browser``) loads the page in headless Chromium with every request to another
origin blocked, runs the default query against a fake endpoint and checks the result pane;
it is skipped when Playwright or ``/usr/bin/chromium`` is missing. Set
``GRAPHIQL_SCREENSHOT=/tmp/graphiql.png`` to keep its screenshot.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

with warnings.catch_warnings():
    # Starlette >= 1.x prefers httpx2 for its TestClient and warns (an error under
    # filterwarnings=error) when it falls back to httpx; either client works here.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

import gateway.http.graphiql as graphiql_module
from gateway.http.graphiql import (
    DEFAULT_QUERY,
    GRAPHIQL_ASSET_PREFIX,
    GRAPHIQL_TITLE,
    STATIC_DIR,
    graphiql_page,
    graphiql_static_app,
    wants_graphiql,
)

CHROMIUM = "/usr/bin/chromium"

REQUIRED_CSP = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self' data:",
)


# --------------------------------------------------------------------------- helpers


class _PageParser(HTMLParser):
    """Collects every src/href, the script tags and the JSON config block."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.scripts: list[dict[str, str | None]] = []
        self.title = ""
        self.config_text: str | None = None
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.urls.append((tag, name, value))
        if tag == "script":
            self.scripts.append(attributes)
            if attributes.get("id") == "graphiql-config":
                self._in = "config"
                self.config_text = ""
        elif tag == "title":
            self._in = "title"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "title"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "config":
            self.config_text = (self.config_text or "") + data
        elif self._in == "title":
            self.title += data


def _parse(html_text: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(html_text)
    parser.close()
    return parser


def _config(html_text: str) -> dict[str, Any]:
    text = _parse(html_text).config_text
    assert text is not None, "no graphiql-config block"
    value = json.loads(text)
    assert isinstance(value, dict)
    return value


def _page_app(
    *, headers_hint: dict[str, str] | None = None, graphql: Route | None = None
) -> Starlette:
    async def page(request: Request) -> Response:
        return graphiql_page("/graphql", default_query=DEFAULT_QUERY, headers_hint=headers_hint)

    routes: list[Route | Mount] = [
        Mount(GRAPHIQL_ASSET_PREFIX, app=graphiql_static_app()),
        Route("/graphql", page, methods=["GET"]),
    ]
    if graphql is not None:
        routes.append(graphql)
    return Starlette(routes=routes)


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(_page_app(headers_hint={"X-API-Key": "demo-key"})) as test_client:
        yield test_client


def _vendored_files() -> list[Path]:
    return sorted(p for p in STATIC_DIR.iterdir() if p.suffix in (".js", ".css"))


# --------------------------------------------------------------------------- the page


def test_page_references_only_same_origin_assets(client: TestClient) -> None:
    response = client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    parsed = _parse(response.text)
    assert parsed.urls, "page references no assets?"
    for tag, attribute, value in parsed.urls:
        parts = urlsplit(value)
        if parts.scheme == "data":
            continue
        assert not parts.scheme and not parts.netloc, f"{tag} {attribute}={value} leaves the origin"
        assert value.startswith("/") and not value.startswith("//"), value
        if tag in ("script", "link") and attribute in ("src", "href") and value != "data:,":
            assert value.startswith(GRAPHIQL_ASSET_PREFIX + "/"), value
    # Every executable script is external and same-origin; the only inline block is data.
    for script in parsed.scripts:
        if "src" not in script:
            assert script.get("type") == "application/json", script
    script_srcs = [s["src"] for s in parsed.scripts if s.get("src")]
    assert any("graphiql.min.js" in (src or "") for src in script_srcs)
    assert (script_srcs[-1] or "").startswith(f"{GRAPHIQL_ASSET_PREFIX}/init.js")
    assert parsed.title == GRAPHIQL_TITLE == "Catalogue gateway · GraphiQL"


def test_page_has_strict_csp(client: TestClient) -> None:
    response = client.get("/graphql")
    csp = response.headers["content-security-policy"]
    directives = [d.strip() for d in csp.split(";")]
    for required in REQUIRED_CSP:
        assert required in directives, required
    assert "'unsafe-eval'" not in csp
    assert "http" not in csp and "*" not in csp
    script_src = next(d for d in directives if d.startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_every_referenced_asset_is_served(client: TestClient) -> None:
    page = client.get("/graphql")
    expected_types = {".js": "text/javascript", ".css": "text/css"}
    assets = [v for _, _, v in _parse(page.text).urls if not v.startswith("data:")]
    assert len(assets) >= 7
    for url in assets:
        response = client.get(url)
        assert response.status_code == 200, url
        suffix = Path(urlsplit(url).path).suffix
        assert response.headers["content-type"].split(";")[0] == expected_types[suffix], url
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "immutable" in response.headers["cache-control"], url
        assert response.content, url
        # The ?v= token is the content hash, so a long cache is safe.
        token = dict(p.split("=", 1) for p in urlsplit(url).query.split("&"))["v"]
        assert hashlib.sha256(response.content).hexdigest().startswith(token), url


def test_static_app_revalidates_and_refuses_escapes(client: TestClient) -> None:
    first = client.get(f"{GRAPHIQL_ASSET_PREFIX}/init.js")
    assert first.status_code == 200
    assert first.headers["cache-control"] == "public, max-age=3600"
    again = client.get(
        f"{GRAPHIQL_ASSET_PREFIX}/init.js", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert client.get(f"{GRAPHIQL_ASSET_PREFIX}/missing.js").status_code == 404
    assert client.get(f"{GRAPHIQL_ASSET_PREFIX}/../graphiql.py").status_code == 404
    assert client.post(f"{GRAPHIQL_ASSET_PREFIX}/init.js").status_code == 405
    licence = client.get(f"{GRAPHIQL_ASSET_PREFIX}/LICENSES/graphiql.LICENSE")
    assert licence.status_code == 200
    assert licence.headers["content-type"].startswith("text/plain")


def test_default_query_and_headers_reach_the_config(client: TestClient) -> None:
    page = client.get("/graphql").text
    config = _config(page)
    assert config["endpoint"] == "/graphql"
    assert config["defaultQuery"] == DEFAULT_QUERY
    assert config["title"] == GRAPHIQL_TITLE
    assert json.loads(config["defaultHeaders"]) == {"X-API-Key": "demo-key"}
    assert 'datasets(search: "公交", first: 10)' in DEFAULT_QUERY
    assert "公交" in page  # UTF-8 as is, not mangled


def test_no_headers_hint_means_no_default_headers() -> None:
    config = _config(bytes(graphiql_page(default_query="{ me { id } }").body).decode())
    assert config["defaultHeaders"] is None
    assert config["endpoint"] == "/graphql"


def test_substituted_values_cannot_break_out_of_the_page() -> None:
    nasty = (
        'query { datasets(search: "</script><script>alert(1)</script>'
        ' <!-- 公交 & 地铁 \u2028\u2029 \' \\" ") { totalCount } }'
    )
    hint = {"X-Purpose": "</script><img src=x onerror=alert(2)>", "X-Note": "数据 & <b>"}
    page = graphiql_page("/api/graphql", default_query=nasty, headers_hint=hint)
    html_text = bytes(page.body).decode()
    lowered = html_text.lower()
    assert lowered.count("</script>") == len(_parse(html_text).scripts)
    assert "<script>alert" not in lowered and "<img" not in lowered and "<!--" not in html_text
    assert "\u2028" not in html_text and "\u2029" not in html_text
    config = _config(html_text)
    assert config["defaultQuery"] == nasty
    assert config["endpoint"] == "/api/graphql"
    assert json.loads(config["defaultHeaders"]) == hint
    assert "公交 \\u0026 地铁" in html_text


@pytest.mark.parametrize(
    "endpoint",
    ["https://evil.example/graphql", "//evil.example/graphql", "/\\evil.example", "graphql", ""],
)
def test_endpoint_must_be_site_relative(endpoint: str) -> None:
    with pytest.raises(ValueError):
        graphiql_page(endpoint, default_query="{ __typename }")


# --------------------------------------------------------------------------- wants_graphiql

_BROWSER_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
)


@pytest.mark.parametrize(
    ("method", "query_string", "accept", "expected"),
    [
        ("GET", "", _BROWSER_ACCEPT, True),
        ("GET", "", "text/html", True),
        ("GET", "", "text/*, application/json;q=0.5", True),
        ("GET", "", "application/json, text/html;q=0.9", False),
        ("GET", "", "application/graphql-response+json, text/html;q=0.5", False),
        ("GET", "", "text/html, application/json", False),  # a tie means JSON
        ("GET", "", "*/*", False),
        ("GET", "", "", False),
        ("GET", "", "text/html;q=0", False),
        ("GET", "", "application/json;q=0, text/html;q=0.1", True),
        ("GET", "", "text/html;q=oops", False),
        ("GET", "query=%7B__typename%7D", _BROWSER_ACCEPT, False),
        ("POST", "", _BROWSER_ACCEPT, False),
        ("HEAD", "", _BROWSER_ACCEPT, False),
    ],
)
def test_wants_graphiql(method: str, query_string: str, accept: str, expected: bool) -> None:
    headers = [(b"accept", accept.encode())] if accept else []
    scope = {
        "type": "http",
        "method": method,
        "path": "/graphql",
        "query_string": query_string.encode(),
        "headers": headers,
    }
    assert wants_graphiql(Request(scope)) is expected


# --------------------------------------------------------------------------- vendored files

# Absolute URLs that appear in the vendored bundles only as XML namespaces, hyperlinks
# rendered in the UI, or text of error messages / docs: never fetched when the page loads.
_ALLOWED_URLS = {
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/XML/1998/namespace",
    "http://www.w3.org/1998/Math/MathML",
    "http://",  # markdown-it's linkify normalisation
    "https://github.com/graphql/graphiql",
    "https://codemirror.net/5/doc/manual.html#keymaps",
    "https://github.com/graphql/graphiql/blob/master/examples/graphiql-cdn/index.html#L49",
    "https://commonmark.org/",
    "https://en.wikipedia.org/wiki/IEEE_floating_point",
    "https://reactjs.org/docs/error-decoder.html?invariant=",
    "https://www.onegraph.com",
    "https://github.com/OneGraph/graphiql-explorer",
}
# Licence banners (/*! ... */, /** ... */) name their projects' homepages; they are comments.
_LICENCE_COMMENT = re.compile(r"/\*[!*].*?\*/", re.S)
_URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s"'`)\\]*|https?://""")
_LOAD_PATTERNS = {
    "css url() to another origin": re.compile(
        r"""url\(\s*['"]?\s*(?!data:|#|['"]?\s*\))[a-z][a-z0-9+.-]*:|url\(\s*['"]?\s*//""", re.I
    ),
    "css @import": re.compile(r"@import\b", re.I),
    "dynamic import()": re.compile(r"(?<![\w$.])import\s*\(\s*['\"`]"),
    "importScripts": re.compile(r"importScripts\s*\("),
    "source map": re.compile(r"sourceMappingURL"),
    "CDN host": re.compile(r"unpkg\.com|jsdelivr\.net|googleapis\.com|gstatic\.com|cdnjs", re.I),
}


def test_vendored_files_fetch_nothing_from_other_origins() -> None:
    files = _vendored_files()
    assert {p.name for p in files} >= {
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql.min.js",
        "graphiql.min.css",
        "init.js",
    }
    problems: list[str] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for label, pattern in _LOAD_PATTERNS.items():
            for match in pattern.finditer(text):
                problems.append(f"{path.name}: {label}: {text[match.start() : match.end() + 60]!r}")
        code = _LICENCE_COMMENT.sub("", text)
        for match in _URL.finditer(code):
            url = match.group(0)
            if url.startswith("//"):
                # "//" inside minified code is mostly comments or regexes; only a
                # protocol-relative URL in a string literal would load something.
                before = code[max(match.start() - 1, 0)]
                if before not in "\"'`(=":
                    continue
            if url not in _ALLOWED_URLS:
                problems.append(f"{path.name}: unexpected URL {url!r}")
    assert not problems, "\n".join(problems)


def test_css_fonts_are_embedded() -> None:
    css = (STATIC_DIR / "graphiql.min.css").read_text(encoding="utf-8")
    for match in re.finditer(r"url\(\s*['\"]?([^'\")]*)", css):
        assert match.group(1).startswith("data:"), match.group(1)[:80]


def test_versions_file_matches_vendored_files() -> None:
    listed: dict[str, str] = {}
    for line in (STATIC_DIR / "VERSIONS.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        digest, name, package = line.split()[:3]
        assert re.fullmatch(r"(@[\w.-]+/)?[\w.-]+@\d+\.\d+\.\d+", package), line
        listed[name] = digest
        assert hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest() == digest, name
    own = {"init.js", "page.css"}
    assert set(listed) == {p.name for p in _vendored_files()} - own
    licences = {p.name for p in (STATIC_DIR / "LICENSES").iterdir()}
    assert {"react.LICENSE", "react-dom.LICENSE", "graphiql.LICENSE"} <= licences


def test_vendored_assets_stay_small() -> None:
    total = sum(p.stat().st_size for p in STATIC_DIR.rglob("*") if p.is_file())
    assert total < 4 * 1024 * 1024, total


# --------------------------------------------------------------------------- browser

_FAKE_SDL = """
type Query {
  datasets(search: String, first: Int = 20, after: String): DatasetConnection!
}
type DatasetConnection {
  totalCount: Int!
  totalCountIsExact: Boolean!
  facets: Facets!
  sources: [SourceResult!]!
  edges: [DatasetEdge!]!
  pageInfo: PageInfo!
}
type Facets { departments: [Bucket!]! themes: [Bucket!]! formats: [Bucket!]! }
type Bucket { value: String! count: Int! }
type Source { id: ID! }
enum SourceStatus { OK TIMEOUT ERROR CIRCUIT_OPEN SKIPPED }
type SourceResult {
  source: Source!
  status: SourceStatus!
  latencyMs: Float
  matched: Int
  message: String
}
type DatasetEdge { cursor: String! node: Dataset! }
type PageInfo { hasNextPage: Boolean! endCursor: String }
type Department { id: ID! name: String! }
type Distribution { format: String accessUrl: String }
type Dataset {
  id: ID!
  identifier: String
  title: String!
  department: Department
  source: Source!
  modified: String
  updateFrequency: String
  shareType: String
  openType: String
  distributions: [Distribution!]!
}
"""

_CANNED: dict[str, Any] = {
    "data": {
        "datasets": {
            "totalCount": 1,
            "totalCountIsExact": True,
            "facets": {
                "departments": [{"value": "transport", "count": 1}],
                "themes": [{"value": "transport", "count": 1}],
                "formats": [{"value": "CSV", "count": 1}],
            },
            "sources": [
                {
                    "source": {"id": "transport"},
                    "status": "OK",
                    "latencyMs": 12.5,
                    "matched": 1,
                    "message": None,
                }
            ],
            "edges": [
                {
                    "cursor": "c1",
                    "node": {
                        "id": "ZHM6dHJhbnNwb3J0OmJ1cy1zdG9wcw",
                        "identifier": "310000-JT-0001",
                        "title": "公交线路站点 (canned-bus-stops)",
                        "department": {"id": "transport", "name": "交通委员会"},
                        "source": {"id": "transport"},
                        "modified": "2026-01-15T08:00:00+08:00",
                        "updateFrequency": "DAILY",
                        "shareType": "UNCONDITIONAL",
                        "openType": "OPEN",
                        "distributions": [{"format": "CSV", "accessUrl": None}],
                    },
                }
            ],
            "pageInfo": {"hasNextPage": False, "endCursor": "c1"},
        }
    }
}


class _FakeGraphQL:
    """POST /graphql: introspection from a small SDL, anything else the canned answer."""

    def __init__(self) -> None:
        from graphql import build_schema

        self.schema = build_schema(_FAKE_SDL)
        self.operations: list[tuple[dict[str, Any], dict[str, str]]] = []

    async def handle(self, request: Request) -> Response:
        from graphql import graphql_sync

        body = await request.json()
        self.operations.append((body, dict(request.headers)))
        query = body.get("query", "")
        if "__schema" in query:
            result = graphql_sync(self.schema, query, variable_values=body.get("variables"))
            return JSONResponse(result.formatted)
        return JSONResponse(_CANNED)


class _Server:
    """Uvicorn on a pre-bound loopback socket, in a background thread."""

    def __init__(self, app: Starlette) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port: int = self.sock.getsockname()[1]
        config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive(), "uvicorn died"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.mark.browser
def test_graphiql_runs_a_query_in_headless_chromium(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")

    fake = _FakeGraphQL()
    app = _page_app(
        headers_hint={"X-API-Key": "demo-key"},
        graphql=Route("/graphql", fake.handle, methods=["POST"]),
    )
    blocked: list[str] = []
    requested: list[str] = []
    console_errors: list[str] = []
    page_errors: list[str] = []
    screenshot = Path(os.environ.get("GRAPHIQL_SCREENSHOT", tmp_path / "graphiql.png"))

    with _Server(app) as server, sync_api.sync_playwright() as playwright:
        origin = f"http://127.0.0.1:{server.port}"

        def gate(route: Any) -> None:
            url = route.request.url
            parts = urlsplit(url)
            if parts.scheme == "data" or (
                parts.scheme == "http"
                and parts.hostname == "127.0.0.1"
                and parts.port == server.port
            ):
                route.continue_()
            else:
                blocked.append(url)
                route.abort()

        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.route("**/*", gate)
            page = context.new_page()
            page.on("request", lambda r: requested.append(r.url))
            page.on(
                "console",
                lambda m: console_errors.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: page_errors.append(str(e)))

            page.goto(f"{origin}/graphql", wait_until="load")
            page.wait_for_selector(".graphiql-container .graphiql-query-editor .CodeMirror")
            assert page.title() == GRAPHIQL_TITLE
            # The default query is in the editor, Chinese intact.
            editor_text = page.evaluate(
                "() => document.querySelector('.graphiql-query-editor .CodeMirror')"
                ".CodeMirror.getValue()"
            )
            assert editor_text == DEFAULT_QUERY
            # The headers editor is enabled and pre-filled from the hint.
            headers_text = page.evaluate(
                "() => document.querySelector("
                "'.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror')"
                ".CodeMirror.getValue()"
            )
            assert json.loads(headers_text) == {"X-API-Key": "demo-key"}
            # Wait for the schema so the editor lints against it.
            deadline = time.monotonic() + 10
            while not any("__schema" in op[0].get("query", "") for op in fake.operations):
                assert time.monotonic() < deadline, "GraphiQL never introspected the schema"
                page.wait_for_timeout(50)

            page.click(".graphiql-execute-button")
            page.wait_for_function(
                "() => { const el = document.querySelector('.result-window .CodeMirror');"
                " return el && el.CodeMirror.getValue().includes('canned-bus-stops'); }"
            )
            result_text = page.evaluate(
                "() => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()"
            )
            assert json.loads(result_text) == _CANNED
            # What a person sees (CodeMirror renders only the visible lines).
            visible = page.locator(".result-window").inner_text().replace("\xa0", " ")
            assert '"totalCount": 1' in visible, visible
            page.screenshot(path=str(screenshot))
        finally:
            browser.close()

    executed = [op for op in fake.operations if "__schema" not in op[0].get("query", "")]
    assert len(executed) == 1
    body, headers = executed[0]
    assert body["query"] == DEFAULT_QUERY
    assert headers.get("x-api-key") == "demo-key"
    assert not blocked, f"requests to other origins were attempted: {blocked}"
    assert all(urlsplit(u).scheme == "data" or u.startswith(origin + "/") for u in requested)
    assert not page_errors, page_errors
    # CSP violations ("Refused to load ...") and failed loads surface as console errors.
    assert not console_errors, console_errors
    assert screenshot.stat().st_size > 10_000


CJK_FONTS = ("PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei")


def test_graphiql_font_stacks_name_the_systems_cjk_fonts() -> None:
    """GraphiQL's stacks ("Roboto", "Fira Code") have no CJK glyphs: page.css, loaded after
    graphiql.min.css, redefines them on GraphiQL's own selectors with installed CJK fonts."""
    page = re.sub(r"/\*.*?\*/", "", (STATIC_DIR / "page.css").read_text("utf-8"), flags=re.S)
    vendored = (STATIC_DIR / "graphiql.min.css").read_text(encoding="utf-8")
    selectors = re.search(r"\}([^{}]*)\{[^{}]*--font-family:\"Roboto\"", vendored)
    assert selectors is not None
    rule = re.search(r"([^{}]*)\{([^{}]*--font-family:[^{}]*)\}", page)
    assert rule is not None
    assert {s.strip() for s in rule.group(1).split(",")} == {
        s.strip() for s in selectors.group(1).split(",")
    }
    for variable in ("--font-family", "--font-family-mono"):
        stack = re.search(rf"{variable}:([^;]*);", rule.group(2))
        assert stack is not None, variable
        for font in CJK_FONTS[:3]:
            assert f'"{font}"' in stack.group(1), (variable, font)
    order = graphiql_module._STYLESHEETS
    assert order.index("page.css") > order.index("graphiql.min.css")
