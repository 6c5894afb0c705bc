"""Config loading: every problem at once, each with its key path; exit code 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config, parse_config

GOOD = """
server: {host: 127.0.0.1, port: 8000}
sources:
  - id: transport
    connector: ckan
    url: http://127.0.0.1:9101/
    timeout_seconds: 1.5
    defaults: {share_type: CONDITIONAL, open_type: NOT_OPEN, sensitivity: L2}
    department: {id: transport, name: Transport Bureau}
    authoritative_for: [transport]
    options: {api_key: "${CKAN_KEY}"}
"""


def write(tmp_path: Path, text: str, name: str = "gateway.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_valid_config_loads_into_frozen_objects(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), env={"CKAN_KEY": "s3cret"})
    [source] = config.sources
    assert source.settings.url == "http://127.0.0.1:9101"
    assert source.settings.defaults.share_type.value == "CONDITIONAL"
    assert source.settings.department is not None
    assert source.connector_class.__name__ == "CkanConnector"
    with pytest.raises(AttributeError):
        source.settings.url = "x"  # type: ignore[misc]


def test_every_problem_is_reported_with_its_key_path() -> None:
    raw = {
        "server": {"port": 99999},
        "sources": [
            {"id": "Bad Id", "connector": "ckan", "url": "ftp://x"},
            {"id": "ok", "connector": "ckam", "url": "http://127.0.0.1:1"},
            {
                "id": "ok2",
                "connector": "ckan",
                "url": "http://127.0.0.1:1",
                "timeout_seconds": -1,
                "defaults": {"share_type": "SOMETIMES"},
                "surprise": 1,
            },
        ],
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, env={})
    paths = {p.path for p in caught.value.problems}
    assert {
        "server.port",
        "sources[0].id",
        "sources[0].url",
        "sources[1].connector",
        "sources[2].timeout_seconds",
        "sources[2].defaults.share_type",
        "sources[2].surprise",
    } <= paths


def test_duplicate_ids_missing_env_and_bad_options() -> None:
    raw = {
        "sources": [
            {"id": "a", "connector": "ckan", "url": "http://127.0.0.1:1", "options": {"nope": 1}},
            {"id": "a", "connector": "ckan", "url": "${MISSING_URL}"},
        ]
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, env={})
    messages = {str(p) for p in caught.value.problems}
    assert any(m.startswith("sources[1].id: duplicate source id 'a'") for m in messages)
    assert "sources[1].url: environment variable MISSING_URL is not set" in messages
    assert any(m.startswith("sources[0].options.nope") for m in messages)


def test_env_default_syntax(tmp_path: Path) -> None:
    text = GOOD.replace("${CKAN_KEY}", "${CKAN_KEY:-fallback}")
    config = load_config(write(tmp_path, text), env={})
    assert config.sources[0].settings.options.api_key.get_secret_value() == "fallback"  # type: ignore[attr-defined]


def test_secret_from_env_is_not_in_the_repr(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), env={"CKAN_KEY": "s3cret-value"})
    assert "s3cret-value" not in repr(config)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "sources: [\n  - id: a\n"))
    assert "line" in str(caught.value)


def test_missing_policy_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, GOOD + "policy: nowhere.yaml\n"), env={"CKAN_KEY": "k"})
    assert any(p.path == "policy" for p in caught.value.problems)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_check_config_exits_2_with_every_problem_and_no_traceback(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        sources:
          - {id: a, connector: ckan, url: "not a url"}
          - {id: a, connector: nope, url: "http://127.0.0.1:1"}
        """,
    )
    result = run_cli("check-config", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "sources[0].url" in result.stderr
    assert "sources[1].connector" in result.stderr
    assert "3 problems" in result.stderr
    assert "duplicate source id" in result.stderr


def test_check_config_reports_policy_problems_too(tmp_path: Path) -> None:
    write(tmp_path, "callers: [{id: x, api_keys: [plaintext-key]}]\n", "policy.yaml")
    path = write(tmp_path, GOOD.replace("${CKAN_KEY}", "k") + "policy: policy.yaml\n")
    result = run_cli("check-config", str(path))
    assert result.returncode == 2
    assert "callers[0].api_keys" in result.stderr
    assert "plaintext-key" not in result.stderr


def test_check_config_ok(tmp_path: Path) -> None:
    result = run_cli("check-config", str(write(tmp_path, GOOD.replace("${CKAN_KEY}", "k"))))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://exa mple.org", "must not contain spaces"),
        ("http://example.org/a b", "must not contain spaces"),
        ("http://exa\tmple.org", "must not contain spaces"),
        ("http://", "must be an http://"),
        ("http://exa$mple.org", "no valid host name"),
        ("http://example.org:99999", "invalid port"),
        ("gopher://example.org", "must be an http://"),
    ],
)
def test_a_source_url_must_be_a_whole_http_url(url: str, message: str) -> None:
    raw = {"sources": [{"id": "a", "connector": "ckan", "url": url}]}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, env={})
    [problem] = [p for p in caught.value.problems if p.path == "sources[0].url"]
    assert message in problem.message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9101",
        "https://data.example.gov.cn/api/",
        "http://[::1]:8080",
        "http://数据.政府.cn",
    ],
)
def test_ordinary_source_urls_are_accepted(url: str) -> None:
    config = parse_config({"sources": [{"id": "a", "connector": "ckan", "url": url}]}, env={})
    assert config.sources[0].settings.url == url.rstrip("/")


