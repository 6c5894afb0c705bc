"""``catalogue-gateway demo``: simulated department platforms + the gateway, in one process."""

from __future__ import annotations

import importlib.resources
import logging
import os
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
import yaml

from gateway.access import Policy
from gateway.app import Gateway, create_app
from gateway.audit import AuditLog
from gateway.config import GatewayConfig, parse_config
from gateway.demo.demands import seed_demands
from gateway.federation import TransportName
from gateway.http import bounded_http_protocol
from gateway.store import AgreementRepository, NewAgreement, open_store
from gateway.workflows import WorkingCalendar
from schema.model import Sensitivity
from simulators.catalogue import PlatformCatalogue, build_city_catalogue
from simulators.platforms import PlatformServer, demo_specs, running_platforms

log = logging.getLogger("gateway.demo")

# (caller, key, what they see) as printed at start and listed in the README.
DEMO_CALLERS = [
    ("anonymous", None, "OPEN datasets up to sensitivity L1"),
    (
        "transport-analyst",
        "demo-key-transport-analyst",
        "all Transport Bureau data + others' UNCONDITIONAL data up to L2",
    ),
    (
        "health-analyst",
        "demo-key-health-analyst",
        "all Health Commission data + others' UNCONDITIONAL data up to L2",
    ),
    (
        "city-operator",
        "demo-key-city-operator",
        "with X-Purpose: traffic-forecasting, shared transport data up to L3 (contacts masked)",
    ),
    ("auditor", "demo-key-auditor", "metadata only of every shared dataset"),
    (
        "data-bureau",
        "demo-key-data-bureau",
        "the bureau: compliance review of access requests, operation agreements",
    ),
    (
        "<department>-reviewer",
        "demo-key-<department>-reviewer",
        "reviews access requests to <department>'s data (e.g. transport-reviewer)",
    ),
]

# The operation agreement the demo starts with: city-operator's company may use shared
# environment and transport data up to L2 for a year (docs/workflows.md).
DEMO_AGREEMENT = NewAgreement(
    operator="city-ops",
    mode="SECTOR",
    departments=("environment",),
    themes=("transport",),
    dataset_ids=(),
    max_sensitivity=Sensitivity.L2,
    scenarios=(),
    valid_from=date(2026, 1, 1),
    valid_until=date(2027, 12, 31),
    obligations="Demo agreement: report usage quarterly; no resale of raw data.",
    created_by="data-bureau",
)


async def seed_store(url: str) -> None:
    """A new demo store at head, holding the demo's operation agreement."""
    store = await open_store(url, upgrade_schema=True)
    try:
        await AgreementRepository(store).create(DEMO_AGREEMENT, datetime.now(UTC))
    finally:
        await store.aclose()


TRY_QUERY = (
    """-d '{"query":"{ datasets(search: \\"公交\\", first: 3) """
    """{ totalCount edges { node { title } } } }"}'"""
)

# The simulated platforms index extras as exact strings, one key per class, so the CKAN
# connector may count over them exactly (see docs/connectors.md, ``exact_extras``).
CKAN_OPTIONS: dict[str, Any] = {
    "exact_extras": True,
    "extras_keys": {
        "share_type": ["share_type"],
        "open_type": ["open_type"],
        "sensitivity": ["sensitivity"],
        "identifier": ["identifier"],
    },
}

SOURCE_SETTINGS: dict[str, dict[str, Any]] = {
    "transport-platform": {
        "defaults": {"share_type": "CONDITIONAL", "open_type": "NOT_OPEN", "sensitivity": "L2"},
        "authoritative_for": ["transport", "housing", "planning"],
        "options": CKAN_OPTIONS,
    },
    "livelihood-platform": {
        "defaults": {"share_type": "CONDITIONAL", "open_type": "NOT_OPEN", "sensitivity": "L3"},
        "authoritative_for": ["health", "education", "civil-affairs", "public-security"],
        "options": CKAN_OPTIONS,
    },
    "city-open-portal": {
        "defaults": {"share_type": "CONDITIONAL", "open_type": "CONDITIONAL", "sensitivity": "L2"},
        "department": {"id": "big-data", "name": "河西市大数据发展管理局"},
        "authoritative_for": ["environment", "market", "statistics", "big-data"],
        # It harvests the departments' open datasets: copies are found across pages.
        "republishes": ["transport-platform", "livelihood-platform"],
        "options": CKAN_OPTIONS,
    },
}


