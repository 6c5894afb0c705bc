"""Per-department counts the sweep adds up, and what a report shows from them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from gateway.quality.indicators import LinkState, Quality, Timeliness
from schema.model import Dataset


def empty() -> dict[str, Any]:
    return {
        "datasets": 0,
        "by_share_type": {},
        "by_open_type": {},
        "overdue": 0,
        "broken_links": 0,
        "machine_readable": 0,
        "score_sum": 0,
        "problems": {},
    }


def add(counts: dict[str, Any], dataset: Dataset, quality: Quality) -> None:
    counts["datasets"] += 1
    for key, value in (
        ("by_share_type", dataset.share_type.value),
        ("by_open_type", dataset.open_type.value),
    ):
        counts[key][value] = counts[key].get(value, 0) + 1
    counts["overdue"] += quality.timeliness.status is Timeliness.OVERDUE
    counts["broken_links"] += quality.links.state is LinkState.BROKEN
    counts["machine_readable"] += quality.machine_readable
    counts["score_sum"] += quality.score
    for problem in quality.problems:
        code = problem.code.value
        counts["problems"][code] = counts["problems"].get(code, 0) + 1


def merge(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Several sources' counts of one department (each ``{"all": ..., "open": ...}``)."""
    out: dict[str, Any] = {"all": empty(), "open": empty()}
    for part in parts:
        for scope in ("all", "open"):
            total, extra = out[scope], part.get(scope) or empty()
            for key in ("datasets", "overdue", "broken_links", "machine_readable", "score_sum"):
                total[key] += int(extra.get(key, 0))
            for key in ("by_share_type", "by_open_type", "problems"):
                total[key] = dict(Counter(total[key]) + Counter(extra.get(key) or {}))
    return out


def summary(counts: Mapping[str, Any]) -> dict[str, Any]:
    """The report's view of counts: shares and averages."""
    n = int(counts.get("datasets", 0))
    return {
        "datasets": n,
        "by_share_type": dict(sorted((counts.get("by_share_type") or {}).items())),
        "by_open_type": dict(sorted((counts.get("by_open_type") or {}).items())),
        "overdue": int(counts.get("overdue", 0)),
        "broken_links": int(counts.get("broken_links", 0)),
        "machine_readable_share": round(counts.get("machine_readable", 0) / n, 4) if n else 0.0,
        "average_score": round(counts.get("score_sum", 0) / n, 1) if n else 0.0,
        "problems": dict(sorted((counts.get("problems") or {}).items(), key=lambda kv: -kv[1])),
    }
