"""Compose and serve the Hive Gateway peer (``bench.federation peer`` drives it).

``mesh.config.ts`` describes one JSON-schema subgraph per CKAN platform; ``compose``
runs ``mesh-compose`` with the platforms' URLs and the fixed ``package_search``
parameters in the environment, ``serve`` runs ``hive-gateway supergraph`` on loopback.
``fq`` is an argument, not a fixed parameter: the like-for-like row sends each request
the filter the catalogue gateway sends for its own distinct request.
The Node packages come from ``npm ci`` in this folder (package-lock.json pins them).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

PEER_DIR = Path(__file__).resolve().parent
BIN = PEER_DIR / "node_modules" / ".bin"
# The parameters the GraphQL query passes as arguments; every other one is fixed per source.
ARGUMENTS = ("q", "rows", "start", "fq")
ROW_FIELDS = (
    "result { count results { id title metadata_modified organization { title } "
    "resources { format url } } }"
)


def installed() -> bool:
    return (BIN / "hive-gateway").exists() and (BIN / "mesh-compose").exists()


def compose(urls: Sequence[str], params: Sequence[tuple[str, str]], out: Path) -> Path:
    """Write the supergraph for ``urls``; ``params`` are the gateway's package_search ones."""
    fixed = {name: value for name, value in params if name not in ARGUMENTS}
    env = {"PEER_UPSTREAMS": json.dumps(list(urls)), "PEER_FIXED_PARAMS": json.dumps(fixed)}
    result = subprocess.run(
        [str(BIN / "mesh-compose"), "-o", str(out)],
        cwd=PEER_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"mesh-compose failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return out


@contextmanager
def serve(supergraph: Path, log: Path, port: int) -> Iterator[int]:
    """Run hive-gateway (one process, no forked workers) on 127.0.0.1; yields its pid."""
    argv = [str(BIN / "hive-gateway"), "supergraph", str(supergraph)]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--fork", "1"]
    env: Mapping[str, str] = {**os.environ, "NODE_ENV": "production"}
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=PEER_DIR, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"hive-gateway did not start:\n{log.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.1)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def query(sources: int, search: str, rows: int) -> str:
    """One GraphQL document asking every platform's package_search with the parameters
    the gateway sends (search, rows, start 0), the filter query in the variable ``$fq``."""
    q = json.dumps(search, ensure_ascii=False)
    fields = " ".join(
        f"s{i}: source{i}(q: {q}, rows: {rows}, start: 0, fq: $fq) {{ {ROW_FIELDS} }}"
        for i in range(sources)
    )
    return f"query($fq: String) {{ {fields} }}"
