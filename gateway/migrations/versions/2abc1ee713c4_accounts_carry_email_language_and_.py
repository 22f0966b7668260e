"""accounts carry email, language and version (SPEC §15: notify addresses people by the gateway's
``account.*`` events)

``version`` of an existing row is 0: that account has never been announced on the bus; the gateway
announces each such account once when it starts (gateway/accounts.py ``announce_existing``), so a
deployment that upgrades fills notify's read model. New accounts start at 1.

Only native ``ALTER TABLE … ADD/DROP COLUMN`` on ``accounts`` (SQLite ≥ 3.35 drops natively): a
batch rebuild of this parent table would drop it and, were foreign keys on, cascade to its
clients, refresh tokens and organisations' admins (docs/DECISIONS.md D20).

Revision ID: 2abc1ee713c4
Revises: 7e8556f4d77e
Create Date: 2026-12-02 01:21:52.423067
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2abc1ee713c4"
down_revision: str | None = "7e8556f4d77e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("email", sa.String(length=254), nullable=True))
    op.add_column("accounts", sa.Column("language", sa.String(length=10), nullable=True))
    op.add_column("accounts", sa.Column("version", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    for column in ("version", "language", "email"):
        op.execute(f"ALTER TABLE accounts DROP COLUMN {column}")
