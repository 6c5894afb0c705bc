"""Access requests, operation agreements, their usage, and the grant change log.

Revision ID: 0002_access_requests
Revises: 0001_outbox
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_access_requests"
down_revision = "0001_outbox"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "access_requests",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("requester_id", sa.String(256), nullable=False),
        sa.Column("requester_department", sa.String(256), nullable=True),
        sa.Column("provider_department", sa.String(256), nullable=False),
        sa.Column("dataset_ids", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(128), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=True),
        sa.Column("privilege", sa.String(16), nullable=False),
        sa.Column("mask", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("due_at", _MOMENT, nullable=True),
        sa.Column("expiring_sent", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_requests")),
    )
    op.create_index("ix_access_requests_provider", "access_requests", ["provider_department"])
    op.create_index("ix_access_requests_requester", "access_requests", ["requester_id"])
    op.create_index("ix_access_requests_state", "access_requests", ["state"])
    op.create_table(
        "grant_changes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("at", _MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_changes")),
    )
    op.create_table(
        "operation_agreements",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("operator", sa.String(256), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("dataset_ids", sa.JSON(), nullable=False),
        sa.Column("max_sensitivity", sa.String(4), nullable=False),
        sa.Column("scenarios", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("obligations", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operation_agreements")),
    )
    op.create_index("ix_operation_agreements_operator", "operation_agreements", ["operator"])
    op.create_table(
        "agreement_usage",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("agreement_id", _ID, nullable=False),
        sa.Column("at", _MOMENT, nullable=False),
        sa.Column("scenario", sa.String(128), nullable=True),
        sa.Column("datasets_returned", sa.Integer(), nullable=False),
        sa.Column("caller_id", sa.String(256), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["operation_agreements.id"],
            name=op.f("fk_agreement_usage_agreement_id_operation_agreements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_usage")),
    )
    op.create_index("ix_agreement_usage_agreement_at", "agreement_usage", ["agreement_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_agreement_usage_agreement_at", table_name="agreement_usage")
    op.drop_table("agreement_usage")
    op.drop_index("ix_operation_agreements_operator", table_name="operation_agreements")
    op.drop_table("operation_agreements")
    op.drop_table("grant_changes")
    op.drop_index("ix_access_requests_state", table_name="access_requests")
    op.drop_index("ix_access_requests_requester", table_name="access_requests")
    op.drop_index("ix_access_requests_provider", table_name="access_requests")
    op.drop_table("access_requests")
