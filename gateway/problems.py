"""Configuration problems, shared by the gateway config and the policy file.

Every loader collects each problem with its key path (``sources[1].url``) and raises them
together as one ``ConfigError``, so a user sees every mistake in one run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from connectors.sdk import GatewayError

__all__ = ["ConfigError", "Problem", "join_path", "pydantic_problems", "read_yaml"]


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(GatewayError):
    """Invalid configuration. ``problems`` lists every one, each with its key path."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = [f"{source}: {count} problem{'s' if count != 1 else ''}"]
        lines += [f"  {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _loc_to_path(loc: Iterable[int | str]) -> str:
    path = ""
    for part in loc:
        path = f"{path}[{part}]" if isinstance(part, int) else join_path(path, part)
    return path


def pydantic_problems(exc: ValidationError, prefix: str = "") -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        path = _loc_to_path(loc)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(Problem(join_path(prefix, path) if prefix else path, message))
    return problems


class _PlainLoader(yaml.SafeLoader):
    """YAML without implicit timestamps: ``2026-13-01`` stays text, so the schema that
    expects a date reports it with its key path instead of the parser crashing on it."""


_PlainLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(path: str | Path) -> Any:
    """The YAML document in ``path``; ``ConfigError`` (with line and column) if unreadable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [Problem("", f"cannot read file: {exc.strerror}")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [Problem("", f"not UTF-8 text: {exc.reason}")]) from None
    try:
        return yaml.load(text, Loader=_PlainLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(str(path), [Problem("", f"invalid YAML: {where}{problem}")]) from None
    except (ValueError, TypeError, RecursionError) as exc:  # a constructor refusing a value
        raise ConfigError(str(path), [Problem("", f"invalid YAML: {exc}")]) from None
