"""Whether a field's selection asks for a name, answered once per selection.

``Query.datasets`` asks upstream platforms for facet counts only when ``facets`` is
selected. strawberry's ``Info.selected_fields`` answers that by converting the whole
selection (every field, argument and directive below the root) into its own objects on
every request; here the answer is read from graphql-core's field nodes directly and kept
per selection.

The semantics are ``selected_fields``' exactly, so the answer does not change: a name
matches a field's name (not its alias) at any depth, and a fragment spread's name as well;
fragments are followed; ``@include`` / ``@skip`` are not evaluated (strawberry does not
evaluate them either), so the answer depends on the document alone, never on the
variables or the caller. ``tests/gateway/api/test_selections.py`` compares it with
strawberry's walk.

The memo is keyed by the identity of the field nodes and holds them, so an id is never
reused while its entry lives; a hit also checks that the fragments read are the very
definitions the request's document has.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionNode,
)

_Fragments = Mapping[str, FragmentDefinitionNode]


@dataclass(frozen=True, slots=True)
class _Answer:
    nodes: tuple[FieldNode, ...]  # held: the ids in the key stay theirs
    fragments: tuple[tuple[str, FragmentDefinitionNode], ...]  # the definitions read
    selected: bool

    def holds_for(self, nodes: list[FieldNode], fragments: _Fragments) -> bool:
        if len(self.nodes) != len(nodes):
            return False
        for held, node in zip(self.nodes, nodes, strict=True):
            if held is not node:
                return False
        return not self.fragments or all(
            fragments.get(name) is definition for name, definition in self.fragments
        )


class SelectionMemo:
    """Answers ``selects`` per selection (bounded, least recently used dropped first)."""

    def __init__(self, maxsize: int = 512) -> None:
        self._answers: LRUCache[tuple[object, ...], _Answer] = LRUCache(maxsize=maxsize)

    def selects(self, info: GraphQLResolveInfo[Any], name: str) -> bool:
        """Whether the current field's selection (fragments included) asks for ``name``."""
        nodes = info.field_nodes
        key = (name, *map(id, nodes))
        found = self._answers.get(key)
        if found is not None and found.holds_for(nodes, info.fragments):
            return found.selected
        read: dict[str, FragmentDefinitionNode] = {}
        selected = any(
            _asks(node.selection_set.selections, name, info.fragments, read)
            for node in nodes
            if node.selection_set is not None
        )
        self._answers[key] = _Answer(tuple(nodes), tuple(read.items()), selected)
        return selected


def _asks(
    selections: Iterable[SelectionNode],
    name: str,
    fragments: _Fragments,
    read: dict[str, FragmentDefinitionNode],
) -> bool:
    """strawberry's ``convert_selections`` walk: field and fragment-spread names match."""
    for selection in selections:
        below: Iterable[SelectionNode] = ()
        if isinstance(selection, FieldNode):
            if selection.name.value == name:
                return True
            if selection.selection_set is not None:
                below = selection.selection_set.selections
        elif isinstance(selection, FragmentSpreadNode):
            spread = selection.name.value
            if spread == name:
                return True
            fragment = read[spread] = fragments[spread]
            below = fragment.selection_set.selections
        elif isinstance(selection, InlineFragmentNode):
            below = selection.selection_set.selections
        if _asks(below, name, fragments, read):
            return True
    return False