BAD_POLICY = """\
callers:
  - id: analyst
    api_keys: ["key-in-clear"]
grants:
  - id: g
    to: {callers: [ghost]}
    allow: {max_sensitivity: L2}
    valid_from: 2026-13-01
    mask: [secret]
  - id: g
    to: {roles: [staff]}
    allow: {themes: [transport]}
    valid_from: 2026-03-01
    valid_until: 2026-02-01
"""


def test_check_config_reports_every_policy_problem_at_once_with_full_key_paths(
    tmp_path: Path,
) -> None:
    write(tmp_path, BAD_POLICY, "policy.yaml")
    path = write(tmp_path, GOOD.replace("${CKAN_KEY}", "k") + "policy: policy.yaml\n")
    result = run_cli("check-config", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    # What used to take three runs (YAML dates, schema, cross-checks) comes in one.
    assert "6 problems" in result.stderr
    for path_and_message in (
        "callers[0].api_keys[0]: api_keys must be stored hashed",
        "grants[0].valid_from: Input should be a valid date",
        "grants[0].mask: cannot mask secret",
        "grants[1].valid_until: must be after valid_from (2026-03-01)",
        "grants[1].id: duplicate 'g' (also grants[0])",
        "grants[0].to.callers[0]: unknown caller 'ghost'",
    ):
        assert f"  {path_and_message}" in result.stderr


def test_check_config_reports_gateway_and_policy_problems_in_one_run(tmp_path: Path) -> None:
    write(tmp_path, BAD_POLICY, "policy.yaml")
    path = write(
        tmp_path,
        'sources: [{id: a, connector: ckan, url: "http://exa mple.org"}]\npolicy: policy.yaml\n',
    )
    result = run_cli("check-config", str(path))
    assert result.returncode == 2
    assert "sources[0].url: must not contain spaces" in result.stderr
    assert "grants[0].valid_from" in result.stderr


@pytest.mark.parametrize("command", ["serve --config gateway.yaml", "demo"])
def test_a_port_out_of_range_is_refused_before_anything_starts(
    tmp_path: Path, command: str
) -> None:
    result = run_cli(*command.split(), "--port", "99999")
    assert result.returncode == 2
    assert "99999 is not a port number (0-65535)" in result.stderr


def test_check_config_warns_loudly_when_nothing_is_audited(tmp_path: Path) -> None:
    base = GOOD.replace("${CKAN_KEY}", "k")
    silent = run_cli("check-config", str(write(tmp_path, base)))
    assert silent.returncode == 0
    assert "requests are NOT recorded in an audit trail" in silent.stderr
    opted_out = run_cli("check-config", str(write(tmp_path, base + "audit: {enabled: false}\n")))
    assert opted_out.returncode == 0
    assert "audit" not in opted_out.stderr


def test_audit_disabled_and_a_path_together_is_a_problem() -> None:
    raw = {
        "sources": [{"id": "a", "connector": "ckan", "url": "http://127.0.0.1:1"}],
        "audit": {"enabled": False, "path": "audit.log"},
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, env={})
    assert [p.path for p in caught.value.problems] == ["audit.enabled"]


def test_a_webhook_url_with_a_space_is_refused_like_a_source_url() -> None:
    raw = {
        "sources": [{"id": "a", "connector": "ckan", "url": "http://127.0.0.1:1"}],
        "notifications": {"webhooks": [{"url": "https://hooks.exa mple/x", "secret": "s" * 16}]},
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, env={})
    assert [str(p) for p in caught.value.problems] == [
        "notifications.webhooks[0].url: must not contain spaces or control characters"
    ]


def test_allowed_origins_and_speaks_for_reach_the_source_settings() -> None:
    source = {"id": "hr", "connector": "ckan", "url": "https://hr.example.gov.cn/api"}
    config = parse_config(
        {
            "sources": [
                source | {"allowed_origins": ["https://cdn.example.gov.cn"], "speaks_for": ["hr"]}
            ]
        },
        env={},
    )
    settings = config.sources[0].settings
    assert settings.allowed_origins == ("https://cdn.example.gov.cn",)
    assert settings.speaks_for == ("hr",)
    with pytest.raises(ConfigError) as caught:
        parse_config(
            {"sources": [source | {"allowed_origins": ["https://cdn.example.gov.cn/files"]}]},
            env={},
        )
    [problem] = [p for p in caught.value.problems if "allowed_origins" in p.path]
    assert problem.path == "sources[0].allowed_origins"
    assert "scheme://host[:port]" in problem.message
