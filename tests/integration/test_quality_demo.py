"""Quality over HTTP against the demo: ``catalogue-gateway quality sweep`` reads the eight
simulated platforms and checks their links; ``qualityReport``, ``/reports`` and
``Dataset.quality`` then show the figures."""

from __future__ import annotations

import contextlib
import importlib.resources
import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway.access import Policy
from gateway.app import Gateway, create_app
from gateway.cli import main
from gateway.config import load_config
from gateway.demo.run import source_entry
from gateway.store import Store
from simulators.platforms import PlatformServer
from tests.integration.conftest import graphql

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def swept_config(
    demo_servers: dict[str, PlatformServer], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    folder = tmp_path_factory.mktemp("quality")
    config = {
        "sources": [
            source_entry(pid, s.spec.kind, s.url, s.spec.catalogue)
            for pid, s in demo_servers.items()
        ],
        "store": {"url": f"sqlite+aiosqlite:///{folder / 'gateway.db'}"},
        "quality": {
            "sweep_requests_per_second": 100,
            "links": {
                "allow_private_addresses": True,
                "per_host_interval_seconds": 0,
                "max_links_per_sweep": 400,
                "concurrency": 16,
            },
        },
    }
    path = folder / "gateway.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["quality", "sweep", "--config", str(path)]) == 0
    assert re.search(r"sweep \d+: 16 departments, \d{4} datasets", printed.getvalue()), printed
    return path


def demo_policy_with_bureau() -> Policy:
    text = importlib.resources.files("gateway.demo").joinpath("policy.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    raw["workflows"] = {"bureau_roles": ["auditor"]}  # the demo's auditor acts for the bureau
    return Policy.parse(raw)


@pytest.fixture
async def client(swept_config: Path) -> Any:
    config = load_config(swept_config)
    gateway = Gateway(config, transport="httpx", policy=demo_policy_with_bureau())
    assert config.store_url is not None
    store = Store(config.store_url)
    gateway.use_quality_store(store)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(gateway)),
            base_url="http://gateway.test",
            timeout=30,
        ) as c:
            yield c
    finally:
        await store.aclose()
        await gateway.aclose()


REPORT = """{ qualityReport { generatedAt departments { department datasets overdue brokenLinks
  averageScore machineReadableShare byOpenType { value count } problems { code count } }
  history(days: 7) { day department averageScore } } }"""


async def test_the_sweep_feeds_the_bureaus_quality_report(client: httpx.AsyncClient) -> None:
    body = await graphql(client, REPORT, key="demo-key-auditor")
    assert "errors" not in body, body
    departments = {d["department"]: d for d in body["data"]["qualityReport"]["departments"]}
    assert len(departments) == 16  # the 15 and the city portal's own (big-data)
    transport = departments["transport"]
    assert transport["datasets"] == 200  # its own records; the city portal's copies not again
    assert 0 < transport["averageScore"] < 100
    assert sum(d["overdue"] for d in departments.values()) > 0
    # Links were checked (up to the cap): some simulated files are gone.
    assert sum(d["brokenLinks"] for d in departments.values()) > 0
    codes = {p["code"] for d in departments.values() for p in d["problems"]}
    assert {"MISSING_NOT_SHARED_BASIS", "OVERDUE", "UNKNOWN_CLASS_VALUE"} <= codes
    assert {p["department"] for p in body["data"]["qualityReport"]["history"]} == set(departments)


async def test_a_department_analyst_sees_its_own_figures_only(client: httpx.AsyncClient) -> None:
    body = await graphql(client, REPORT, key="demo-key-transport-analyst")
    assert [d["department"] for d in body["data"]["qualityReport"]["departments"]] == ["transport"]


async def test_reports_page_shows_the_open_directory_to_everyone(
    client: httpx.AsyncClient,
) -> None:
    public = await client.get("/reports")
    assert public.status_code == 200 and 'lang="zh-CN"' in public.text
    assert public.text.count("<svg") == 3
    bureau = await client.get("/reports", headers={"x-api-key": "demo-key-auditor"})
    rows = lambda text: {  # noqa: E731
        name: int(n) for name, n in re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td>", text)
    }
    open_counts, all_counts = rows(public.text), rows(bureau.text)
    assert set(open_counts) <= set(all_counts) and len(all_counts) == 16
    assert all(open_counts[name] <= all_counts[name] for name in open_counts)
    assert sum(open_counts.values()) < sum(all_counts.values())


async def test_dataset_quality_is_served_with_the_demo_records(client: httpx.AsyncClient) -> None:
    query = """{ datasets(first: 50, filter: {departments: ["transport"]}) { edges { node {
        quality { score openness timeliness { status } links { status } problems { code } } }
    } } }"""
    body = await graphql(client, query, key="demo-key-transport-analyst")
    qualities = [e["node"]["quality"] for e in body["data"]["datasets"]["edges"]]
    assert qualities and all(0 <= q["score"] <= 100 for q in qualities)
    assert {q["timeliness"]["status"] for q in qualities} <= {"ON_TIME", "OVERDUE", "UNKNOWN"}
    assert {q["links"]["status"] for q in qualities} >= {"OK"}
