"""outbox traceparent: the W3C trace context an event was written in (CloudEvents tracing extension)

Revision ID: e9d50084dfc3
Revises: e6f9612c4000
Create Date: 2026-12-02 14:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e9d50084dfc3"
down_revision: str | None = "e6f9612c4000"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("traceparent")