# The platforms of other kinds: each department runs its own (see catalogue.EXTRA_PLATFORMS).
EXTRA_SETTINGS: dict[str, dict[str, Any]] = {
    "culture-socrata": {"department": "culture", "sensitivity": "L2"},
    "water-ods": {"department": "water", "sensitivity": "L2"},
    "agriculture-dcat": {"department": "agriculture", "sensitivity": "L2"},
    "finance-datajson": {"department": "finance", "sensitivity": "L3"},
    "hr-rest": {"department": "human-resources", "sensitivity": "L3"},
}


def source_entry(
    platform_id: str, kind: str, url: str, catalogue: PlatformCatalogue
) -> dict[str, Any]:
    """The ``sources[]`` entry the demo gateway uses for one simulated platform."""
    entry: dict[str, Any] = {
        "id": platform_id,
        "connector": kind,
        "url": url,
        "timeout_seconds": 2.0,
        # Short, so a fault switched on in a simulator shows within seconds.
        "upstream": {"cache_ttl_seconds": 5},
        # The city writes in Chinese; English titles come as translations (lang: "en").
        "language": "zh",
    }
    if platform_id in SOURCE_SETTINGS:
        return entry | SOURCE_SETTINGS[platform_id]
    extra = EXTRA_SETTINGS[platform_id]
    city = build_city_catalogue()
    department = city.department(extra["department"])
    entry |= {
        "defaults": {
            "share_type": "CONDITIONAL",
            "open_type": "NOT_OPEN",
            "sensitivity": extra["sensitivity"],
        },
        "department": {"id": department.id, "name": department.name_zh},
        "authoritative_for": [department.id],
        # One department's platform speaks for that department only (issue 10).
        "speaks_for": [department.id],
        "options": kind_options(kind, catalogue),
    }
    return entry


def kind_options(kind: str, catalogue: PlatformCatalogue) -> dict[str, Any]:
    """Connector options that read a simulated platform the way the CKAN sources do."""
    if kind == "socrata":
        from simulators.socrata_sim import connector_options

        return connector_options(catalogue)
    if kind == "opendatasoft":
        return {
            "classes_queryable": True,
            "custom_keys": {
                "share_type": ["share_type"],
                "open_type": ["open_type"],
                "sensitivity": ["sensitivity"],
            },
            "publishers": {d.name_zh: d.id for d in build_city_catalogue().departments},
        }
    if kind == "rest":
        from simulators.rest_sim import rest_source_options

        return rest_source_options()
    if kind == "datajson":
        from simulators.datajson_sim import datajson_department_ids

        return {"department_ids": datajson_department_ids(catalogue)}
    return {}


# Grants of the demo policy that have a period, as days relative to the day the demo starts
# (valid_from, valid_until): fixed dates would make the demo, the README's examples and the
# tests that follow them stop working the day the period ends.
DEMO_PERIODS: dict[str, tuple[int, int]] = {"operator-traffic": (-30, 335)}


