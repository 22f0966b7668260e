"""agency_engagement: other work agencies declare for enterprises (SPEC §20, conflicts of interest)

Revision ID: 9c4d2a7e5b31
Revises: cf06cda55f82
Create Date: 2026-12-02 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c4d2a7e5b31"
down_revision: str | None = "cf06cda55f82"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agency_engagement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("agency_uscc", sa.String(length=18), nullable=False),
        sa.Column("district_code", sa.String(length=12), nullable=False),
        sa.Column("enterprise_uscc", sa.String(length=18), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("declared_by", sa.String(length=100), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('safety_evaluation', 'testing', 'consulting', 'training')", name=op.f("ck_agency_engagement_kind")
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_agency_engagement_agency_id_agency"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_engagement")),
    )
    op.create_index(op.f("ix_agency_engagement_agency_id"), "agency_engagement", ["agency_id"])
    op.create_index(op.f("ix_agency_engagement_enterprise_uscc"), "agency_engagement", ["enterprise_uscc"])


def downgrade() -> None:
    op.drop_index(op.f("ix_agency_engagement_enterprise_uscc"), table_name="agency_engagement")
    op.drop_index(op.f("ix_agency_engagement_agency_id"), table_name="agency_engagement")
    op.drop_table("agency_engagement")
