"""audit_sample server_nonce and watched_agencies: the server's part of the seed and the agencies
graded C or D at the draw (SPEC §19), logged so that the draw can be recomputed

Revision ID: 5d3c1e2b7a90
Revises: ae766abf9901
Create Date: 2026-12-02 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d3c1e2b7a90"
down_revision: str | None = "ae766abf9901"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# A NOT NULL column comes with a default (samples drawn before have neither part); the default
# stays, because on SQLite removing it would rebuild audit_sample, and dropping the old table
# would take its audit tasks with it (foreign keys are on).


def upgrade() -> None:
    op.add_column("audit_sample", sa.Column("server_nonce", sa.String(length=64), nullable=False, server_default=""))
    op.add_column("audit_sample", sa.Column("watched_agencies", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    op.drop_column("audit_sample", "watched_agencies")
    op.drop_column("audit_sample", "server_nonce")
