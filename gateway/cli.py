"""``catalogue-gateway``: demo, serve, check-config, hash-key, audit, db."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import getpass
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gateway.access import Policy, hash_api_key
from gateway.audit import cli as audit_cli
from gateway.audit import worker_audit_path
from gateway.config import GatewayConfig, load_config
from gateway.http import LoggingConfig, bounded_http_protocol, configure_logging
from gateway.problems import ConfigError, read_yaml
from gateway.store import StoreError, head_revision, open_shared_redis, open_store, safe_url
from gateway.workers import (
    Supervisor,
    listen_reusing_port,
    reserve_port,
    watch_parent,
    worker_command,
)

log = logging.getLogger("gateway.cli")

EXIT_OK = 0
EXIT_CONFIG = 2
# Allocations between two young-generation collections in a serving process (Python's
# default is 700: a request allocates thousands of short-lived containers, so the
# collector ran several times a request, ~6% of its CPU).
YOUNG_GC_THRESHOLD = 10_000


def _port(text: str) -> int:
    """A TCP port for --port: 0-65535 (0: any free port), refused otherwise."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def _workers(text: str) -> int:
    """A worker count for --workers: 1-64."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of workers: {text!r}") from None
    if not 1 <= count <= 64:
        raise argparse.ArgumentTypeError(f"{count} workers: use 1 to 64")
    return count


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="catalogue-gateway",
        description="One GraphQL schema over live public-data catalogues.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="simulated department platforms + gateway + GraphiQL")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=_port, default=8000, help="gateway port (default 8000)")
    demo.add_argument("--seed", type=int, default=2026, help="sample catalogue seed")
    demo.add_argument(
        "--transport", choices=["aiohttp", "httpx"], default="aiohttp", help="upstream transport"
    )

    serve = sub.add_parser("serve", help="serve a deployment from a config file")
    serve.add_argument("--config", required=True, metavar="FILE")
    serve.add_argument("--host", help="override server.host")
    serve.add_argument("--port", type=_port, help="override server.port")
    serve.add_argument("--transport", choices=["aiohttp", "httpx"], default="aiohttp")
    serve.add_argument(
        "--proxy-headers",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="trust X-Forwarded-For/-Proto from --forwarded-allow-ips (server.proxy_headers)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        metavar="IPS",
        help="comma-separated addresses or networks of the trusted proxies, or '*' "
        "(server.forwarded_allow_ips; default 127.0.0.1)",
    )
    serve.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="override logging.level",
    )
    serve.add_argument("--log-format", choices=["text", "json"], help="override logging.format")
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="N processes answering on the one port (default 1); each writes its own audit "
        "chain (audit.w1.log …); set graphql.cursor_secret so cursors page on any of them",
    )
    # Set by the --workers supervisor for each worker process it starts.
    serve.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)

    check = sub.add_parser("check-config", help="validate a config file, listing every problem")
    check.add_argument("file", metavar="FILE")
    check.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="also check what `serve --workers N` (or N replicas) needs",
    )

    hash_key = sub.add_parser(
        "hash-key", help="print the hashed form of an API key for policy.yaml"
    )
    hash_key.add_argument("key", nargs="?", help="the key (prompted for when omitted)")
    sub.add_parser("print-schema", help="print the GraphQL SDL (schema/catalogue.graphql)")
    audit_cli.add_parser(sub)

    db = sub.add_parser("db", help="the store's database (store.url)")
    db_actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_actions.add_parser("upgrade", help="apply the migrations up to this version's")
    upgrade.add_argument("--config", required=True, metavar="FILE")

    quality = sub.add_parser("quality", help="quality figures of the directory")
    quality_actions = quality.add_subparsers(
        dest="quality_command", required=True, metavar="ACTION"
    )
    sweep = quality_actions.add_parser(
        "sweep", help="read every source now and store the quality figures (one sweep)"
    )
    sweep.add_argument("--config", required=True, metavar="FILE")
    return parser


def _check_config(path: str, workers: int = 1) -> int:
    """Check gateway.yaml and its policy file in one run: every problem of both."""
    errors: list[ConfigError] = []
    config: GatewayConfig | None = None
    try:
        config = load_config(path)
        policy_path = config.policy_path
    except ConfigError as exc:
        errors.append(exc)
        policy_path = _policy_path_anyway(Path(path))
    if policy_path is not None and policy_path.is_file():
        try:
            Policy.load(policy_path)
        except ConfigError as exc:
            errors.append(exc)
    for error in errors:
        print(error, file=sys.stderr)
    if errors or config is None:
        return EXIT_CONFIG
    for warning in (*config.warnings, *workers_warnings(config, workers)):
        print(f"warning: {warning}", file=sys.stderr)
    names = ", ".join(s.settings.id for s in config.sources)
    print(f"{path}: OK ({len(config.sources)} sources: {names})")
    return EXIT_OK


def _policy_path_anyway(config_path: Path) -> Path | None:
    """The policy file a broken gateway.yaml names, if it names one, to check it too."""
    try:
        raw = read_yaml(config_path)
    except ConfigError:
        return None
    named = raw.get("policy") if isinstance(raw, dict) else None
    if not isinstance(named, str) or "${" in named:
        return None
    return config_path.parent / named


def serve_options(args: argparse.Namespace, config: GatewayConfig) -> dict[str, Any]:
    """uvicorn's settings: the config's ``server`` keys, overridden by ``serve``'s flags."""
    server = config.server
    proxy_headers = server.proxy_headers if args.proxy_headers is None else args.proxy_headers
    allow_ips = (
        args.forwarded_allow_ips
        if args.forwarded_allow_ips is not None
        else ",".join(server.forwarded_allow_ips)
    )
    return {
        "host": args.host or server.host,
        "port": args.port if args.port is not None else server.port,
        "proxy_headers": proxy_headers,
        "forwarded_allow_ips": allow_ips,
        "log_level": config.logging.level.lower(),
        "log_config": None,  # uvicorn's own loggers go through the gateway's handler
        "access_log": False,  # the gateway writes its own, without query strings
    }


