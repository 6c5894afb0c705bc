"""`catalogue-gateway serve --config FILE` as an operator runs it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from gateway.demo.run import SOURCE_SETTINGS
from simulators.platforms import PlatformServer
from tests.integration.test_demo_command import free_port

pytestmark = pytest.mark.integration


def env_name(platform_id: str) -> str:
    return platform_id.upper().replace("-", "_") + "_URL"


POLICY = Path(__file__).parents[2] / "gateway" / "demo" / "policy.yaml"


def test_serve_answers_from_a_config_file_behind_a_proxy_with_json_logs(
    tmp_path: Path, platforms: dict[str, PlatformServer]
) -> None:
    shutil.copy(POLICY, tmp_path / "policy.yaml")
    port = free_port()
    config = {
        "server": {"host": "127.0.0.1", "port": port},
        "sources": [
            {
                "id": pid,
                "connector": "ckan",
                "url": "${" + env_name(pid) + "}",
                **SOURCE_SETTINGS[pid],
            }
            for pid in platforms
        ],
        "policy": "policy.yaml",
        "graphql": {"graphiql": False, "introspection": False},
    }
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    env = {
        **os.environ,
        **{env_name(pid): s.url for pid, s in platforms.items()},
    }
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "serve",
            "--config",
            str(tmp_path / "gateway.yaml"),
            "--proxy-headers",
            "--forwarded-allow-ips",
            "127.0.0.1",
            "--log-format",
            "json",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(150):
                try:
                    with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                        ready = json.loads(response.read())
                        break
                except OSError:
                    time.sleep(0.1)
            else:
                raise AssertionError("serve did not start")
            assert {s["status"] for s in ready["sources"]} == {"UP"}
            request = urllib.request.Request(
                base + "/graphql",
                data=json.dumps({"query": "{ me { id department } }"}).encode(),
                headers={
                    "Content-Type": "application/json",
                    "X-API-Key": "demo-key-health-analyst",
                },
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert json.loads(response.read()) == {
                    "data": {"me": {"id": "health-analyst", "department": "health"}}
                }
            introspection = urllib.request.Request(
                base + "/graphql",
                data=json.dumps({"query": "{ __schema { types { name } } }"}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(introspection, timeout=10)
            assert refused.value.code == 400
            refused.value.close()
            searched = urllib.request.Request(
                base
                + "/graphql?query="
                + urllib.parse.quote('{ datasets(search: "ZQX-secret") { totalCount } }'),
                headers={"X-Forwarded-For": "203.0.113.7", "X-Request-Id": "proxy-1"},
            )
            with urllib.request.urlopen(searched, timeout=10) as response:
                assert response.headers["X-Request-Id"] == "proxy-1"
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=15)
    assert "Traceback" not in stderr
    entries = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    access = [e for e in entries if e["logger"] == "gateway.access"]
    # the proxy's X-Forwarded-For is trusted (the request came from 127.0.0.1)
    assert any(
        e["http"]["client"] == "203.0.113.7" and e["http"]["request_id"] == "proxy-1"
        for e in access
    )
    leaks = [line for line in stderr.splitlines() if "ZQX-secret" in line]
    assert not leaks, leaks[0][:600]  # no log line holds search text
