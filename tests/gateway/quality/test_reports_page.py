"""``/reports``: zh-CN HTML, SVG charts drawn by the server, no external assets, the
figures the caller may see; and in headless Chromium, a screenshot showing the charts."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import struct
import threading
import time
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from gateway.app import create_app
from gateway.store import Store
from tests.gateway.conftest import GatewayFactory, asgi_client
from tests.gateway.invariant_catalogue import SOURCES
from tests.gateway.quality.test_sweep_reports import REPORT_POLICY, link_router, make_sweep

CHROMIUM = "/usr/bin/chromium"


class Assets(HTMLParser):
    """Every URL the page would load, and the SVG charts it holds."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.charts: list[str] = []
        self.bars: list[dict[str, str | None]] = []
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        for key in ("src", "href", "xlink:href", "action"):
            if values.get(key):
                self.urls.append(str(values[key]))
        if tag == "svg" and values.get("data-chart"):
            self.charts.append(str(values["data-chart"]))
        if tag == "rect" and "bar" in (values.get("class") or ""):
            self.bars.append(values)


@pytest.fixture
async def reporting(make_gateway: GatewayFactory, store: Store) -> Any:
    gateway = make_gateway(SOURCES, policy=REPORT_POLICY)
    router = link_router()
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler)) as client:
        await make_sweep(gateway, store, client).run_once()
    gateway.use_quality_store(store)
    return gateway


async def page(gateway: Any, key: str | None = None) -> httpx.Response:
    async with asgi_client(gateway) as client:
        return await client.get("/reports", headers={"x-api-key": key} if key else {})


async def test_the_page_is_chinese_html_with_three_server_drawn_charts_and_no_assets(
    reporting: Any,
) -> None:
    response = await page(reporting)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    parsed = Assets()
    parsed.feed(response.text)
    assert parsed.lang == "zh-CN"
    assert parsed.charts == ["scores", "problems", "trend"]
    assert parsed.urls == []  # nothing to fetch: no script, stylesheet, font or image
    assert "<script" not in response.text
    assert "公共数据质量报告" in response.text


async def test_anonymous_callers_see_the_open_directorys_figures(reporting: Any) -> None:
    text = (await page(reporting)).text
    # Open directory: busstops (transport) and clinics (health), one each.
    rows = dict(re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td>", text))
    assert rows == {"Transport Bureau": "1", "Health Commission": "1"}
    assert "开放目录" in text


async def test_the_bureau_sees_every_record_and_a_department_its_own(reporting: Any) -> None:
    bureau = dict(
        re.findall(
            r"<tr><td>([^<]+)</td><td>(\d+)</td>", (await page(reporting, "key-bureau")).text
        )
    )
    assert bureau == {"Transport Bureau": "5", "Health Commission": "4"}
    clerk = dict(
        re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td>", (await page(reporting, "key-clerk")).text)
    )
    assert clerk == {"Transport Bureau": "5", "Health Commission": "1"}


async def test_a_wrong_key_is_refused(reporting: Any) -> None:
    response = await page(reporting, "not-a-key")
    assert response.status_code == 401
    assert "Transport" not in response.text


async def test_before_any_sweep_the_page_says_so(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(SOURCES, policy=REPORT_POLICY)
    response = await page(gateway)
    assert response.status_code == 200 and 'id="empty"' in response.text


# -- in a browser ------------------------------------------------------------------------


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB(A) rows of an 8-bit, non-interlaced PNG (as Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * channels, [], bytes(width * channels)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = bytes(line)
        rows.append(prev)
    return width, channels, rows


def count_colour(png: bytes, rgb: tuple[int, int, int]) -> int:
    width, channels, rows = png_pixels(png)
    return sum(
        1
        for row in rows
        for x in range(width)
        if tuple(row[x * channels : x * channels + 3]) == rgb
    )


@pytest.mark.browser
def test_the_report_renders_its_charts_in_headless_chromium(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")
    url = asyncio.run(_swept_store(make_gateway, tmp_path))
    gateway = make_gateway(SOURCES, policy=REPORT_POLICY)
    store = Store(url)
    gateway.use_quality_store(store)  # its connections open in the server's loop
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(gateway), lifespan="off", log_level="warning")
    )

    async def serve() -> None:
        try:
            await server.serve(sockets=[sock])
        finally:
            # Closed in the loop that opened its connections: a store left open leaks an
            # aiosqlite connection that the garbage collector reports in a later test.
            await store.aclose()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.02)
    requested: list[str] = []
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                tab = browser.new_page(viewport={"width": 1200, "height": 1400})
                tab.on("request", lambda r: requested.append(r.url))
                tab.goto(f"http://127.0.0.1:{port}/reports", wait_until="load")
                assert tab.title() == "公共数据质量报告"
                shots = {
                    chart: tab.locator(f"#chart-{chart}").screenshot()
                    for chart in ("scores", "problems", "trend")
                }
                tab.screenshot(path=str(tmp_path / "reports.png"), full_page=True)
            finally:
                browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert requested == [f"http://127.0.0.1:{port}/reports"]
    # The pictures show the charts: score bars in blue, broken-link bars in red, and the
    # trend lines in their colours.
    assert count_colour(shots["scores"], (0x1F, 0x6F, 0xEB)) > 200
    assert count_colour(shots["problems"], (0xD1, 0x24, 0x2F)) > 50
    assert count_colour(shots["trend"], (0x1F, 0x6F, 0xEB)) > 10
    assert (tmp_path / "reports.png").stat().st_size > 10_000


async def _swept_store(make_gateway: GatewayFactory, tmp_path: Path) -> str:
    """A SQLite store holding one sweep's figures; its URL."""
    from gateway.store import open_store

    url = f"sqlite+aiosqlite:///{tmp_path / 'q.db'}"
    store = await open_store(url, upgrade_schema=True)
    gateway = make_gateway(SOURCES, policy=REPORT_POLICY)
    router = link_router()
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler)) as client:
        await make_sweep(gateway, store, client).run_once()
    await store.aclose()
    return url


def test_the_png_reader_reads_what_zlib_and_struct_write() -> None:
    # A 2x1 RGB image, filter 0: red then blue.
    raw = b"\x00" + bytes((255, 0, 0, 0, 0, 255))
    ihdr = struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    assert count_colour(png, (255, 0, 0)) == 1 and count_colour(png, (0, 0, 255)) == 1


async def test_each_page_view_is_audited(reporting: Any, tmp_path: Path) -> None:
    import json

    from gateway.audit import AuditLog

    reporting.audit = AuditLog(tmp_path / "audit.log", fsync="never")
    await reporting.audit.open()
    response = await page(reporting, "key-clerk")
    await reporting.audit.aclose()
    assert response.status_code == 200
    (record,) = [json.loads(x) for x in (tmp_path / "audit.log").read_text().splitlines()]
    assert (record["caller"], record["operation"], record["outcome"]) == ("clerk", "reports", "ok")