def _serve(args: argparse.Namespace, argv: Sequence[str]) -> int:
    import uvicorn

    from gateway.app import Gateway, create_app

    try:
        config = load_config(args.config)
        overrides = {
            key: value
            for key, value in (("level", args.log_level), ("format", args.log_format))
            if value is not None
        }
        if overrides:
            config = dataclasses.replace(
                config, logging=config.logging.model_copy(update=overrides)
            )
        configure_logging(config.logging)
        if args.worker_index is None:  # the supervisor or the only process checks it once
            for warning in workers_warnings(config, args.workers):
                log.warning("%s", warning)
            asyncio.run(_check_store(config))
        if args.workers > 1 and args.worker_index is None:
            if config.policy_path is not None:
                Policy.load(config.policy_path)  # its problems here, not N times from workers
            return _supervise(args, config, argv)
        if args.worker_index is not None:
            config = worker_config(config, args.worker_index)
        gateway = Gateway(config, transport=args.transport)
    except (ConfigError, StoreError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    app = create_app(gateway)
    settle_heap()
    options = serve_options(args, config)
    http = bounded_http_protocol(config.server.header_timeout_seconds)
    if not args.reuse_port:
        uvicorn.run(app, **options, http=http)
        return EXIT_OK
    try:
        sock = listen_reusing_port(options["host"], options["port"])
    except OSError as exc:
        print(f"worker {args.worker_index}: cannot listen ({exc.strerror or exc})", file=sys.stderr)
        return EXIT_CONFIG
    watch_parent()  # a worker whose supervisor is gone stops too
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C reaches the workers too
        uvicorn.Server(uvicorn.Config(app, **options, http=http)).run(sockets=[sock])
    return EXIT_OK


def settle_heap() -> None:
    """Set the collector up for serving: what startup built (modules, schema, policy, some
    180,000 objects) is frozen out of the collector's scans, which otherwise walked it all
    at each full collection, and young collections run every ``YOUNG_GC_THRESHOLD``
    allocations. Only the cycle collector's timing changes: nothing is kept that reference
    counting would free."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, middle, old)


def worker_config(config: GatewayConfig, index: int) -> GatewayConfig:
    """Worker ``index``'s view of ``config``: its own audit chain (``audit.w<i>.log``), and
    the periodic quality sweep in worker 1 only (one sweep per host is enough; the
    workflow sweep runs in each, as it runs in each replica)."""
    if config.audit.path is not None:
        own = worker_audit_path(Path(config.audit.path), index)
        config = dataclasses.replace(
            config, audit=config.audit.model_copy(update={"path": str(own)})
        )
    if index > 1:
        quality = config.quality.model_copy(update={"sweep_enabled": False})
        config = dataclasses.replace(config, quality=quality)
    return config


def _supervise(args: argparse.Namespace, config: GatewayConfig, argv: Sequence[str]) -> int:
    options = serve_options(args, config)
    try:
        listener = reserve_port(options["host"], options["port"])
    except OSError as exc:
        print(
            f"cannot listen on {options['host']}:{options['port']} ({exc.strerror or exc}); "
            "choose another --port or stop what holds it",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    log.info("%s", sharing_summary(config, args.workers))
    return Supervisor(worker_command(argv), listener, args.workers).run()


def sharing_summary(config: GatewayConfig, workers: int) -> str:
    """What the ``workers`` processes share and what each keeps, for the start-up log."""
    store = config.store_url or ""
    if store.startswith("sqlite"):
        shared_store = "the SQLite store file (WAL mode; one host only: use PostgreSQL for several)"
    else:
        shared_store = "the PostgreSQL store"
    limits = (
        "rate-limit buckets in Redis (shared.redis_url)"
        if config.shared.redis_url is not None
        else "rate-limit buckets per worker (set shared.redis_url to share them)"
    )
    audit = (
        f"one audit chain per worker ({worker_audit_path(Path(config.audit.path), 1).name} …)"
        if config.audit.path is not None
        else "no audit trail"
    )
    return (
        f"{workers} workers share {shared_store}; {limits}; {audit}; each keeps its own "
        "upstream cache"
    )


def workers_warnings(config: GatewayConfig, workers: int) -> tuple[str, ...]:
    """What ``serve --workers N`` (N > 1) or several replicas need that ``config`` lacks."""
    if workers <= 1:
        return ()
    found = []
    if config.graphql.cursor_secret is None:
        found.append(
            f"--workers {workers} without graphql.cursor_secret: each worker seals cursors "
            "with its own random secret, so a cursor fails (BAD_CURSOR) when the next page "
            "lands on another worker; set graphql.cursor_secret (32+ characters)"
        )
    if config.limits.rate is not None and config.shared.redis_url is None:
        found.append(
            f"--workers {workers} without shared.redis_url: each worker keeps its own "
            f"rate-limit buckets, so a caller gets up to {workers}x limits.rate; set "
            "shared.redis_url to share them"
        )
    return tuple(found)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _read_key() -> str:
    """Prompt without echo on a terminal; read one line from a pipe (no GetPassWarning)."""
    if sys.stdin.isatty():
        return getpass.getpass("API key: ")
    return sys.stdin.readline().rstrip("\r\n")


async def _check_store(config: GatewayConfig) -> None:
    """Fail before serving, with a clear message, when the store is unusable or behind, or
    the shared Redis unreachable."""
    if config.shared.redis_url is not None:
        redis = await open_shared_redis(config.shared.redis_url.get_secret_value())
        await redis.aclose()
    if config.store_url is None:
        return
    store = await open_store(config.store_url, upgrade_schema=config.store_upgrades_at_start)
    await store.aclose()


async def _upgrade(url: str) -> None:
    store = await open_store(url, upgrade_schema=True)
    await store.aclose()


def _db(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        if config.store_url is None:  # load_config always resolves one; kept for safety
            raise StoreError("store.url is not set")
        asyncio.run(_upgrade(config.store_url))
    except (ConfigError, StoreError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    print(f"{safe_url(config.store_url)}: at revision {head_revision()} (head)")
    return EXIT_OK


def _quality_sweep(args: argparse.Namespace) -> int:
    from gateway.app import Gateway

    try:
        config = load_config(args.config)
        gateway = Gateway(config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG

    async def sweep() -> str:
        if config.store_url is None:
            raise StoreError("store.url is not set")
        gateway.store = await open_store(
            config.store_url, upgrade_schema=config.store_upgrades_at_start
        )
        try:
            sweep_id = await gateway.quality_sweep().run_once()
            gateway.use_quality_store(gateway.store)
            assert gateway.quality_reports is not None
            shown = await gateway.quality_reports.latest({"*": "all"})
        finally:
            await gateway.aclose()
        datasets = sum(s.figures["datasets"] for s in shown)
        return f"sweep {sweep_id}: {len(shown)} departments, {datasets} datasets"

    try:
        print(asyncio.run(sweep()))
    except StoreError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(LoggingConfig())  # `serve` applies the config's logging section
    if args.command == "check-config":
        return _check_config(args.file, args.workers)
    if args.command == "hash-key":
        key = args.key or _read_key()
        if not key:
            print("no key given", file=sys.stderr)
            return EXIT_CONFIG
        print(hash_api_key(key))
        return EXIT_OK
    if args.command == "serve":
        return _serve(args, sys.argv[1:] if argv is None else argv)
    if args.command == "demo":
        from gateway.demo.run import run_demo

        # SIGTERM (docker stop, kill) stops the demo as Ctrl-C does, so its temp folder goes
        # too: uvicorn re-raises the signal after shutting down, and the default action
        # would end the process before any cleanup.
        signal.signal(signal.SIGTERM, _interrupt)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                run_demo(host=args.host, port=args.port, seed=args.seed, transport=args.transport)
            )
        return EXIT_OK
    if args.command == "audit":
        return audit_cli.run(args)
    if args.command == "db":
        return _db(args)
    if args.command == "quality":
        return _quality_sweep(args)
    if args.command == "print-schema":
        from gateway.api import schema

        print(schema.as_str())
        return EXIT_OK
    return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
