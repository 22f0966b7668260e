"""enterprise_risk_step: the enterprise's risk history for its file (一企一档, SPEC 22)

Revision ID: 3e5f0a7c9b21
Revises: 85b0298d625b
Create Date: 2026-12-04 01:45:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision: str = '3e5f0a7c9b21'
down_revision: Union[str, None] = '85b0298d625b'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('enterprise_risk_step',
    sa.Column('enterprise_uscc', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('risk_level', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('previous_risk_level', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('enterprise_uscc', 'version', name=op.f('pk_enterprise_risk_step'))
    )


def downgrade() -> None:
    op.drop_table('enterprise_risk_step')
