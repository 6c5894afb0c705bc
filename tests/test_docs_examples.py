"""Every gateway config and policy example in the docs loads, as an operator would copy it.

Each fenced ``yaml`` block of README.md, docs/ and examples/ is parsed and classified:

- a gateway config (top-level keys of gateway.yaml), whole or a fragment: loaded with
  ``load_config`` (a fragment without ``sources`` gets one placeholder source);
- a policy (top-level keys of policy.yaml), whole or a fragment: ``Policy.parse``;
- a list of sources (items with ``connector``) or of grants (items with ``allow``);
- a compose file (``services``): the deployment example, checked in test_deployment.py.

A block that is none of these fails the test: a new example cannot slip past unloaded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.access import Policy
from gateway.config import GatewayFile, load_config
from gateway.problems import ConfigError
from tests.test_connector_template import installed_template

# The connector template (docs/writing-a-connector.md names its `hexi-water`), as installed.
__all__ = ["installed_template"]

ROOT = Path(__file__).parents[1]
DOCS = sorted(
    [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "examples").glob("*/README.md")]
)
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<info>yaml|yml)\n(?P<body>.*?)^[ \t]*```", re.M | re.S
)
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")

CONFIG_KEYS = set(GatewayFile.model_fields)
POLICY_KEYS = {"public", "callers", "jwt", "grants", "workflows"}
PLACEHOLDER_SOURCE = {"id": "placeholder", "connector": "ckan", "url": "http://127.0.0.1:9"}
ENV_EXAMPLES = {
    "STORE_URL": "postgresql+asyncpg://gateway:secret@postgres:5432/gateway",
    "REDIS_URL": "redis://redis:6379/0",
}
MINIMAL_POLICY = "public: {open_types: [OPEN], max_sensitivity: L1}\n"


def examples() -> list[Any]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            indent = len(match.group("indent"))
            body = "\n".join(line[indent:] for line in match.group("body").splitlines())
            line = text[: match.start()].count("\n") + 1
            found.append(pytest.param(body, id=f"{doc.relative_to(ROOT)}:{line}"))
    return found


def test_the_docs_have_config_and_policy_examples() -> None:
    ids = [p.id for p in examples()]
    assert any(i.startswith("docs/configuration.md") for i in ids)
    assert any(i.startswith("docs/deployment.md") for i in ids)
    assert len(ids) >= 12


def load_as_config(document: dict[str, Any], text: str, tmp_path: Path) -> None:
    # secrets get 40 characters (cursor_secret wants 32); folders (`..._DIR`) a real one
    env = {name: ENV_EXAMPLES.get(name, "x" * 40) for name in ENV_REF.findall(text)}
    env |= {name: str(tmp_path) for name in env if name.endswith("_DIR")}
    if "sources" not in document:
        document = {**document, "sources": [PLACEHOLDER_SOURCE]}
        text = yaml.safe_dump(document, allow_unicode=True)
    if "policy" in document:
        (tmp_path / str(document["policy"])).write_text(MINIMAL_POLICY)
    path = tmp_path / "gateway.yaml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path, env=env)
    if config.policy_path is not None:
        Policy.load(config.policy_path)


def load_as_policy(document: dict[str, Any]) -> None:
    named = {
        caller
        for grant in document.get("grants") or ()
        for caller in (grant.get("to") or {}).get("callers") or ()
    }
    listed = {c["id"] for c in document.get("callers") or ()}
    if "grants" in document and "callers" not in document:
        # a grants-only fragment: the callers it names are listed elsewhere in the file
        document = {**document, "callers": [{"id": c} for c in sorted(named - listed)]}
    Policy.parse(document)


@pytest.mark.parametrize("text", examples())
@pytest.mark.usefixtures("installed_template")
def test_every_yaml_example_in_the_docs_loads(text: str, tmp_path: Path) -> None:
    document = yaml.safe_load(text)
    try:
        if isinstance(document, dict) and "services" in document:
            assert "gateway" in document["services"]  # compose: see test_deployment.py
        elif isinstance(document, dict) and document.keys() <= CONFIG_KEYS:
            load_as_config(document, text, tmp_path)
        elif isinstance(document, dict) and document.keys() <= POLICY_KEYS:
            load_as_policy(document)
        elif isinstance(document, list) and all("connector" in item for item in document):
            load_as_config({"sources": document}, yaml.safe_dump({"sources": document}), tmp_path)
        elif isinstance(document, list) and all("allow" in item for item in document):
            load_as_policy({"grants": document})
        else:
            pytest.fail(f"a yaml example that is neither a config nor a policy:\n{text}")
    except ConfigError as exc:
        pytest.fail(f"the example does not load:\n{exc}\n---\n{text}")
