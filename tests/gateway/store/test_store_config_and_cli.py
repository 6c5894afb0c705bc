"""store.url, notifications and server.time_zone in the config; `db upgrade`; the start."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gateway.app import Gateway, create_app
from gateway.config import ConfigError, load_config, parse_config
from gateway.store import Store, StoreError, current_revision, head_revision
from tests.store_support import fresh_postgres_database, requires_postgres

SOURCES = """
sources:
  - {id: transport, connector: ckan, url: "http://127.0.0.1:9"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(textwrap.dedent(SOURCES) + textwrap.dedent(text), encoding="utf-8")
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_the_default_store_is_a_sqlite_file_next_to_the_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.store_url == f"sqlite+aiosqlite:///{(tmp_path / 'gateway.db').resolve()}"
    assert config.store_upgrades_at_start
    assert config.server.time_zone == "Asia/Shanghai"


def test_a_config_without_a_file_keeps_no_state_unless_told() -> None:
    raw = {"sources": [{"id": "a", "connector": "ckan", "url": "http://127.0.0.1:9"}]}
    assert parse_config(raw).store_url is None
    pg = "postgresql+asyncpg://gw@db/gateway"
    configured = parse_config({**raw, "store": {"url": pg}})
    assert configured.store_url == pg and not configured.store_upgrades_at_start


def test_store_webhook_and_time_zone_problems_have_key_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        server: {time_zone: Asia/Shanghia}
        store: {url: "mysql://u@h/d"}
        notifications:
          webhooks:
            - {url: "ftp://x", secret: short, events: ["access_request.*"]}
            - {url: "https://hooks.example/x", secret: "${HOOK_SECRET}", colour: red}
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    problems = [(p.path, p.message) for p in caught.value.problems]

    def said(path: str, text: str) -> bool:
        return any(where == path and text in message for where, message in problems)

    assert said("server.time_zone", "unknown time zone 'Asia/Shanghia'")
    assert said("store.url", "unsupported scheme 'mysql'")
    assert said("notifications.webhooks[0].url", "http:// or https://")
    assert said("notifications.webhooks[0].secret", "at least 16")
    assert said("notifications.webhooks[1].secret", "HOOK_SECRET is not set")
    assert said("notifications.webhooks[1].colour", "")


def test_webhook_secrets_come_from_the_environment_and_stay_out_of_reprs(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        notifications:
          webhooks: [{url: "https://hooks.example/x", secret: "${HOOK_SECRET}"}]
        """,
    )
    config = load_config(path, env={"HOOK_SECRET": "0123456789abcdef-secret"})
    assert "0123456789abcdef-secret" not in repr(config)
    (hook,) = config.notifications.build()
    assert hook.secret == b"0123456789abcdef-secret" and hook.events == ()


def test_db_upgrade_migrates_the_default_sqlite_store(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    done = run_cli("db", "upgrade", "--config", str(path))
    assert done.returncode == 0, done.stderr
    assert head_revision() in done.stdout
    assert (tmp_path / "gateway.db").is_file()
    again = run_cli("db", "upgrade", "--config", str(path))
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize(
    ("store", "expected"),
    [
        ('{url: "mysql://u:pw@h/d"}', "store.url: unsupported scheme 'mysql'"),
        (
            '{url: "postgresql+asyncpg://gw:hunter2-pw@127.0.0.1:1/gateway"}',
            "cannot be used",
        ),
    ],
    ids=["bad-url", "unreachable"],
)
def test_db_upgrade_exits_2_with_a_clear_error(tmp_path: Path, store: str, expected: str) -> None:
    done = run_cli("db", "upgrade", "--config", str(write(tmp_path, f"store: {store}\n")))
    assert done.returncode == 2
    assert expected in done.stderr
    assert "Traceback" not in done.stderr and "hunter2-pw" not in done.stderr


@requires_postgres
async def test_serve_refuses_a_postgresql_store_behind_the_code(tmp_path: Path) -> None:
    async with fresh_postgres_database() as url:
        path = write(tmp_path, f"store: {{url: '{url}'}}\n")
        refused = run_cli("serve", "--config", str(path))
        assert refused.returncode == 2
        assert "catalogue-gateway db upgrade" in refused.stderr
        assert "Traceback" not in refused.stderr
        upgraded = run_cli("db", "upgrade", "--config", str(path))
        assert upgraded.returncode == 0, upgraded.stderr
        store = Store(url)
        try:
            assert await current_revision(store) == head_revision()
        finally:
            await store.aclose()


async def test_the_gateway_opens_and_upgrades_its_sqlite_store_and_closes_it(
    tmp_path: Path,
) -> None:
    gateway = Gateway(load_config(write(tmp_path, "")))
    app = create_app(gateway)
    async with app.router.lifespan_context(app):
        assert gateway.store is not None
        assert await current_revision(gateway.store) == head_revision()
        assert gateway.dispatcher is not None and gateway._dispatching is not None
        assert not gateway._dispatching.done()
    assert gateway.store is None
    assert gateway._dispatching is None


@requires_postgres
async def test_the_gateway_does_not_start_on_a_postgresql_store_behind_the_code() -> None:
    async with fresh_postgres_database() as url:
        raw = {
            "sources": [{"id": "a", "connector": "ckan", "url": "http://127.0.0.1:9"}],
            "store": {"url": url},
        }
        gateway = Gateway(parse_config(raw))
        app = create_app(gateway)
        with pytest.raises(StoreError, match="db upgrade"):
            async with app.router.lifespan_context(app):
                pass
