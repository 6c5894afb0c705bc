"""The department connector template (``examples/connector-template``) works as documented.

Nothing is installed: the template's ``src`` goes on ``sys.path``, and its entry point is
made visible to ``importlib.metadata`` through a ``.dist-info`` folder in a temp dir.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from connectors.sdk import Connector
from connectors.sdk._registry import ENTRY_POINT_GROUP
from gateway.config import ConfigError, parse_config

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "examples" / "connector-template"


def declared_connectors() -> dict[str, str]:
    project = tomllib.loads((TEMPLATE / "pyproject.toml").read_text("utf-8"))["project"]
    declared: dict[str, str] = project["entry-points"][ENTRY_POINT_GROUP]
    return declared


@pytest.fixture
def installed_template(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The template as ``pip install`` would leave it, minus the copying."""
    dist_info = tmp_path / "hexi_water_connector-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: hexi-water-connector\nVersion: 0.1.0\n", encoding="utf-8"
    )
    lines = [f"[{ENTRY_POINT_GROUP}]"] + [f"{k} = {v}" for k, v in declared_connectors().items()]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(TEMPLATE / "src"))
    monkeypatch.syspath_prepend(str(tmp_path))


def test_the_template_declares_hexi_water_in_the_gateway_entry_point_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    declared = declared_connectors()
    assert declared == {"hexi-water": "hexi_water_connector:WaterPortalConnector"}
    monkeypatch.syspath_prepend(str(TEMPLATE / "src"))
    loaded = EntryPoint("hexi-water", declared["hexi-water"], ENTRY_POINT_GROUP).load()
    assert isinstance(loaded, type) and issubclass(loaded, Connector)
    assert loaded.name == "hexi-water"


@pytest.mark.usefixtures("installed_template")
def test_a_config_naming_hexi_water_gets_the_template_connector_and_checks_its_options() -> None:
    source = {"id": "water", "connector": "hexi-water", "url": "http://127.0.0.1:9301"}
    config = parse_config({"sources": [{**source, "options": {"api_key": "k"}}]})
    entry = config.sources[0]
    assert (entry.connector_name, entry.connector_class.__name__) == (
        "hexi-water",
        "WaterPortalConnector",
    )
    with pytest.raises(ConfigError) as error:
        parse_config({"sources": [{**source, "options": {"apikey": "k"}}]})
    assert "sources[0].options" in str(error.value) and "api_key" in str(error.value)


def run_template_pytest(*args: str) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TEMPLATE / "src"), str(ROOT)]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=TEMPLATE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_template_test_suite_passes_the_conformance_kit_without_skips() -> None:
    summary = run_template_pytest("-q", "-p", "connectors.sdk.conformance").splitlines()[-1]
    assert re.fullmatch(r"\d+ passed in [\d.]+s", summary), summary


def test_the_plugin_marks_the_kit_checks_so_m_conformance_selects_only_them() -> None:
    out = run_template_pytest(
        "-q", "--collect-only", "-p", "connectors.sdk.conformance", "-m", "conformance"
    )
    selected = [line for line in out.splitlines() if "::" in line]
    assert selected and all("::TestWaterPortalConformance::" in line for line in selected)
    assert re.search(r"\d+/\d+ tests collected \(\d+ deselected\)", out), out
