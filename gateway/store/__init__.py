"""Persistence: SQLAlchemy tables, Alembic migrations, repositories.

The front door of the store (see docs/store.md):

- ``Store`` (``transaction()``, ``connect()``, ``dialect``, ``aclose()``), ``open_store``,
  ``StoreError``, ``check_store_url``;
- ``metadata`` and the tables (``gateway.store.tables``), ``UTCDateTime``, ``BigId``;
- ``upgrade``, ``current_revision``, ``head_revision``, ``alembic_config``;
- repositories: ``AccessRequestRepository``, ``AgreementRepository`` and the
  ``IssuedGrantsLoader`` (the grants they issued, reloaded when ``grant_changes`` moves);
- the outbox: ``append_event`` (inside a workflow's transaction), ``OutboxRepository``,
  ``OutboxEvent``;
- data demands: ``DemandRepository`` and its records (``gateway.store.demands``).
"""

from __future__ import annotations

from gateway.store.access_requests import (
    AccessRequestRecord,
    AccessRequestRepository,
    Change,
    NewAccessRequest,
    Viewer,
    request_global_id,
)
from gateway.store.agreements import (
    AgreementRecord,
    AgreementRepository,
    IssuedGrantsLoader,
    NewAgreement,
    Usage,
    agreement_global_id,
)
from gateway.store.demands import (
    DemandFilter,
    DemandPage,
    DemandRecord,
    DemandRepository,
    DepartmentDemands,
    NewDemand,
    Ranked,
    StaleDemand,
    client_hash,
    receipt_hash,
)
from gateway.store.engine import (
    SUPPORTED_SCHEMES,
    Store,
    StoreError,
    check_store_url,
    safe_url,
)
from gateway.store.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    open_store,
    upgrade,
)
from gateway.store.outbox import OutboxEvent, OutboxRepository, append_event, retry_delay
from gateway.store.shared import Redis, open_shared_redis
from gateway.store.sweep import store_pk, sweep_workflows
from gateway.store.tables import (
    metadata,
    outbox,
    quality_dataset_links,
    quality_department_figures,
    quality_sweep_sources,
    quality_sweeps,
)
from gateway.store.types import BigId, UTCDateTime

__all__ = [
    "AccessRequestRecord",
    "AccessRequestRepository",
    "AgreementRecord",
    "AgreementRepository",
    "Change",
    "IssuedGrantsLoader",
    "NewAccessRequest",
    "NewAgreement",
    "Usage",
    "Viewer",
    "agreement_global_id",
    "request_global_id",
    "SUPPORTED_SCHEMES",
    "BigId",
    "DemandFilter",
    "DemandPage",
    "DemandRecord",
    "DemandRepository",
    "DepartmentDemands",
    "NewDemand",
    "OutboxEvent",
    "OutboxRepository",
    "Redis",
    "Ranked",
    "StaleDemand",
    "Store",
    "StoreError",
    "UTCDateTime",
    "alembic_config",
    "append_event",
    "check_store_url",
    "client_hash",
    "current_revision",
    "head_revision",
    "metadata",
    "open_shared_redis",
    "open_store",
    "receipt_hash",
    "outbox",
    "quality_dataset_links",
    "quality_department_figures",
    "quality_sweep_sources",
    "quality_sweeps",
    "retry_delay",
    "safe_url",
    "store_pk",
    "sweep_workflows",
    "upgrade",
]
