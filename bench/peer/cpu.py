"""CPU per request of each process in a peer run: the server under test, the simulated
platforms and the load client.

The contenders share two cores with the platforms and the client, so requests per second
is bounded by the CPU the whole machine spends per request, not by one server's CPU. The
report prints each process's share, which is what explains a throughput ratio.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass
from pathlib import Path

from bench.gateway import cpu_seconds


def descendants(pid: int) -> list[int]:
    """``pid`` and every live process below it (Hive Gateway may fork its worker)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(child) for child in task.read_text().split()]
            except OSError:
                continue  # the thread ended meanwhile
    return found


def tree_cpu(pid: int) -> float:
    """User + system CPU seconds used so far by ``pid`` and its live descendants."""
    total = 0.0
    for each in descendants(pid):
        try:
            total += cpu_seconds(each)
        except OSError:
            continue  # exited between listing and reading
    return total


def own_cpu() -> float:
    """CPU seconds used so far by this process (the load client)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuMark:
    """CPU seconds of (server, platforms, client) at one moment."""

    server: float
    platforms: float
    client: float

    @classmethod
    def now(cls, server: int | None, platforms: int) -> CpuMark:
        return cls(tree_cpu(server) if server is not None else 0.0, tree_cpu(platforms), own_cpu())

    def per_request(self, later: CpuMark, requests: int) -> dict[str, float]:
        """CPU milliseconds per request each process spent between this mark and ``later``."""
        count = max(requests, 1)
        spent = {
            "server": later.server - self.server,
            "platforms": later.platforms - self.platforms,
            "client": later.client - self.client,
        }
        per = {name: seconds * 1000 / count for name, seconds in spent.items()}
        per["total"] = sum(per.values())
        return per
