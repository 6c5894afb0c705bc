"""Run simulated department platforms on loopback, each its own uvicorn server.

Every server listens on a socket bound before it starts (port 0 by default, so the OS
picks a free port and nothing races for it). Two ways to run them:

    async with running_platforms(demo_specs()) as servers:   # in the current loop
        print(servers["transport-platform"].url)

    with PlatformThread(demo_specs()) as servers:            # in a background thread
        servers["city-open-portal"].fault.mode = "hang"

Servers never install signal handlers (the demo's gateway owns Ctrl-C), and shutdown
releases hung requests, so stopping takes a fraction of a second.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import socket
import threading
from collections.abc import AsyncIterator, Callable, Generator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

import uvicorn

from simulators.catalogue import EXTRA_PLATFORMS, PlatformCatalogue, build_city_catalogue
from simulators.ckan_sim import Fault, SimStats

__all__ = [
    "DEMO_PLATFORMS",
    "PlatformServer",
    "PlatformSpec",
    "PlatformThread",
    "demo_specs",
    "main",
    "running_platforms",
]

DEMO_PLATFORMS = ("transport-platform", "livelihood-platform", "city-open-portal")
HOST = "127.0.0.1"
STOP_TIMEOUT = 5.0


class Simulator(Protocol):
    """What a simulated platform of any kind offers the server that runs it.

    Built as ``SimulatorClass(catalogue, fault, stats=SimStats())``.
    """

    app: Any
    stats: SimStats

    def release(self) -> None:
        """Wake every request held by a ``hang`` fault (at shutdown)."""


# kind -> "module:Class"; imported only when a spec of that kind is started.
SIMULATORS: dict[str, str] = {
    "ckan": "simulators.ckan_sim:CkanSimulator",
    "datajson": "simulators.datajson_sim:DataJsonSimulator",
    "dcat": "simulators.dcat_sim:DcatSimulator",
    "opendatasoft": "simulators.opendatasoft_sim:OpenDataSoftSimulator",
    "rest": "simulators.rest_sim:RestSimulator",
    "socrata": "simulators.socrata_sim:SocrataSimulator",
}


def simulator_class(kind: str) -> Callable[..., Simulator]:
    module, _, name = SIMULATORS[kind].partition(":")
    factory: Callable[..., Simulator] = getattr(importlib.import_module(module), name)
    return factory


@dataclass(frozen=True)
class PlatformSpec:
    """One platform to simulate: its records, its kind of API and its (mutable) fault."""

    id: str
    catalogue: PlatformCatalogue
    kind: str = "ckan"
    fault: Fault = field(default_factory=Fault)
    port: int = 0


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to whoever runs the event loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class PlatformServer:
    """A running simulated platform: ``url``, its ``fault`` and request ``stats``."""

    def __init__(self, spec: PlatformSpec) -> None:
        self.spec = spec
        self.simulator = simulator_class(spec.kind)(spec.catalogue, spec.fault, stats=SimStats())
        # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on sockets that say they are TCP;
        # without it every small response waits ~40 ms for a delayed ACK.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind((HOST, spec.port))
        except OSError:
            self._socket.close()
            raise
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://{HOST}:{self.port}"
        config = uvicorn.Config(
            self.simulator.app,
            host=HOST,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def fault(self) -> Fault:
        return self.spec.fault

    @property
    def stats(self) -> SimStats:
        return self.simulator.stats

    async def start(self) -> None:
        """Serve on the pre-bound socket; returns once the server accepts connections."""
        self._task = asyncio.create_task(
            self._server.serve(sockets=[self._socket]), name=f"platform-{self.id}"
        )
        while not self._server.started:
            if self._task.done():
                self._socket.close()
                self._task.result()  # raises why it could not start
                raise RuntimeError(f"platform {self.id} stopped during startup")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Stop accepting, release hung requests and wait for the server to finish."""
        self.simulator.release()
        self._server.should_exit = True
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_TIMEOUT)
            except TimeoutError:
                self._server.force_exit = True
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        self._socket.close()

    def __repr__(self) -> str:
        return f"<PlatformServer {self.id} {self.url}>"


@contextlib.asynccontextmanager
async def running_platforms(
    specs: Sequence[PlatformSpec],
) -> AsyncIterator[dict[str, PlatformServer]]:
    """Start ``specs`` in the running event loop; yields servers by platform id."""
    servers: dict[str, PlatformServer] = {}
    try:
        for spec in specs:
            servers[spec.id] = PlatformServer(spec)
        await asyncio.gather(*(s.start() for s in servers.values()))
        yield servers
    finally:
        await asyncio.gather(*(s.stop() for s in servers.values()))


class PlatformThread:
    """Run platforms in a background thread with its own event loop (sync tests, bench).

    >>> with PlatformThread(demo_specs()) as servers:
    ...     httpx.get(servers["transport-platform"].url + "/api/3/action/status_show")
    """

    def __init__(self, specs: Sequence[PlatformSpec]) -> None:
        self.specs = list(specs)
        self.servers: dict[str, PlatformServer] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def __enter__(self) -> dict[str, PlatformServer]:
        self.start()
        return self.servers

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="simulated-platforms", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()
        self._thread = None

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the thread that called start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with running_platforms(self.specs) as servers:
            self.servers.update(servers)
            self._ready.set()
            await self._stop.wait()


def demo_specs(seed: int = 2026, *, base_port: int = 0) -> list[PlatformSpec]:
    """The demo's platforms: the three CKAN ones, then every extra platform whose kind has
    a simulator. ``base_port`` > 0 numbers their ports from it."""
    city = build_city_catalogue(seed)
    kinds = {pid: "ckan" for pid in DEMO_PLATFORMS}
    kinds |= {pid: kind for pid, kind in EXTRA_PLATFORMS.items() if kind in SIMULATORS}
    return [
        PlatformSpec(pid, city.platforms[pid], kind=kind, port=base_port + n if base_port else 0)
        for n, (pid, kind) in enumerate(kinds.items())
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m simulators.platforms``: serve the demo platforms until Ctrl-C.

    Useful to run them in their own process, e.g. so a benchmark of the gateway does
    not share a CPU (and the GIL) with the platforms it calls.
    """
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--base-port",
        type=int,
        default=0,
        help="first port (the others follow); 0 picks free ports",
    )
    args = parser.parse_args(argv)

    async def serve() -> None:
        async with running_platforms(demo_specs(args.seed, base_port=args.base_port)) as servers:
            for server in servers.values():
                print(f"{server.id:<22} {server.url}", flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
