"""How a simulated CKAN platform misbehaves (``Fault``) and what it was asked (``SimStats``).

Both are shared and mutable: tests, benchmarks and the ``/__sim__`` admin endpoints of
``gateway.demo.ckan_sim`` change a ``Fault`` or read ``SimStats`` while the simulator
serves requests, possibly from another thread.

    >>> fault = Fault()
    >>> fault.update({"mode": "hang", "latency_ms": 200})
"""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

__all__ = ["FAULT_MODES", "Fault", "FaultMode", "SimStats"]

FaultMode = Literal["ok", "hang", "error", "garbage", "html", "huge"]
FAULT_MODES: tuple[str, ...] = get_args(FaultMode)


@dataclass
class Fault:
    """How the platform misbehaves; change the fields at any time, even from another thread.

    ``latency_ms`` delays every API answer; ``fail_rate`` answers that share of calls
    with a 503; ``mode`` is ``ok``, ``hang`` (never answers until the client leaves),
    ``error`` (500 HTML page), ``garbage`` (200 JSON content type, broken body), ``html``
    (200 login page) or ``huge`` (200 streaming a valid ~``huge_bytes`` JSON body).

        >>> fault = Fault(latency_ms=50)
        >>> fault.update({"mode": "error"})
    """

    latency_ms: float = 0.0
    mode: FaultMode = "ok"
    fail_rate: float = 0.0
    huge_bytes: int = 40_000_000
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False, compare=False)

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply ``changes`` (JSON-like); raises ``ValueError`` naming every bad key."""
        problems = []
        for key, value in changes.items():
            if key == "mode" and value in FAULT_MODES:
                continue
            if (
                key in ("latency_ms", "fail_rate")
                and isinstance(value, int | float)
                and (value >= 0 and not isinstance(value, bool))
            ):
                continue
            if key == "huge_bytes" and isinstance(value, int) and value > 0:
                continue
            problems.append(f"{key}={value!r}")
        if problems:
            raise ValueError(
                f"invalid fault settings: {', '.join(problems)} (modes: "
                f"{', '.join(FAULT_MODES)}; latency_ms, fail_rate >= 0)"
            )
        for key, value in changes.items():
            setattr(self, key, value)

    def reset(self) -> None:
        """Back to a healthy platform."""
        fresh = Fault()
        self.latency_ms, self.mode, self.fail_rate = fresh.latency_ms, fresh.mode, 0.0
        self.huge_bytes = fresh.huge_bytes

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "latency_ms": self.latency_ms,
            "fail_rate": self.fail_rate,
            "huge_bytes": self.huge_bytes,
        }


class SimStats:
    """Counts API calls per action (thread-safe) and keeps the most recent requests."""

    def __init__(self, keep: int = 1000) -> None:
        self._lock = threading.Lock()
        self.actions: Counter[str] = Counter()
        self.recent: deque[dict[str, Any]] = deque(maxlen=keep)

    def record(self, action: str, params: Mapping[str, Any]) -> None:
        with self._lock:
            self.actions[action] += 1
            self.recent.append({"action": action, "params": dict(params)})

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.actions.values())

    def count(self, action: str) -> int:
        with self._lock:
            return self.actions[action]

    def reset(self) -> None:
        with self._lock:
            self.actions.clear()
            self.recent.clear()

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": sum(self.actions.values()),
                "actions": dict(self.actions),
                "recent": list(self.recent),
            }
