"""`catalogue-gateway serve --workers 2`: two processes on one port, each with its own
audit chain, stopped together and cleanly by SIGTERM."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from gateway.audit.chain import verify
from gateway.demo.run import SOURCE_SETTINGS
from simulators.platforms import PlatformServer
from tests.integration.test_demo_command import free_port

pytestmark = pytest.mark.integration

POLICY = Path(__file__).parents[2] / "gateway" / "demo" / "policy.yaml"
MIN_REQUESTS = 10


def recorded(chain: Path) -> bool:
    """The worker writing ``chain`` has recorded a request (fsync: always, the default)."""
    return chain.exists() and chain.stat().st_size > 0


def test_two_workers_answer_on_one_port_each_auditing_in_its_own_chain(
    tmp_path: Path, platforms: dict[str, PlatformServer]
) -> None:
    shutil.copy(POLICY, tmp_path / "policy.yaml")
    port = free_port()
    config = {
        "server": {"host": "127.0.0.1", "port": port},
        "sources": [
            {"id": pid, "connector": "ckan", "url": s.url, **SOURCE_SETTINGS[pid]}
            for pid, s in platforms.items()
        ],
        "policy": "policy.yaml",
        "audit": {"path": "audit.log"},
        "graphql": {"cursor_secret": "shared-by-every-worker-0123456789"},
        "quality": {"sweep_enabled": False},
    }
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    argv = [sys.executable, "-m", "gateway.cli", "serve", "--config", "gateway.yaml"]
    with subprocess.Popen(
        [*argv, "--workers", "2"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            base = f"http://127.0.0.1:{port}"
            answered = 0
            chains = [tmp_path / "audit.w1.log", tmp_path / "audit.w2.log"]
            deadline = time.monotonic() + 60
            # Until both workers have answered (the second may start listening later): the
            # kernel spreads new connections over the workers that listen.
            while answered < MIN_REQUESTS or not all(recorded(c) for c in chains):
                assert time.monotonic() < deadline, f"{answered} answers, one worker only"
                request = urllib.request.Request(
                    base + "/graphql",
                    data=json.dumps({"query": "{ me { id } }"}).encode(),
                    headers={"Content-Type": "application/json", "X-API-Key": "demo-key-auditor"},
                )
                try:  # a new connection each time
                    with urllib.request.urlopen(request, timeout=10) as response:
                        assert json.loads(response.read()) == {"data": {"me": {"id": "auditor"}}}
                        answered += 1
                except (ConnectionError, urllib.error.URLError):
                    time.sleep(0.1)  # not listening yet
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=40)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert "all 2 workers stopped" in stderr
    results = [verify([chain]) for chain in chains]
    assert all(r.ok for r in results), [str(r.problem) for r in results]
    assert sum(r.records for r in results) == answered  # every answer audited, once
    assert not (tmp_path / "audit.log").exists()
