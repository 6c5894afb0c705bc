"""The ``serve --workers N`` supervisor: N children on one inherited socket, a dead worker
reported and restarted, one dying at start stops the server, a graceful stop."""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from gateway import workers
from gateway.audit import worker_audit_path
from gateway.workers import Supervisor, reserve_port, worker_command

# A worker stand-in: listens on the supervisor's port beside the others, answering each
# connection with its index, or exits with a code after a while
# (sys.argv: [..., "--worker-index", I, "--reuse-port", "--port", P]).
CHILD = """
import os, socket, sys, time
index, port = int(sys.argv[-4]), int(sys.argv[-1])
mode = sys.argv[1]
if mode == "exit":
    time.sleep(float(sys.argv[2]))
    sys.exit(3)
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
sock.bind(("127.0.0.1", port))
sock.listen(64)
while True:
    conn, _ = sock.accept()
    conn.sendall(str(index).encode())
    conn.close()
"""


def stop_after(supervisor: Supervisor, seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, supervisor._on_signal, args=(15, None))
    timer.start()
    return timer


def test_every_worker_answers_on_the_one_port_and_all_stop_on_sigterm() -> None:
    listener = reserve_port("127.0.0.1", 0)
    port = listener.getsockname()[1]
    supervisor = Supervisor([sys.executable, "-c", CHILD, "serve"], listener, 2)
    seen: set[str] = set()

    def connect() -> None:
        deadline = time.monotonic() + 30
        # until both have answered (one may listen later): connections are spread over them
        while seen != {"1", "2"} and time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                    seen.add(conn.recv(16).decode())
            except OSError:
                pass  # not listening yet
            time.sleep(0.01)
        supervisor._on_signal(15, None)

    client = threading.Thread(target=connect)
    client.start()
    assert supervisor.run() == 0
    client.join()
    assert seen == {"1", "2"}
    assert all(w.process.returncode is not None for w in supervisor.workers.values())


def test_a_worker_that_dies_later_is_reported_and_started_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(workers, "EARLY_EXIT_SECONDS", 0.0)
    supervisor = Supervisor(
        [sys.executable, "-c", CHILD, "exit", "0.2"], reserve_port("127.0.0.1", 0), 1
    )
    timer = stop_after(supervisor, 2.0)
    with caplog.at_level(logging.INFO, logger="gateway.workers"):
        assert supervisor.run() == 0
    timer.join()
    messages = [r.getMessage() for r in caplog.records]
    restarts = [m for m in messages if "exited with code 3; starting it again" in m]
    assert restarts, messages
    assert sum("worker 1 started" in m for m in messages) == len(restarts) + 1


def test_a_worker_that_dies_at_start_stops_the_server(caplog: pytest.LogCaptureFixture) -> None:
    supervisor = Supervisor(
        [sys.executable, "-c", CHILD, "exit", "0"], reserve_port("127.0.0.1", 0), 2
    )
    timer = stop_after(supervisor, 20.0)  # only if the supervisor fails to stop by itself
    with caplog.at_level(logging.ERROR, logger="gateway.workers"):
        assert supervisor.run() == 1
    timer.cancel()
    assert any("stopping the server" in r.getMessage() for r in caplog.records)


def test_the_worker_command_drops_workers_and_keeps_everything_else() -> None:
    argv = ["serve", "--config", "g.yaml", "--workers", "4", "--port", "9000"]
    assert worker_command(argv)[1:] == [
        "-m",
        "gateway.cli",
        "serve",
        "--config",
        "g.yaml",
        "--port",
        "9000",
    ]
    assert "--workers=2" not in worker_command(["serve", "--workers=2"])


@pytest.mark.parametrize(
    ("configured", "worker", "expected"),
    [
        ("audit.log", 1, "audit.w1.log"),
        ("/var/lib/gw/audit.jsonl", 2, "/var/lib/gw/audit.w2.jsonl"),
        ("audit", 3, "audit.w3"),
    ],
)
def test_each_worker_writes_its_own_chain_beside_the_configured_one(
    configured: str, worker: int, expected: str
) -> None:
    assert worker_audit_path(Path(configured), worker) == Path(expected)
