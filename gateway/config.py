"""Gateway configuration: YAML in, frozen validated objects out, every problem at once.

``load_config(path)`` reads the file, interpolates ``${ENV}`` references, validates the
structure with pydantic, then checks what pydantic cannot (unique ids, known connectors,
each connector's own options, the policy file). Every problem is collected with its key
path and raised together as one ``ConfigError``::

    $ catalogue-gateway check-config gateway.yaml
    gateway.yaml: 2 problems
      sources[1].url: Input should be a valid URL
      sources[2].connector: unknown connector 'ckam'; known: ckan
"""

from __future__ import annotations

import os
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from connectors.sdk import Connector, SourceDefaults, SourceSettings
from connectors.sdk._registry import load_connector
from gateway.federation import GuardConfig
from gateway.http import (
    CompressionConfig,
    CorsConfig,
    LimitsConfig,
    LoggingConfig,
    TracingConfig,
    Webhook,
)
from gateway.problems import ConfigError, Problem, join_path, pydantic_problems, read_yaml
from gateway.quality import QualitySettings
from gateway.store import check_store_url
from schema.model import Department, OpenType, Sensitivity, ShareType

# The store when the config names none: a SQLite file next to the config file.
DEFAULT_STORE_FILE = "gateway.db"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # Slow clients: headers and bodies that take longer are answered 408 (slowloris).
    header_timeout_seconds: float = Field(default=10, gt=0, le=300)
    body_timeout_seconds: float = Field(default=30, gt=0, le=3600)
    cors: CorsConfig = CorsConfig()
    compression: CompressionConfig = CompressionConfig()
    # Behind a reverse proxy: trust X-Forwarded-For/-Proto from these addresses only
    # (uvicorn's --proxy-headers / --forwarded-allow-ips; `serve` flags override them).
    proxy_headers: bool = False
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1",)
    # Calendar days (workflow dates, deadlines, validUntil) are days in this zone.
    time_zone: str = "Asia/Shanghai"

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from None
        return value


