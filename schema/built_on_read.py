"""Fields of a GraphQL object that are built only if a query reads them.

A resolver answers with the whole object, though most queries select a few of its fields:
``datasets`` returns facets and per-source reports that the common page query never asks
for, and a page's start cursor, whose sealing (JSON, AES-GCM, base64) costs as much as the
rest of the page info. ``built_on_read`` makes the object with such fields left as
builders; the first read of one builds it and keeps the value in the instance, which then
shadows the class's descriptor (``on_read``). An instance made the ordinary way has every
field set and never reaches the descriptor.

The builders must read only what will not change before the answer is completed: graphql-core
completes a resolver's object in the same step as the resolver returns, with no other task
running in between.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

_BUILDERS = "_builders_on_read"


class _OnRead:
    """A non-data descriptor: builds its field from the instance's builder, once."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: object | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        builders: Mapping[str, Callable[[], Any]] = obj.__dict__.get(_BUILDERS, {})
        build = builders.get(self.name)
        if build is None:
            raise AttributeError(f"{type(obj).__name__!r} object has no attribute {self.name!r}")
        value = build()
        obj.__dict__[self.name] = value
        return value


def on_read(cls: type[T], *names: str) -> type[T]:
    """Lets ``built_on_read`` leave the fields ``names`` of ``cls`` to builders."""
    for name in names:
        setattr(cls, name, _OnRead(name))
    return cls


def built_on_read(
    cls: type[T], fields: Mapping[str, Any], builders: Mapping[str, Callable[[], Any]]
) -> T:
    """An instance of ``cls`` (a strawberry type) with ``fields`` set and the fields of
    ``builders`` built when first read; each of these must be declared with ``on_read``."""
    obj: T = object.__new__(cls)
    obj.__dict__.update(fields)
    obj.__dict__[_BUILDERS] = builders
    return obj
