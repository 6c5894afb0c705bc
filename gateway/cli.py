"""``catalogue-gateway``: demo, serve, check-config, hash-key, audit, db."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import sys
from collections.abc import Sequence

from gateway.access import Policy, hash_api_key
from gateway.audit import cli as audit_cli
from gateway.config import GatewayConfig, load_config
from gateway.problems import ConfigError
from gateway.store import StoreError, head_revision, open_store, safe_url

EXIT_OK = 0
EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="catalogue-gateway",
        description="One GraphQL schema over live public-data catalogues.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="simulated department platforms + gateway + GraphiQL")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000, help="gateway port (default 8000)")
    demo.add_argument("--seed", type=int, default=2026, help="sample catalogue seed")
    demo.add_argument(
        "--transport", choices=["aiohttp", "httpx"], default="aiohttp", help="upstream transport"
    )

    serve = sub.add_parser("serve", help="serve a deployment from a config file")
    serve.add_argument("--config", required=True, metavar="FILE")
    serve.add_argument("--host", help="override server.host")
    serve.add_argument("--port", type=int, help="override server.port")
    serve.add_argument("--transport", choices=["aiohttp", "httpx"], default="aiohttp")

    check = sub.add_parser("check-config", help="validate a config file, listing every problem")
    check.add_argument("file", metavar="FILE")

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


def _check_config(path: str) -> int:
    try:
        config = load_config(path)
        if config.policy_path is not None:
            Policy.load(config.policy_path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    names = ", ".join(s.settings.id for s in config.sources)
    print(f"{path}: OK ({len(config.sources)} sources: {names})")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.app import Gateway, create_app

    try:
        config = load_config(args.config)
        gateway = Gateway(config, transport=args.transport)
        asyncio.run(_check_store(config))
    except (ConfigError, StoreError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    host = args.host or config.server.host
    port = args.port if args.port is not None else config.server.port
    uvicorn.run(create_app(gateway), host=host, port=port, log_level="info", access_log=False)
    return EXIT_OK


async def _check_store(config: GatewayConfig) -> None:
    """Fail before serving, with a clear message, when the store is unusable or behind."""
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
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "check-config":
        return _check_config(args.file)
    if args.command == "hash-key":
        key = args.key or getpass.getpass("API key: ")
        print(hash_api_key(key))
        return EXIT_OK
    if args.command == "serve":
        return _serve(args)
    if args.command == "demo":
        from gateway.demo.run import run_demo

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
