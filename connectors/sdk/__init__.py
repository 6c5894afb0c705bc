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
from connectors.sdk._local_index import LocalIndex
from connectors.sdk._registry import builtin_connectors, load_connector
from connectors.sdk._static import StaticCatalogueConnector, StaticCatalogueOptions

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
    "LocalIndex",
    "NoOptions",
    "NotSupported",
    "RetriableError",
    "SearchPage",
    "SearchQuery",
    "Sort",
    "SourceDefaults",
    "SourceSettings",
    "SourceUnavailable",
    "StaticCatalogueConnector",
    "StaticCatalogueOptions",
    "builtin_connectors",
    "get_json",
    "load_connector",
    "read_capped",
]