def demo_policy(today: date | None = None) -> Policy:
    """The demo policy, its dated grants in force from 30 days before ``today`` (default:
    today, UTC) to 335 days after."""
    text = importlib.resources.files("gateway.demo").joinpath("policy.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    today = today or datetime.now(UTC).date()
    for grant in raw.get("grants", ()):
        period = DEMO_PERIODS.get(grant.get("id"))
        if period is not None:
            grant["valid_from"] = (today + timedelta(days=period[0])).isoformat()
            grant["valid_until"] = (today + timedelta(days=period[1])).isoformat()
    return Policy.parse(raw, source_name="gateway/demo/policy.yaml")


def demo_config(
    servers: dict[str, PlatformServer],
    *,
    host: str,
    port: int,
    audit_path: str | None = None,
    store_path: str | None = None,
    source_timeout: float | None = None,
) -> GatewayConfig:
    """The demo's gateway.yaml over ``servers``; ``source_timeout`` replaces each source's
    2 s deadline (tests on a loaded machine use a longer one)."""
    sources = [
        source_entry(platform_id, server.spec.kind, server.url, server.spec.catalogue)
        for platform_id, server in servers.items()
    ]
    if source_timeout is not None:
        sources = [entry | {"timeout_seconds": source_timeout} for entry in sources]
    return parse_config(
        {
            "server": {"host": host, "port": port},
            "sources": sources,
            "audit": {"path": audit_path, "fsync": "interval"},
            # The simulated platforms serve their files on 127.0.0.1: let the link
            # checker ask them (a real deployment keeps private addresses refused).
            "quality": {
                "links": {
                    "allow_private_addresses": True,
                    "per_host_interval_seconds": 0.05,
                    "max_links_per_sweep": 2000,
                }
            },
            "store": {"url": f"sqlite+aiosqlite:///{store_path}" if store_path else None},
        },
        source_name="<demo>",
    )


def banner(url: str, servers: dict[str, PlatformServer], audit_path: str | None = None) -> str:
    lines = [
        "",
        "  Catalogue gateway demo",
        f"  GraphiQL:  {url}/graphql   (open it in a browser)",
        f"  Health:    {url}/healthz   Readiness: {url}/readyz",
        "",
        "  Simulated department platforms:",
    ]
    lines += [
        f"    {pid:<22} {server.spec.kind:<13} {server.url}" for pid, server in servers.items()
    ]
    if audit_path:
        lines += [
            "",
            f"  Audit log: {audit_path}   (removed when the demo stops)",
            f"    check it: catalogue-gateway audit verify {audit_path}",
        ]
    lines += ["", "  Demo callers (send the key in the X-API-Key header):"]
    for caller, key, sees in DEMO_CALLERS:
        lines.append(f"    {caller:<18} {key or '(no key)':<28} {sees}")
    lines += [
        "",
        f"  Try: curl -s {url}/graphql -H 'content-type: application/json' "
        "-H 'x-api-key: demo-key-transport-analyst' " + TRY_QUERY,
        "",
        "  Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


async def seed_demo_demands(config: GatewayConfig, policy: Policy, audit_path: str) -> None:
    """A few data demands in every state, in the demo's store, audited in its log."""
    assert config.store_url is not None
    names = {d.id: d.name_zh for d in build_city_catalogue().departments}
    store = await open_store(config.store_url, upgrade_schema=True)
    try:
        async with AuditLog(Path(audit_path)) as audit:
            await seed_demands(
                store,
                audit=audit,
                calendar=WorkingCalendar(config.server.time_zone),
                settings=policy.workflows,
                now=datetime.now(UTC),
                department_names=names,
            )
    finally:
        await store.aclose()


async def run_demo(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    seed: int = 2026,
    transport: TransportName = "aiohttp",
) -> None:
    # The demo's files (audit log) live as long as the demo: removed when it stops.
    with tempfile.TemporaryDirectory(prefix="catalogue-gateway-demo-") as audit_dir:
        await _run(audit_dir, host=host, port=port, seed=seed, transport=transport)


async def _run(
    audit_dir: str, *, host: str, port: int, seed: int, transport: TransportName
) -> None:
    audit_path = os.path.join(audit_dir, "audit.log")
    # The demo's state (workflows, outbox) lives in a SQLite file beside its audit log.
    store_path = os.path.join(audit_dir, "gateway.db")
    async with running_platforms(demo_specs(seed)) as servers:
        config = demo_config(
            servers, host=host, port=port, audit_path=audit_path, store_path=store_path
        )
        await seed_store(f"sqlite+aiosqlite:///{store_path}")
        policy = demo_policy()
        await seed_demo_demands(config, policy, audit_path)
        gateway = Gateway(
            config,
            transport=transport,
            policy=policy,
            headers_hint={"X-API-Key": "demo-key-transport-analyst"},
        )
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(gateway),
                host=host,
                port=port,
                log_level="warning",
                access_log=False,
                http=bounded_http_protocol(config.server.header_timeout_seconds),
            )
        )
        url = f"http://{host}:{port}"
        print(banner(url, servers, audit_path), flush=True)
        await server.serve()
