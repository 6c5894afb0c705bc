"""The connector SDK: everything a connector author imports comes from here."""

from connectors.sdk._contract import (
    Capabilities,
    Connector,
    DatasetFilter,
    FacetName,
    FilterName,
    Health,
    HealthStatus,
    NoOptions,
    SearchPage,
    SearchQuery,
    Sort,
    SourceDefaults,
    SourceSettings,
)
from connectors.sdk._errors import (
    ConnectorError,
    FatalError,
    GatewayError,
    NotSupported,
    RetriableError,
    SourceUnavailable,
)
from connectors.sdk._http import DEFAULT_MAX_RESPONSE_BYTES, get_json, read_capped
from connectors.sdk._registry import builtin_connectors, load_connector

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "Capabilities",
    "Connector",
    "ConnectorError",
    "DatasetFilter",
    "FacetName",
    "FatalError",
    "FilterName",
    "GatewayError",
    "Health",
    "HealthStatus",
    "NoOptions",
    "NotSupported",
    "RetriableError",
    "SearchPage",
    "SearchQuery",
    "Sort",
    "SourceDefaults",
    "SourceSettings",
    "SourceUnavailable",
    "builtin_connectors",
    "get_json",
    "load_connector",
    "read_capped",
]
