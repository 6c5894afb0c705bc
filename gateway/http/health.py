"""``/readyz``: whether the gateway can answer, and each source's health and guard state."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from starlette.responses import JSONResponse

from connectors.sdk import Connector, HealthStatus
from gateway.federation import FederatedSearch

__all__ = ["readiness"]


async def readiness(engine: FederatedSearch, connectors: Sequence[Connector]) -> JSONResponse:
    """200 ``ready`` when a source is up and none is still loading; 503 otherwise."""

    async def probe(connector: Any) -> dict[str, Any]:
        health = await engine.check(connector)  # a classified message only
        guard = engine.guard(connector.source_id).report()
        return {
            "id": connector.source_id,
            "status": health.status.value,
            "loading": connector.loading,
            "latencyMs": round(health.latency_ms, 1) if health.latency_ms else None,
            "message": health.message,
            "state": guard.state.value,
            "consecutiveFailures": guard.consecutive_failures,
            "lastError": guard.last_error,
            "latencyP50Ms": (
                round(guard.latency_p50_ms, 1) if guard.latency_p50_ms is not None else None
            ),
            "cachedAnswers": guard.cache_entries,
        }

    sources = await asyncio.gather(*(probe(c) for c in connectors))
    up = sum(1 for s in sources if s["status"] == HealthStatus.UP.value)
    # Not ready while a source's first load runs: queries would find it still loading.
    loading = [s["id"] for s in sources if s["loading"]]
    ready = up > 0 and not loading
    status = "ready" if ready else "loading" if loading else "unavailable"
    return JSONResponse({"status": status, "sources": sources}, status_code=200 if ready else 503)
