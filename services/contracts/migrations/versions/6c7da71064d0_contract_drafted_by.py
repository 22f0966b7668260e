"""contract drafted_by: which party drafted the contract (contract events carry it, SPEC §9 v2)

Revision ID: 6c7da71064d0
Revises: 2e54729794a2
Create Date: 2026-12-02 00:09:21.101593
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '6c7da71064d0'
down_revision: Union[str, None] = '2e54729794a2'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('drafted_by', sa.String(length=20), nullable=True))
    # Existing contracts: the party of their creator, whose actor name is "<role>:<account>".
    op.execute("UPDATE contracts SET drafted_by = CASE WHEN created_by LIKE 'enterprise:%' "
               "THEN 'enterprise' ELSE 'agency' END")
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.alter_column('drafted_by', existing_type=sa.String(length=20), nullable=False)
        batch_op.create_check_constraint(op.f('ck_contracts_drafted_by'), "drafted_by IN ('agency', 'enterprise')")


def downgrade() -> None:
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_contracts_drafted_by'), type_='check')
        batch_op.drop_column('drafted_by')
