"""agency change filing, contract engineers, lapsed certificates

Revision ID: 7b1e3c9d2f40
Revises: 500642d6f378
Create Date: 2026-12-04 01:10:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '7b1e3c9d2f40'
down_revision: Union[str, None] = '500642d6f378'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('agency_change',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('checks', sa.JSON(), nullable=False),
    sa.Column('review_comments', sa.Text(), nullable=True),
    sa.Column('filed_by', sa.String(length=100), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('submitted', 'approved', 'rejected', 'applied')", name=op.f('ck_agency_change_status')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_agency_change_agency_id_agency'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency_change'))
    )
    with op.batch_alter_table('agency_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_change_agency_id'), ['agency_id'], unique=False)

    op.create_table('contract_engineer',
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('engineer_name', sa.String(length=100), nullable=False),
    sa.Column('live', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('contract_id', name=op.f('pk_contract_engineer'))
    )
    with op.batch_alter_table('contract_engineer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_engineer_agency_id'), ['agency_id'], unique=False)

    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('noncompliant', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('agency_staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lapsed', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('agency_staff', schema=None) as batch_op:
        batch_op.drop_column('lapsed')
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_column('noncompliant')
    with op.batch_alter_table('contract_engineer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_engineer_agency_id'))
    op.drop_table('contract_engineer')
    with op.batch_alter_table('agency_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agency_change_agency_id'))
    op.drop_table('agency_change')
