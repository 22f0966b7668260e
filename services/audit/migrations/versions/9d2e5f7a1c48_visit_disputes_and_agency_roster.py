"""service_log: the enterprise's dispute and the bureau's resolution; agency_view: the roster (D45)

Revision ID: 9d2e5f7a1c48
Revises: 7c1d4e9a2b36
Create Date: 2026-12-04 01:20:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision: str = '9d2e5f7a1c48'
down_revision: Union[str, None] = '7c1d4e9a2b36'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BEFORE = ('recorded', 'confirmed')
AFTER = (*BEFORE, 'disputed', 'void')


def _statuses(values: tuple[str, ...]) -> str:
    return f"status IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table('agency_view', schema=None) as batch_op:
        batch_op.add_column(sa.Column('engineers', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('service_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disputed_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column('disputed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('dispute_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('resolved_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolution', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))
        batch_op.add_column(sa.Column('resolution_notes', sa.Text(), nullable=True))
        batch_op.drop_constraint(op.f('ck_service_log_service_log_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_service_log_service_log_status'), _statuses(AFTER))


def downgrade() -> None:
    op.execute("UPDATE service_log SET status = 'recorded' WHERE status IN ('disputed', 'void')")
    with op.batch_alter_table('service_log', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_service_log_service_log_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_service_log_service_log_status'), _statuses(BEFORE))
        batch_op.drop_column('resolution_notes')
        batch_op.drop_column('resolution')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('resolved_by')
        batch_op.drop_column('dispute_reason')
        batch_op.drop_column('disputed_at')
        batch_op.drop_column('disputed_by')
    with op.batch_alter_table('agency_view', schema=None) as batch_op:
        batch_op.drop_column('engineers')
