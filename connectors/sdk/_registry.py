"""Finding connector classes by the name a config gives them."""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points

from connectors.sdk._contract import Connector

ENTRY_POINT_GROUP = "catalogue_gateway.connectors"

# Built-ins are imported lazily too: a config that names only CKAN loads only CKAN.
_BUILTINS: dict[str, str] = {
    "ckan": "connectors.ckan:CkanConnector",
    "datajson": "connectors.datajson:DataJsonConnector",
    "dcat": "connectors.dcat:DcatConnector",
    "file": "connectors.file:FileConnector",
    "opendatasoft": "connectors.opendatasoft:OpenDataSoftConnector",
    "rest": "connectors.rest:RestConnector",
    "socrata": "connectors.socrata:SocrataConnector",
}


def builtin_connectors() -> tuple[str, ...]:
    return tuple(sorted(_BUILTINS))


def available_connectors() -> tuple[str, ...]:
    """Built-in names plus those registered under the entry-point group."""
    names = set(_BUILTINS) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return tuple(sorted(names))


def load_connector(name: str) -> type[Connector]:
    """Import the connector class registered as ``name``. Raises ``LookupError``."""
    target = _BUILTINS.get(name)
    if target is None:
        matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if not matches:
            raise LookupError(
                f"unknown connector {name!r}; known: {', '.join(available_connectors())}"
            )
        loaded = matches[0].load()
    else:
        module, _, attr = target.partition(":")
        loaded = getattr(import_module(module), attr)
    if not (isinstance(loaded, type) and issubclass(loaded, Connector)):
        raise LookupError(f"connector {name!r} does not name a Connector subclass")
    return loaded
