"""risk inputs pending: an enterprise's own district move or lowering of its risk inputs waits for
its district bureau (the old values rule meanwhile); the last review is kept for the enterprise

Revision ID: b7e2c4a91d05
Revises: e9d50084dfc3
Create Date: 2026-12-04 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e2c4a91d05"
down_revision: str | None = "e9d50084dfc3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("enterprises", sa.Column("risk_inputs_pending", sa.JSON(), nullable=True))
    op.add_column("enterprises", sa.Column("risk_inputs_review", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enterprises") as batch:
        batch.drop_column("risk_inputs_review")
        batch.drop_column("risk_inputs_pending")