class StoreConfig(_Strict):
    # Unset: sqlite+aiosqlite:///<folder of the config file>/gateway.db, upgraded at start.
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str | None) -> str | None:
        problem = None if value is None else check_store_url(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class WebhookConfig(_Strict):
    url: str
    secret: SecretStr  # e.g. ${WEBHOOK_SECRET}
    events: tuple[str, ...] = ()  # event names or patterns (access_request.*); empty: all

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value.startswith("file://"):
            raise ValueError("must be an http:// or https:// URL")
        return platform_url(value)

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value


class NotificationsConfig(_Strict):
    webhooks: tuple[WebhookConfig, ...] = ()

    def build(self) -> tuple[Webhook, ...]:
        return tuple(
            Webhook(w.url, w.secret.get_secret_value().encode(), w.events) for w in self.webhooks
        )


class DefaultsConfig(_Strict):
    share_type: ShareType = ShareType.NOT_SHARED
    open_type: OpenType = OpenType.NOT_OPEN
    sensitivity: Sensitivity = Sensitivity.L4


class DepartmentConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    code: str | None = Field(None, description="unified social credit code")


class SourceConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    connector: str
    url: str
    timeout_seconds: float = Field(default=2.0, gt=0, le=120)
    defaults: DefaultsConfig = DefaultsConfig()
    department: DepartmentConfig | None = None
    # The language the platform writes titles and descriptions in (BCP 47: zh, en, zh-CN),
    # when its records do not say; clients asking for it get the original text.
    language: str | None = Field(default=None, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
    authoritative_for: tuple[str, ...] = ()
    # Source ids whose records this source republishes (same identifier); ["*"]: any source.
    republishes: tuple[str, ...] = ()
    max_response_mb: float = Field(default=16, gt=0, le=1024)
    upstream: GuardConfig = GuardConfig()
    # Other origins (scheme://host[:port]) next links and redirects may lead to; followed
    # without the source's credentials. Any other origin is refused.
    allowed_origins: tuple[str, ...] = ()
    # Departments this source may speak for; records claiming another are dropped and
    # reported. Empty: any.
    speaks_for: tuple[str, ...] = ()
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if not re.fullmatch(r"https?://[^\s/?#@]+", origin):
                raise ValueError(
                    f"{origin!r} is not an origin: write scheme://host[:port], no path"
                )
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value.startswith("file://"):
            return value  # a local catalogue (connector: file)
        return platform_url(value, kinds="an http://, https:// or file:// URL").rstrip("/")


def platform_url(value: str, *, kinds: str = "an http:// or https:// URL") -> str:
    """``value`` if it is a usable http(s) URL; ``ValueError`` saying what is wrong if not.

    ``http://exa mple.org`` is refused: a URL with a space is never what was meant, and a
    lenient check would pass its first word on as the host.
    """
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be {kinds}")
    host = parts.hostname or ""
    if not host or not all(c.isalnum() or c in "-._:" for c in host):
        raise ValueError(f"has no valid host name (got {parts.netloc!r})")
    try:
        parts.port  # noqa: B018 (urlsplit checks the port only when asked)
    except ValueError:
        raise ValueError("has an invalid port (0-65535)") from None
    return value


class AuditConfig(_Strict):
    # With no path the gateway keeps no audit trail; it says so loudly at start unless
    # `enabled: false` says it is meant.
    enabled: bool = True
    path: str | None = None  # relative to the config file
    fsync: Literal["always", "interval", "never"] = "always"
    fsync_interval_seconds: float = Field(default=1.0, gt=0, le=3600)
    rotate_mb: float = Field(default=100, gt=0, le=1_000_000)


class ResponseCacheConfig(_Strict):
    """Whole answers kept per caller's grant set (gateway/http/response_cache.py).

    ``ttl_seconds: 0`` switches it off; it is never kept longer than the shortest upstream
    cache of the sources (an answer must not outlive the pages it was built from)."""

    ttl_seconds: float = Field(default=10, ge=0, le=3600)
    max_entries: int = Field(default=10_000, ge=1, le=1_000_000)


class SharedConfig(_Strict):
    """What replicas share at request speed. Unset: each process keeps its own."""

    # redis://[:password@]host:port/db or rediss://...; e.g. ${REDIS_URL}
    redis_url: SecretStr | None = None
    # Put before every key the gateway writes, so deployments can share one Redis.
    key_prefix: str = Field(default="catalogue-gateway:", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            scheme = urlsplit(value.get_secret_value()).scheme
            if scheme not in ("redis", "rediss", "unix"):
                raise ValueError(
                    f"unsupported scheme {scheme!r}; use redis://host:6379/0 or rediss://"
                )
        return value


class GraphQLConfig(_Strict):
    graphiql: bool = True
    introspection: bool = True
    # Complete answers through compiled plans (gateway/api/compiled.py); false: graphql-core
    # completes every field (the plain path, slower, the fast path's test oracle).
    fast_path: bool = True
    max_first: int = Field(default=100, ge=1, le=1000)
    # No source call outlives this, whatever the sources' own timeout_seconds.
    request_timeout_seconds: float = Field(default=10, gt=0, le=300)
    # Seals pagination cursors. Unset: a random secret per process, so cursors die with it;
    # set the same one (e.g. ${CURSOR_SECRET}) on every replica to page across them.
    cursor_secret: SecretStr | None = None
    response_cache: ResponseCacheConfig = ResponseCacheConfig()

    @field_validator("cursor_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return value


class GatewayFile(_Strict):
    server: ServerConfig = ServerConfig()
    sources: tuple[SourceConfig, ...] = Field(min_length=1)
    policy: str | None = None
    audit: AuditConfig = AuditConfig()
    graphql: GraphQLConfig = GraphQLConfig()
    limits: LimitsConfig = LimitsConfig()
    logging: LoggingConfig = LoggingConfig()
    tracing: TracingConfig = TracingConfig()
    quality: QualitySettings = QualitySettings()
    store: StoreConfig = StoreConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    shared: SharedConfig = SharedConfig()


@dataclass(frozen=True, slots=True)
class SourceEntry:
    """A configured source: its settings and the connector class that serves it."""

    settings: SourceSettings
    connector_class: type[Connector]
    connector_name: str
    upstream: GuardConfig = GuardConfig()
    language: str | None = None


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    server: ServerConfig
    sources: tuple[SourceEntry, ...]
    graphql: GraphQLConfig
    audit: AuditConfig
    policy_path: Path | None
    path: Path | None = None
    limits: LimitsConfig = LimitsConfig()
    logging: LoggingConfig = LoggingConfig()
    tracing: TracingConfig = TracingConfig()
    quality: QualitySettings = QualitySettings()
    # None only for a config parsed without a file and without store.url (tests, embedding):
    # the gateway then keeps no state and the workflows are unavailable.
    store_url: str | None = None
    notifications: NotificationsConfig = NotificationsConfig()
    shared: SharedConfig = SharedConfig()

    @property
    def store_upgrades_at_start(self) -> bool:
        """SQLite (embedded, one host) is migrated at start; PostgreSQL only by `db upgrade`."""
        return self.store_url is not None and self.store_url.startswith("sqlite")

    def source(self, source_id: str) -> SourceEntry | None:
        return next((s for s in self.sources if s.settings.id == source_id), None)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What is valid but probably not meant; logged at start and by check-config."""
        if self.audit.enabled and self.audit.path is None:
            return (
                "audit: no audit.path is set, so requests are NOT recorded in an audit "
                "trail; set audit.path, or write `audit: {enabled: false}` to run without "
                "one on purpose",
            )
        return ()


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _interpolate(node: Any, path: str, env: Mapping[str, str], problems: list[Problem]) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string value."""
    if isinstance(node, dict):
        return {k: _interpolate(v, join_path(path, str(k)), env, problems) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, f"{path}[{i}]", env, problems) for i, v in enumerate(node)]
    if isinstance(node, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(Problem(path, f"environment variable {name} is not set"))
            return ""

        return _ENV_REF.sub(substitute, node)
    return node


def parse_config(
    raw: Any,
    *,
    source_name: str = "<config>",
    base_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> GatewayConfig:
    """Validate an already-parsed YAML document. Raises ``ConfigError`` with every problem."""
    problems: list[Problem] = []
    if not isinstance(raw, dict):
        raise ConfigError(source_name, [Problem("", "the config must be a YAML mapping")])
    raw = _interpolate(raw, "", os.environ if env is None else env, problems)
    try:
        parsed = GatewayFile.model_validate(raw)
    except ValidationError as exc:
        problems += pydantic_problems(exc)
        # Keep checking what we can: connector names and options of the sources that parsed.
        _check_sources_loosely(raw.get("sources"), problems)
        raise ConfigError(source_name, problems) from None

    entries: list[SourceEntry] = []
    seen: dict[str, int] = {}
    for index, source in enumerate(parsed.sources):
        path = f"sources[{index}]"
        if source.id in seen:
            problems.append(
                Problem(
                    f"{path}.id",
                    f"duplicate source id {source.id!r} (also sources[{seen[source.id]}])",
                )
            )
        seen.setdefault(source.id, index)
        entry = _build_source(source, path, problems)
        if entry is not None:
            entries.append(entry)

    for index, source in enumerate(parsed.sources):
        for position, named in enumerate(source.republishes):
            if named != "*" and named not in seen:
                problems.append(
                    Problem(
                        f"sources[{index}].republishes[{position}]",
                        f"unknown source {named!r}; known: {', '.join(seen)}",
                    )
                )
            elif named == source.id:
                problems.append(
                    Problem(
                        f"sources[{index}].republishes[{position}]",
                        "a source cannot republish itself",
                    )
                )

    policy_path: Path | None = None
    if parsed.policy is not None:
        policy_path = Path(parsed.policy)
        if base_dir is not None and not policy_path.is_absolute():
            policy_path = base_dir / policy_path
        if not policy_path.is_file():
            problems.append(Problem("policy", f"file not found: {policy_path}"))
    audit = parsed.audit
    if not audit.enabled and audit.path is not None:
        problems.append(
            Problem("audit.enabled", "is false but audit.path is set; keep one of the two")
        )
    if audit.path is not None:
        audit_path = Path(audit.path)
        if base_dir is not None and not audit_path.is_absolute():
            audit_path = base_dir / audit_path
            audit = audit.model_copy(update={"path": str(audit_path)})
        if not audit_path.parent.is_dir():
            problems.append(Problem("audit.path", f"directory not found: {audit_path.parent}"))
    store_url = parsed.store.url
    if store_url is None and base_dir is not None:
        store_url = f"sqlite+aiosqlite:///{(base_dir / DEFAULT_STORE_FILE).resolve()}"
    if problems:
        raise ConfigError(source_name, problems)
    return GatewayConfig(
        server=parsed.server,
        sources=tuple(entries),
        graphql=parsed.graphql,
        audit=audit,
        policy_path=policy_path,
        limits=parsed.limits,
        logging=parsed.logging,
        tracing=parsed.tracing,
        quality=parsed.quality,
        store_url=store_url,
        notifications=parsed.notifications,
        shared=parsed.shared,
    )


def _check_sources_loosely(raw_sources: Any, problems: list[Problem]) -> None:
    if not isinstance(raw_sources, list):
        return
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_sources):
        source_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(source_id, str):
            if source_id in seen:
                problems.append(
                    Problem(
                        f"sources[{index}].id",
                        f"duplicate source id {source_id!r} (also sources[{seen[source_id]}])",
                    )
                )
            seen.setdefault(source_id, index)
        if not isinstance(raw, dict) or not isinstance(raw.get("connector"), str):
            continue
        path = f"sources[{index}]"
        try:
            connector_class = load_connector(raw["connector"])
        except LookupError as exc:
            problems.append(Problem(f"{path}.connector", str(exc)))
            continue
        options = raw.get("options", {})
        if isinstance(options, dict):
            try:
                connector_class.options_model.model_validate(options)
            except ValidationError as exc:
                problems.extend(pydantic_problems(exc, f"{path}.options"))


def _build_source(source: SourceConfig, path: str, problems: list[Problem]) -> SourceEntry | None:
    try:
        connector_class = load_connector(source.connector)
    except LookupError as exc:
        problems.append(Problem(f"{path}.connector", str(exc)))
        return None
    try:
        options = connector_class.options_model.model_validate(source.options)
    except ValidationError as exc:
        problems.extend(pydantic_problems(exc, f"{path}.options"))
        return None
    settings = SourceSettings(
        id=source.id,
        url=source.url,
        timeout_seconds=source.timeout_seconds,
        defaults=SourceDefaults(
            share_type=source.defaults.share_type,
            open_type=source.defaults.open_type,
            sensitivity=source.defaults.sensitivity,
        ),
        department=(
            Department(source.department.id, source.department.name, source.department.code)
            if source.department
            else None
        ),
        authoritative_for=source.authoritative_for,
        republishes=source.republishes,
        options=options,
        max_response_bytes=int(source.max_response_mb * 1024 * 1024),
        allowed_origins=source.allowed_origins,
        speaks_for=source.speaks_for,
    )
    return SourceEntry(
        settings, connector_class, source.connector, source.upstream, source.language
    )


def load_config(path: str | Path, *, env: Mapping[str, str] | None = None) -> GatewayConfig:
    """Read and validate a gateway YAML file. Raises ``ConfigError``."""
    path = Path(path)
    raw = read_yaml(path)
    config = parse_config(raw, source_name=str(path), base_dir=path.parent, env=env)
    return replace(config, path=path)
