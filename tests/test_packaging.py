"""A non-editable install (``pip install .``) carries every package and data file it needs.

The demo command runs from an installed wheel: the simulators, the demo policy, the REST
mapping, the GraphiQL assets and the committed SDL must all be in it. Checked against the
setuptools configuration in pyproject.toml, so a new package or data file that the wheel
would leave out fails here rather than on a user's machine.
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]


def _packages() -> list[str]:
    patterns = CONFIG["packages"]["find"]["include"]
    found = []
    for init in ROOT.glob("*/**/__init__.py"):
        name = ".".join(init.parent.relative_to(ROOT).parts)
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            found.append(name)
    return found


def _owner(path: Path) -> str | None:
    """The package a data file belongs to: its nearest folder with an ``__init__.py``."""
    for parent in path.parents:
        if parent == ROOT:
            return None
        if (parent / "__init__.py").exists():
            return ".".join(parent.relative_to(ROOT).parts)
    return None


def test_every_package_the_demo_needs_is_installed() -> None:
    packages = _packages()
    for needed in ("schema", "connectors.sdk", "simulators", "gateway.demo", "gateway.http"):
        assert needed in packages


def test_every_data_file_is_package_data() -> None:
    packages = set(_packages())
    package_data = CONFIG["package-data"]
    missing = []
    for root in {name.split(".")[0] for name in packages}:
        for path in (ROOT / root).rglob("*"):
            if not path.is_file() or path.suffix in {".py", ".pyc"} or "__pycache__" in path.parts:
                continue
            owner = _owner(path)
            if owner not in packages:
                continue
            relative = path.relative_to(ROOT / owner.replace(".", "/")).as_posix()
            globs = package_data.get(owner, [])
            if not any(fnmatch.fnmatch(relative, glob.replace("**/", "*")) for glob in globs):
                missing.append(f"{owner}: {relative}")
    assert missing == []
