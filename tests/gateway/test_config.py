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
