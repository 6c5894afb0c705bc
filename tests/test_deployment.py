"""docs/deployment.md's compose file and the Dockerfile agree on where data and config live."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[1]
DATA_DIR = "/var/lib/catalogue-gateway"
CONFIG_DIR = "/etc/catalogue-gateway"


def compose() -> dict[str, Any]:
    text = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```yaml\n(.*?)^```", text, re.M | re.S)
    files = [yaml.safe_load(b) for b in blocks]
    found: dict[str, Any] = next(f for f in files if isinstance(f, dict) and "services" in f)
    return found


def test_compose_runs_the_gateway_with_postgres_and_redis() -> None:
    services = compose()["services"]
    assert {"gateway", "postgres", "redis"} <= services.keys()
    gateway = services["gateway"]
    assert set(gateway["depends_on"]) == {"postgres", "redis"}
    assert gateway["environment"]["STORE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in gateway["environment"]["STORE_URL"]
    assert gateway["environment"]["REDIS_URL"].startswith("redis://redis:")


def test_data_is_a_volume_and_config_a_read_only_mount() -> None:
    document = compose()
    mounts = dict(v.split(":", 1) for v in document["services"]["gateway"]["volumes"])
    assert mounts["./deploy"] == f"{CONFIG_DIR}:ro"
    assert mounts["gateway-data"] == DATA_DIR
    assert "gateway-data" in document["volumes"]


def test_the_dockerfile_keeps_data_out_of_the_config_folder() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert f'VOLUME ["{DATA_DIR}"]' in dockerfile
    assert f"CATALOGUE_GATEWAY_DATA_DIR={DATA_DIR}" in dockerfile
    assert f"chown gateway {DATA_DIR}" in dockerfile
    assert f'--config", "{CONFIG_DIR}/gateway.yaml' in dockerfile


def test_the_deployment_config_writes_the_audit_log_in_the_data_folder() -> None:
    text = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    blocks = [yaml.safe_load(b) for b in re.findall(r"^```yaml\n(.*?)^```", text, re.M | re.S)]
    config = next(b for b in blocks if isinstance(b, dict) and "sources" in b)
    assert config["audit"]["path"].startswith("${CATALOGUE_GATEWAY_DATA_DIR}/")
    assert config["server"]["proxy_headers"] is True


def test_the_image_copies_every_package_the_install_includes() -> None:
    # `pip install .` in the image installs only what was copied: a package the wheel
    # includes but the Dockerfile leaves out (simulators, for `demo`) is missing at run time.
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    packages = {p.rstrip("*") for p in setuptools["packages"]["find"]["include"]}
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, re.M))
    assert packages <= copied
    assert "RUN pip install . " in dockerfile  # not editable: the copies are what runs
