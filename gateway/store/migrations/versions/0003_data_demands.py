"""Open-data demands and error reports: demands, their themes and supporters, the window of
anonymous submissions.

Revision ID: 0003_data_demands
Revises: 0101_quality
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_data_demands"
down_revision = "0101_quality"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "data_demands",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("dataset_id", sa.String(512), nullable=True),
        sa.Column("department", sa.String(256), nullable=True),
        sa.Column("department_name", sa.String(256), nullable=True),
        sa.Column("purpose", sa.Text, nullable=True),
        sa.Column("contact", sa.JSON, nullable=False),
        sa.Column("submitter_id", sa.String(256), nullable=True),
        sa.Column("receipt_sha256", sa.String(64), nullable=False),
        sa.Column("support_count", sa.Integer, nullable=False, server_default="1"),
        sa.Column("due_at", MOMENT, nullable=False),
        sa.Column("assigned_at", MOMENT, nullable=True),
        sa.Column("answer_decision", sa.String(32), nullable=True),
        sa.Column("answer_reason", sa.Text, nullable=True),
        sa.Column("answer_planned_date", sa.Date, nullable=True),
        sa.Column("answer_dataset_ids", sa.JSON, nullable=True),
        sa.Column("answered_at", MOMENT, nullable=True),
        sa.Column("answered_by", sa.String(256), nullable=True),
        sa.Column("answer_late", sa.Boolean, nullable=True),
        sa.Column("close_reason", sa.Text, nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_demands")),
    )
    op.create_index("ix_data_demands_state", "data_demands", ["state"])
    op.create_index("ix_data_demands_department", "data_demands", ["department"])
    op.create_index("ix_data_demands_dataset_id", "data_demands", ["dataset_id"])

    op.create_table(
        "data_demand_themes",
        sa.Column("demand_id", ID, nullable=False),
        sa.Column("theme", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["demand_id"],
            ["data_demands.id"],
            name=op.f("fk_data_demand_themes_demand_id_data_demands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("demand_id", "theme", name=op.f("pk_data_demand_themes")),
    )
    op.create_index("ix_data_demand_themes_theme", "data_demand_themes", ["theme"])

    op.create_table(
        "data_demand_supporters",
        sa.Column("demand_id", ID, nullable=False),
        sa.Column("supporter_id", sa.String(256), nullable=False),
        sa.Column("at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["demand_id"],
            ["data_demands.id"],
            name=op.f("fk_data_demand_supporters_demand_id_data_demands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "demand_id", "supporter_id", name=op.f("pk_data_demand_supporters")
        ),
    )

    op.create_table(
        "data_demand_anonymous_submissions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("client_key", sa.String(64), nullable=False),
        sa.Column("at", MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_demand_anonymous_submissions")),
    )
    op.create_index(
        "ix_data_demand_anonymous_submissions_client",
        "data_demand_anonymous_submissions",
        ["client_key", "at"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_data_demand_anonymous_submissions_client",
        table_name="data_demand_anonymous_submissions",
    )
    op.drop_table("data_demand_anonymous_submissions")
    op.drop_table("data_demand_supporters")
    op.drop_index("ix_data_demand_themes_theme", table_name="data_demand_themes")
    op.drop_table("data_demand_themes")
    op.drop_index("ix_data_demands_dataset_id", table_name="data_demands")
    op.drop_index("ix_data_demands_department", table_name="data_demands")
    op.drop_index("ix_data_demands_state", table_name="data_demands")
    op.drop_table("data_demands")
