"""`catalogue-gateway demo` as a user runs it: a real process, real ports, GraphiQL."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_serves_graphiql_and_merged_results() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            banner.append(line)
            if "Ctrl-C" in line or not line:
                break
        text = "".join(banner)
        assert f"http://127.0.0.1:{port}/graphql" in text
        assert "demo-key-transport-analyst" in text and "demo-key-auditor" in text
        assert "demo-key-data-bureau" in text and "demo-key-<department>-reviewer" in text
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        # Sources served from a local index load in the background from the start;
        # /readyz answers 503 ("loading") until they have, as an orchestrator would wait.
        readiness: dict[str, Any] = {}
        for _ in range(600):
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=10) as ready:
                    readiness = json.loads(ready.read())
                    break
            except urllib.error.HTTPError as exc:
                readiness = json.loads(exc.read())
                assert readiness["status"] in ("loading", "unavailable"), readiness
                time.sleep(0.1)
        assert readiness.get("status") == "ready", readiness
        assert not any(source["loading"] for source in readiness["sources"])
        page_request = urllib.request.Request(base + "/graphql", headers={"Accept": "text/html"})
        with urllib.request.urlopen(page_request, timeout=5) as page:
            html = page.read().decode()
        assert "graphiql" in html.lower() and "unpkg" not in html and "cdn" not in html.lower()
        query = (
            '{ datasets(search: "公交", first: 5) { totalCount edges { node { title } } '
            "facets { departments { value } } sources { source { id } status } } }"
        )
        request = urllib.request.Request(
            base + "/graphql",
            data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json", "X-API-Key": "demo-key-transport-analyst"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
        connection = body["data"]["datasets"]
        assert connection["totalCount"] >= 5
        assert len(connection["edges"]) == 5
        # several kinds of platform, every one answering, many departments merged
        assert len(connection["sources"]) >= 5
        assert {s["status"] for s in connection["sources"]} == {"OK"}, connection["sources"]
        assert len(connection["facets"]["departments"]) >= 6
        # The demo seeds data demands in every state; the reviewers answer them.
        demands = urllib.request.Request(
            base + "/graphql",
            data=json.dumps(
                {
                    "query": "{ dataDemands(first: 50) { edges { node { state overdue contact "
                    "{ email } } } } demandRanking(first: 3) { themes { theme } } }"
                }
            ).encode(),
            headers={"Content-Type": "application/json", "X-API-Key": "demo-key-data-bureau"},
        )
        with urllib.request.urlopen(demands, timeout=10) as response:
            seeded = json.loads(response.read())["data"]
        nodes = [edge["node"] for edge in seeded["dataDemands"]["edges"]]
        assert {n["state"] for n in nodes} == {"RECEIVED", "ASSIGNED", "ANSWERED", "CLOSED"}
        assert any(n["overdue"] for n in nodes)
        assert all(n["contact"]["email"] for n in nodes)  # the bureau sees contacts
        assert seeded["demandRanking"]["themes"][0]["theme"] == "transport"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        finally:
            assert process.stdout is not None
            process.stdout.close()
    assert "Traceback" not in "".join(banner)
    # the demo's temp folder goes when the demo stops
    audit_log = re.search(r"Audit log: (\S+)", "".join(banner))
    assert audit_log is not None
    assert not Path(audit_log.group(1)).parent.exists()


def test_a_terminated_demo_removes_its_temp_folder() -> None:
    """`kill` / `docker stop` send SIGTERM: the demo stops as with Ctrl-C, cleaning up."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "demo", "--port", str(free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    with process.stdout:
        banner = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            banner.append(line)
            if "Ctrl-C" in line or not line:
                break
        audit_log = re.search(r"Audit log: (\S+)", "".join(banner))
        assert audit_log is not None, "".join(banner)
        folder = Path(audit_log.group(1)).parent
        assert folder.is_dir()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert not folder.exists()
