"""One data, one source: every copy of a record, across pages.

A city portal that harvests its departments' platforms publishes the same dataset (the
same ``identifier``) a second time. The engine serves such a dataset once, from its
*canonical* record, at that record's own place in the requested order, and lists every
other visible copy in ``alsoPublishedBy``.

Which sources can share identifiers is configuration: ``sources[].republishes`` names the
sources a source copies from (``"*"``: any). The sources linked that way, directly or not,
form a *copy group*. For the records a page is about to serve, the engine asks every
source of the record's group (itself included) for the records carrying those
identifiers: one search per source per page, with the identifiers pushed down as a filter
(``FilterName.IDENTIFIERS``), the same text, filters and visibility as the page, and
through the source's guard (cache, coalescing, breaker). A record is then served only if
it is the canonical one of what came back; a copy is skipped wherever it falls, because
its canonical record is served at its own place, on this page or another. So every page
boundary gives the same answer, and no cursor has to remember what was served.

The canonical record of a group is the one from a source ``authoritative_for`` the
record's department, else the one from the source listed first in the config, then the
smallest local id. Sources outside every copy group keep the page-level merge: copies
that meet on one page are merged there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from connectors.sdk import Connector, FilterName
from gateway.access import Access
from schema.model import Dataset, DatasetRef

log = logging.getLogger("gateway.federation")

# A lookup pages through at most this many upstream pages (a platform that caps its page
# size far below the identifiers asked); past it, the group may be incomplete.
MAX_LOOKUP_ROUNDS = 8
# Identifiers per lookup request (a CKAN fq lists each under every identifier key, in a
# GET URL: keep it well under the usual 8 KB).
LOOKUP_CHUNK = 50


def copy_groups(connectors: Sequence[Connector]) -> dict[str, frozenset[str]]:
    """For each source in a copy group, every source of its group (itself included).

    A source that cannot look records up by identifier (no ``search``, or no
    ``FilterName.IDENTIFIERS`` push-down) stays out: finding its copies would mean
    reading it whole. The config still links its neighbours through it.
    """
    ids = [c.source_id for c in connectors]
    links: dict[str, set[str]] = {sid: set() for sid in ids}
    for connector in connectors:
        named = connector.settings.republishes
        if not named:
            continue
        others = [sid for sid in ids if sid != connector.source_id]
        targets = others if "*" in named else [sid for sid in named if sid in links]
        links[connector.source_id].add(connector.source_id)
        for target in targets:
            links[connector.source_id].add(target)
            links[target].update((target, connector.source_id))
    able = {
        c.source_id
        for c in connectors
        if c.capabilities.search and FilterName.IDENTIFIERS in c.capabilities.filters
    }
    for sid in ids:
        if links[sid] and sid not in able:
            log.warning(
                "source %s: shares identifiers with other sources but cannot look records up "
                "by identifier; its copies are merged only when they meet on one page",
                sid,
            )
    groups: dict[str, frozenset[str]] = {}
    for sid in ids:
        if sid in groups or not links[sid]:
            continue
        seen, todo = {sid}, [sid]
        while todo:
            for neighbour in links[todo.pop()]:
                if neighbour not in seen:
                    seen.add(neighbour)
                    todo.append(neighbour)
        group = frozenset(seen & able)
        for member in seen:
            groups[member] = group
    return {sid: group for sid, group in groups.items() if sid in able and group}


@dataclass(frozen=True, slots=True)
class Found:
    """A visible record carrying an identifier, as a lookup returned it."""

    dataset: Dataset
    access: Access


class CopyIndex:
    """What one request's lookups found: per source, identifier -> visible records."""

    def __init__(self) -> None:
        self._asked: dict[str, set[str]] = {}
        self._found: dict[tuple[str, str], list[Found]] = {}
        self.incomplete = False  # a lookup failed or was cut short

    def asked(self, source_id: str, identifier: str) -> bool:
        return identifier in self._asked.get(source_id, ())

    def claim(self, source_id: str, identifiers: Iterable[str]) -> list[str]:
        """The ``identifiers`` not yet asked of the source, now marked as asked."""
        asked = self._asked.setdefault(source_id, set())
        fresh = [x for x in dict.fromkeys(identifiers) if x not in asked]
        asked.update(fresh)
        return fresh

    def record(self, source_id: str, found: Iterable[Found]) -> None:
        for item in found:
            assert item.dataset.identifier is not None
            self._found.setdefault((source_id, item.dataset.identifier), []).append(item)

    def group(
        self, identifier: str, sources: Iterable[str], own: Dataset, own_access: Access
    ) -> list[Found]:
        """Every visible record of ``identifier`` on ``sources``, ``own`` included once."""
        members = [Found(own, own_access)]
        key = (own.source_id, own.local_id)
        for source_id in sources:
            for item in self._found.get((source_id, identifier), ()):
                if (item.dataset.source_id, item.dataset.local_id) != key:
                    members.append(item)
        return members


def canonical(
    members: Sequence[Found], order: Mapping[str, int], authoritative: Mapping[str, frozenset[str]]
) -> Found:
    """The record a group is served from (see the module docstring for the rule)."""

    def rank(item: Found) -> tuple[bool, int, str]:
        ds = item.dataset
        owns = ds.department is not None and ds.department.id in authoritative.get(
            ds.source_id, frozenset()
        )
        return (not owns, order.get(ds.source_id, len(order)), ds.local_id)

    return min(members, key=rank)


def with_copies(
    served: Dataset, copies: Iterable[Dataset], then: Iterable[DatasetRef] = ()
) -> Dataset:
    """``served`` listing ``copies`` in ``alsoPublishedBy``, each flagged stale if behind,
    then the references ``then`` (one copy of the record, however many are listed)."""
    refs = list(served.also_published_by)
    for copy in copies:
        stale = (
            copy.modified is not None
            and served.modified is not None
            and copy.modified < served.modified
        )
        refs.append(DatasetRef(copy.source_id, copy.local_id, copy.modified, stale))
    refs.extend(then)
    return replace(served, also_published_by=tuple(refs))
