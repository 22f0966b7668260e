"""engagement_facts: other work agencies declared for enterprises (SPEC §20), for the
conflict-of-interest rule

Revision ID: 7b1e4c9d2f60
Revises: e54e4f01e203
Create Date: 2026-12-02 14:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7b1e4c9d2f60"
down_revision: str | None = "e54e4f01e203"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "engagement_facts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("enterprise_uscc", sa.String(length=18), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement_facts")),
    )
    op.create_index("ix_engagement_facts_pair", "engagement_facts", ["agency_id", "enterprise_uscc"])


def downgrade() -> None:
    op.drop_index("ix_engagement_facts_pair", table_name="engagement_facts")
    op.drop_table("engagement_facts")
