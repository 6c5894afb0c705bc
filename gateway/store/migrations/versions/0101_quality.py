"""Quality: sweeps, their per-source and per-department figures, link check results.

Revision ID: 0101_quality
Revises: 0001_outbox
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0101_quality"
down_revision = "0002_access_requests"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "quality_sweeps",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_sweeps")),
    )
    op.create_table(
        "quality_sweep_sources",
        sa.Column("sweep_id", _ID, nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["sweep_id"],
            ["quality_sweeps.id"],
            name=op.f("fk_quality_sweep_sources_sweep_id_quality_sweeps"),
        ),
        sa.PrimaryKeyConstraint("sweep_id", "source_id", name=op.f("pk_quality_sweep_sources")),
    )
    op.create_table(
        "quality_department_figures",
        sa.Column("sweep_id", _ID, nullable=False),
        sa.Column("department", sa.String(200), nullable=False),
        sa.Column("name", sa.String(500), nullable=True),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["sweep_id"],
            ["quality_sweeps.id"],
            name=op.f("fk_quality_department_figures_sweep_id_quality_sweeps"),
        ),
        sa.PrimaryKeyConstraint(
            "sweep_id", "department", name=op.f("pk_quality_department_figures")
        ),
    )
    op.create_index(
        "ix_quality_department_figures_history",
        "quality_department_figures",
        ["department", "generated_at"],
    )
    op.create_table(
        "quality_dataset_links",
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("local_id", sa.String(500), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer, nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source_id", "local_id", name=op.f("pk_quality_dataset_links")),
    )


def downgrade() -> None:
    op.drop_table("quality_dataset_links")
    op.drop_index("ix_quality_department_figures_history", table_name="quality_department_figures")
    op.drop_table("quality_department_figures")
    op.drop_table("quality_sweep_sources")
    op.drop_table("quality_sweeps")
