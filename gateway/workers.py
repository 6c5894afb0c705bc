"""``serve --workers N``: N gateway processes answering on one listening socket.

The supervisor (this process) reserves the port (a bound, never listening socket with
``SO_REUSEPORT``) and starts N copies of ``serve``, each listening on that port with its
own ``SO_REUSEPORT`` socket (``--reuse-port``): the kernel spreads new connections over
the workers by a hash of the client's address and port. (One listening socket shared by
all would let one worker's event loop accept a whole burst of connections at once and
leave the others idle: asyncio accepts up to the backlog per wake-up.) A connection stays
with its worker; a worker's queued connections are reset if it dies. Each worker is a
whole gateway: its own event loop, upstream cache, audit chain (``audit.path`` with
``.w<i>`` before the suffix, see ``gateway.audit.worker_audit_path``) and connections to
the store and Redis.

SIGTERM or SIGINT stops every worker gracefully (each finishes its requests, as a single
``serve`` does) and then the supervisor; a worker still running after
``STOP_GRACE_SECONDS`` is killed. A worker that exits on its own is reported in the log
and started again; one that dies within ``EARLY_EXIT_SECONDS`` of its start (a broken
store, an audit log it cannot open) stops the whole server with exit code 1 rather than
restarting in a loop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

log = logging.getLogger("gateway.workers")

STOP_GRACE_SECONDS = 30.0
EARLY_EXIT_SECONDS = 10.0
_POLL_SECONDS = 0.2


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` with ``SO_REUSEPORT`` that never listens: it holds
    the port (and picks one for port 0) while the workers listen beside it."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def listen_reusing_port(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A worker's own listening socket on the supervisor's port (``SO_REUSEPORT``)."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass(slots=True)
class _Worker:
    index: int
    process: subprocess.Popen[bytes]
    started: float


class Supervisor:
    """Runs ``workers`` copies of ``command`` (with ``--worker-index I --reuse-port --port
    P``, P the port ``listener`` holds)."""

    def __init__(self, command: Sequence[str], listener: socket.socket, workers: int) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.command = list(command)
        self.listener = listener
        self.count = workers
        self.workers: dict[int, _Worker] = {}
        self._stopping = False

    def _spawn(self, index: int) -> None:
        port = self.listener.getsockname()[1]
        argv = [*self.command, "--worker-index", str(index), "--reuse-port", "--port", str(port)]
        process = subprocess.Popen(argv)
        self.workers[index] = _Worker(index, process, time.monotonic())
        log.info("worker %d started (pid %d)", index, process.pid)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT (exit 0) or a worker fails at start (exit 1)."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        host, port = self.listener.getsockname()[:2]
        log.info("serving on %s:%d with %d worker processes", host, port, self.count)
        status = 0
        try:
            for index in range(1, self.count + 1):
                self._spawn(index)
            while not self._stopping:
                time.sleep(_POLL_SECONDS)
                if not self._reap():
                    status = 1
                    break
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.listener.close()
        return status

    def _reap(self) -> bool:
        """Report and restart workers that exited; False when one failed at start."""
        for worker in list(self.workers.values()):
            code = worker.process.poll()
            if code is None or self._stopping:
                continue
            lived = time.monotonic() - worker.started
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            if lived < EARLY_EXIT_SECONDS:
                log.error(
                    "worker %d (pid %d) %s %.1f s after it started; stopping the server "
                    "(its own log lines above say why)",
                    worker.index,
                    worker.process.pid,
                    how,
                    lived,
                )
                return False
            log.error(
                "worker %d (pid %d) %s; starting it again",
                worker.index,
                worker.process.pid,
                how,
            )
            self._spawn(worker.index)
        return True

    def _stop_all(self) -> None:
        alive = [w for w in self.workers.values() if w.process.poll() is None]
        for worker in alive:
            with contextlib.suppress(ProcessLookupError):
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in alive:
            try:
                worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error(
                    "worker %d (pid %d) did not stop within %.0f s; killing it",
                    worker.index,
                    worker.process.pid,
                    STOP_GRACE_SECONDS,
                )
                worker.process.kill()
                worker.process.wait()
        log.info("all %d workers stopped", len(self.workers))


def watch_parent(interval: float = 1.0) -> threading.Thread:
    """In a worker: send this process SIGTERM (a graceful stop) once the supervisor that
    started it is gone (killed with SIGKILL, say), instead of serving on as an orphan."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        log.error("the supervisor (pid %d) is gone; this worker stops", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, name="watch-supervisor", daemon=True)
    thread.start()
    return thread


def worker_command(argv: Sequence[str]) -> list[str]:
    """The command line of one worker: this ``serve`` invocation without ``--workers``."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--workers":
            skip = True
            continue
        if arg.startswith("--workers="):
            continue
        out.append(arg)
    return [sys.executable, "-m", "gateway.cli", *out]
