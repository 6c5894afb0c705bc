"""``catalogue-gateway`` commands: serve's reverse-proxy and logging options, hash-key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.access import hash_api_key
from gateway.cli import _parser, serve_options
from gateway.config import parse_config

SOURCES = [{"id": "a", "connector": "ckan", "url": "http://127.0.0.1:9"}]


def options(argv: list[str], server: dict[str, object] | None = None) -> dict[str, object]:
    args = _parser().parse_args(["serve", "--config", "gateway.yaml", *argv])
    config = parse_config({"server": server or {}, "sources": SOURCES})
    return serve_options(args, config)


def test_serve_trusts_no_proxy_headers_unless_asked() -> None:
    assert options([])["proxy_headers"] is False
    assert options([])["forwarded_allow_ips"] == "127.0.0.1"
    assert options([])["access_log"] is False  # the gateway writes its own


def test_serve_flags_turn_on_proxy_headers_and_name_the_proxies() -> None:
    chosen = options(["--proxy-headers", "--forwarded-allow-ips", "10.0.0.5,10.0.1.0/24"])
    assert chosen["proxy_headers"] is True
    assert chosen["forwarded_allow_ips"] == "10.0.0.5,10.0.1.0/24"


def test_config_keys_set_them_and_flags_override_the_config() -> None:
    server = {"proxy_headers": True, "forwarded_allow_ips": ["172.18.0.2"], "port": 9000}
    assert options([], server)["proxy_headers"] is True
    assert options([], server)["forwarded_allow_ips"] == "172.18.0.2"
    assert options([], server)["port"] == 9000
    assert options(["--no-proxy-headers", "--port", "9001"], server)["proxy_headers"] is False
    assert options(["--port", "9001"], server)["port"] == 9001


def test_log_level_reaches_uvicorn() -> None:
    args = _parser().parse_args(["serve", "--config", "g.yaml"])
    config = parse_config({"sources": SOURCES, "logging": {"level": "WARNING"}})
    assert serve_options(args, config)["log_level"] == "warning"


def test_hash_key_reads_a_piped_key_without_a_getpass_warning() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-m", "gateway.cli", "hash-key"],
        input="s3cret-key\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == hash_api_key("s3cret-key")
    assert "GetPassWarning" not in result.stderr
    assert "Warning" not in result.stderr


def test_hash_key_with_nothing_piped_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "hash-key"],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 2
    assert "no key given" in result.stderr


def test_workers_need_a_cursor_secret_and_shared_rate_limits() -> None:
    from gateway.cli import workers_warnings

    limited = {"rate": {"default": {"rate_per_second": 1, "burst": 2}}}
    bare = parse_config({"sources": SOURCES, "limits": limited})
    assert workers_warnings(bare, 1) == ()
    cursor, limits = workers_warnings(bare, 2)
    assert "graphql.cursor_secret" in cursor and "BAD_CURSOR" in cursor
    assert "shared.redis_url" in limits and "2x" in limits
    ready = parse_config(
        {
            "sources": SOURCES,
            "limits": limited,
            "graphql": {"cursor_secret": "s" * 32},
            "shared": {"redis_url": "redis://127.0.0.1:6379/0"},
        }
    )
    assert workers_warnings(ready, 4) == ()


def test_check_config_warns_about_what_n_workers_need(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway.cli import main

    path = tmp_path / "gateway.yaml"
    path.write_text(
        "sources: [{id: a, connector: ckan, url: 'http://127.0.0.1:9'}]\naudit: {enabled: false}\n"
    )
    assert main(["check-config", str(path)]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["check-config", str(path), "--workers", "2"]) == 0
    assert "warning: --workers 2 without graphql.cursor_secret" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["0", "65", "two"])
def test_workers_is_a_count_from_1_to_64(bad: str) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--config", "g.yaml", "--workers", bad])


def test_serve_refuses_to_start_when_the_shared_redis_is_unreachable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway.cli import main

    path = tmp_path / "gateway.yaml"
    path.write_text(
        "sources: [{id: a, connector: ckan, url: 'http://127.0.0.1:9'}]\n"
        "audit: {enabled: false}\n"
        "shared: {redis_url: 'redis://:hunter2@127.0.0.1:1/0'}\n"
    )
    assert main(["serve", "--config", str(path), "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert "the shared Redis at redis://***@127.0.0.1:1/0 is unreachable" in err
    assert "hunter2" not in err


def test_the_start_up_log_says_what_workers_share() -> None:
    from gateway.cli import sharing_summary

    sqlite = parse_config({"sources": SOURCES, "store": {"url": "sqlite+aiosqlite:///g.db"}})
    said = sharing_summary(sqlite, 2)
    assert "SQLite store file (WAL mode; one host only" in said
    assert "rate-limit buckets per worker" in said
    postgres = parse_config(
        {
            "sources": SOURCES,
            "store": {"url": "postgresql+asyncpg://gw@db/gw"},
            "shared": {"redis_url": "redis://127.0.0.1:6379/0"},
            "audit": {"path": "/tmp/audit.log"},
        }
    )
    said = sharing_summary(postgres, 2)
    assert "the PostgreSQL store" in said and "in Redis" in said
    assert "one audit chain per worker (audit.w1.log" in said


def test_settle_heap_freezes_startup_objects_and_spaces_young_collections() -> None:
    """Run in a child: the test process keeps its own collector settings."""
    script = (
        "import gc; from gateway.cli import settle_heap, YOUNG_GC_THRESHOLD; settle_heap(); "
        "print(gc.get_freeze_count() > 0, gc.get_threshold()[0] == YOUNG_GC_THRESHOLD)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["True", "True"]
