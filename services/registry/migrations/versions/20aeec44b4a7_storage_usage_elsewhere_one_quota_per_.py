"""storage usage elsewhere: one quota per organisation (SPEC 16)

Revision ID: 20aeec44b4a7
Revises: 7b1e3c9d2f40
Create Date: 2026-12-04 01:14:24.801859
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql  # noqa: F401
import sqlmodel.sql.sqltypes


revision: str = '20aeec44b4a7'
down_revision: Union[str, None] = '7b1e3c9d2f40'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('storage_usage',
    sa.Column('service', sa.String(length=40), nullable=False),
    sa.Column('org_role', sa.String(length=20), nullable=False),
    sa.Column('org_uscc', sa.String(length=18), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('service', 'org_role', 'org_uscc', name=op.f('pk_storage_usage'))
    )


def downgrade() -> None:
    op.drop_table('storage_usage')
