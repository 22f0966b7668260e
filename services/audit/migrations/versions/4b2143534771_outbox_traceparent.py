"""outbox traceparent: the W3C trace context an event was written in (CloudEvents tracing extension)

Revision ID: 4b2143534771
Revises: f482a57a6c49
Create Date: 2026-12-02 14:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4b2143534771"
down_revision: str | None = "f482a57a6c49"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("traceparent")
