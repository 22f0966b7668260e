"""contract agency_lapsed

Revision ID: 5d2c8e1a9b37
Revises: 293b60a591b4
Create Date: 2026-12-04 01:22:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '5d2c8e1a9b37'
down_revision: Union[str, None] = "293b60a591b4"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('contracts', sa.Column('agency_lapsed', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    # Not in batch mode: SQLite drops the column in place (a batch would rebuild the table and
    # turn the earlier migrations' checks into ones their own downgrades cannot drop).
    op.drop_column('contracts', 'agency_lapsed')
