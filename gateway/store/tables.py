"""Every table of the gateway, as SQLAlchemy Core, on one shared ``metadata``.

To add a table: define it here on ``metadata`` (use ``UTCDateTime`` for moments and
``BigId`` for integer keys), then add a migration in ``gateway/store/migrations/versions/``
(``alembic revision --autogenerate`` from the store's Alembic config, reviewed by hand; see
docs/store.md). ``tests/gateway/store/test_migrations.py`` fails while the tables and the
migrations disagree.
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.store.types import BigId, UTCDateTime

# Named constraints, so that migrations can alter them the same way on every database.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Events for the webhooks (gateway.store.outbox), written in the same transaction as the
# state change they announce, and delivered later by the dispatcher.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("event", sa.String(100), nullable=False),  # e.g. access_request.approved
    sa.Column("subject", sa.String(200), nullable=False),  # the id of the object it is about
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    # Due for (re)delivery from this moment; also the claim lease of a dispatcher at work.
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    # Webhook URLs that already acknowledged this event: a retry goes only to the others.
    sa.Column("delivered_to", sa.JSON, nullable=False),
)
sa.Index("ix_outbox_pending", outbox.c.delivered_at, outbox.c.next_attempt_at)

# -- quality (gateway.quality): the sweep's figures and the link checker's results --------

# One sweep over every source; finished_at is null while it runs (or was cut short: the
# next run resumes it, skipping the sources already done).
quality_sweeps = sa.Table(
    "quality_sweeps",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
)
# What one source gave a sweep: per department, the counts it adds (JSON).
quality_sweep_sources = sa.Table(
    "quality_sweep_sources",
    metadata,
    sa.Column("sweep_id", BigId, sa.ForeignKey("quality_sweeps.id"), primary_key=True),
    sa.Column("source_id", sa.String(64), primary_key=True),
    sa.Column("finished_at", UTCDateTime, nullable=False),
    sa.Column("figures", sa.JSON, nullable=False),
)
# A finished sweep's figures per department: the report and its history.
quality_department_figures = sa.Table(
    "quality_department_figures",
    metadata,
    sa.Column("sweep_id", BigId, sa.ForeignKey("quality_sweeps.id"), primary_key=True),
    sa.Column("department", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(500), nullable=True),
    sa.Column("generated_at", UTCDateTime, nullable=False),
    sa.Column("figures", sa.JSON, nullable=False),
)
sa.Index(
    "ix_quality_department_figures_history",
    quality_department_figures.c.department,
    quality_department_figures.c.generated_at,
)
# The link checker's last result for a dataset's URLs (the worst of them).
quality_dataset_links = sa.Table(
    "quality_dataset_links",
    metadata,
    sa.Column("source_id", sa.String(64), primary_key=True),
    sa.Column("local_id", sa.String(500), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),  # OK | BROKEN
    sa.Column("http_status", sa.Integer, nullable=True),
    sa.Column("checked_at", UTCDateTime, nullable=False),
)

# Access requests (按需共享): one row per request (one providing department). An APPROVED
# row is also the grant it issued; its state says whether the grant still stands.
access_requests = sa.Table(
    "access_requests",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("requester_id", sa.String(256), nullable=False),
    sa.Column("requester_department", sa.String(256), nullable=True),
    sa.Column("provider_department", sa.String(256), nullable=False),
    sa.Column("dataset_ids", sa.JSON, nullable=False),  # global ids, as requested
    sa.Column("purpose", sa.String(128), nullable=False),
    sa.Column("legal_basis", sa.Text, nullable=False),
    sa.Column("fields", sa.JSON, nullable=True),  # data items; null: every item
    sa.Column("privilege", sa.String(16), nullable=False),
    sa.Column("mask", sa.JSON, nullable=False),  # added by the conditions
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_until", sa.Date, nullable=False),  # inclusive
    sa.Column("steps", sa.JSON, nullable=False),  # [{stage, actor, decision, reason, at}]
    sa.Column("due_at", UTCDateTime, nullable=True),  # the current stage's deadline
    sa.Column("expiring_sent", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
sa.Index("ix_access_requests_requester", access_requests.c.requester_id)
sa.Index("ix_access_requests_provider", access_requests.c.provider_department)
sa.Index("ix_access_requests_state", access_requests.c.state)

# Operation agreements (授权运营).
operation_agreements = sa.Table(
    "operation_agreements",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_reason", sa.Text, nullable=True),
    sa.Column("operator", sa.String(256), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("departments", sa.JSON, nullable=False),
    sa.Column("themes", sa.JSON, nullable=False),
    sa.Column("dataset_ids", sa.JSON, nullable=False),
    sa.Column("max_sensitivity", sa.String(4), nullable=False),
    sa.Column("scenarios", sa.JSON, nullable=False),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_until", sa.Date, nullable=False),  # inclusive
    sa.Column("obligations", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
sa.Index("ix_operation_agreements_operator", operation_agreements.c.operator)

# One row per request that returned datasets under an agreement (its `usage`).
agreement_usage = sa.Table(
    "agreement_usage",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "agreement_id",
        BigId,
        sa.ForeignKey("operation_agreements.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("scenario", sa.String(128), nullable=True),
    sa.Column("datasets_returned", sa.Integer, nullable=False),
    sa.Column("caller_id", sa.String(256), nullable=False),
    sa.Column("request_id", sa.String(128), nullable=True),
)
sa.Index("ix_agreement_usage_agreement_at", agreement_usage.c.agreement_id, agreement_usage.c.at)

# Every change to what the store grants (approval, revocation, agreement status) adds a
# row in the same transaction: replicas compare max(id) per request, cheaply, and reload
# the issued grants when it moved.
grant_changes = sa.Table(
    "grant_changes",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)

# Open-data demands and error reports (gateway.store.demands). The contact details and the
# receipt's hash never leave the repository except to those the API lets read them.
data_demands = sa.Table(
    "data_demands",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("dataset_id", sa.String(512), nullable=True),  # the global id named
    sa.Column("department", sa.String(256), nullable=True),  # assigned to
    sa.Column("department_name", sa.String(256), nullable=True),
    sa.Column("purpose", sa.Text, nullable=True),
    sa.Column("contact", sa.JSON, nullable=False),  # {name, email, phone}
    sa.Column("submitter_id", sa.String(256), nullable=True),  # null: anonymous
    sa.Column("receipt_sha256", sa.String(64), nullable=False),
    # 1 for the submitter + one per distinct supporter (data_demand_supporters).
    sa.Column("support_count", sa.Integer, nullable=False, server_default="1"),
    sa.Column("due_at", UTCDateTime, nullable=False),  # the current stage's deadline
    sa.Column("assigned_at", UTCDateTime, nullable=True),
    sa.Column("answer_decision", sa.String(32), nullable=True),
    sa.Column("answer_reason", sa.Text, nullable=True),
    sa.Column("answer_planned_date", sa.Date, nullable=True),
    sa.Column("answer_dataset_ids", sa.JSON, nullable=True),
    sa.Column("answered_at", UTCDateTime, nullable=True),
    sa.Column("answered_by", sa.String(256), nullable=True),
    sa.Column("answer_late", sa.Boolean, nullable=True),
    sa.Column("close_reason", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # Bumped by every change: a change based on a stale read is refused, not lost.
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
)
sa.Index("ix_data_demands_state", data_demands.c.state)
sa.Index("ix_data_demands_department", data_demands.c.department)
sa.Index("ix_data_demands_dataset_id", data_demands.c.dataset_id)

# One row per theme of a demand, for the ranking (GROUP BY on every database).
data_demand_themes = sa.Table(
    "data_demand_themes",
    metadata,
    sa.Column(
        "demand_id",
        BigId,
        sa.ForeignKey("data_demands.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("theme", sa.String(64), primary_key=True),
)
sa.Index("ix_data_demand_themes_theme", data_demand_themes.c.theme)

# One support per authenticated caller and demand.
data_demand_supporters = sa.Table(
    "data_demand_supporters",
    metadata,
    sa.Column(
        "demand_id",
        BigId,
        sa.ForeignKey("data_demands.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("supporter_id", sa.String(256), primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
)

# Anonymous submissions of the last hour, per client (a SHA-256 of its address key), for
# workflows.demands.anonymous_per_hour; rows older than the window are deleted as new ones
# arrive, so no address trace outlives the hour. Shared by replicas through the store.
data_demand_anonymous_submissions = sa.Table(
    "data_demand_anonymous_submissions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("client_key", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)
sa.Index(
    "ix_data_demand_anonymous_submissions_client",
    data_demand_anonymous_submissions.c.client_key,
    data_demand_anonymous_submissions.c.at,
)
