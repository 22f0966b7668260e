"""contract parties (the privacy rule of SPEC §14) and enum CHECKs

``custody_contracts`` learns each contract's agency USCC, who drafted it and whether the enterprise
signed it; the status columns of the read models get the CHECK of their enum (shared.db.check_in),
as ``industry``, ``risk_level`` and ``base_level`` already had.

Revision ID: e6f9612c4000
Revises: 360f7b1f5ed1
Create Date: 2026-12-01 23:55:44.282568
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = 'e6f9612c4000'
down_revision: Union[str, None] = '360f7b1f5ed1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CONTRACT_STATUSES = ("draft", "signed", "filing", "filed", "active", "suspended", "rejected", "cancelled",
                     "terminated", "expired")
HAZARD_STATUSES = ("open", "rectified", "verified", "overdue")


def _in(column: str, values: Sequence[str], *, nullable: bool = False) -> str:
    allowed = f"{column} IN ({', '.join(repr(v) for v in values)})"
    return f"{allowed} OR {column} IS NULL" if nullable else allowed


def upgrade() -> None:
    with op.batch_alter_table('custody_contracts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agency_uscc', sa.String(length=18), nullable=True))
        batch_op.add_column(sa.Column('drafted_by', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('enterprise_signed', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_check_constraint('status', _in('status', CONTRACT_STATUSES))
        batch_op.create_check_constraint('drafted_by', _in('drafted_by', ('agency', 'enterprise'), nullable=True))
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.create_check_constraint('custodian_status', _in('custodian_status', ('active', 'suspended'),
                                                                 nullable=True))
    with op.batch_alter_table('major_hazards', schema=None) as batch_op:
        batch_op.create_check_constraint('status', _in('status', HAZARD_STATUSES))


def downgrade() -> None:
    with op.batch_alter_table('major_hazards', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_major_hazards_status'), type_='check')
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_enterprises_custodian_status'), type_='check')
    with op.batch_alter_table('custody_contracts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_custody_contracts_drafted_by'), type_='check')
        batch_op.drop_constraint(op.f('ck_custody_contracts_status'), type_='check')
        batch_op.drop_column('enterprise_signed')
        batch_op.drop_column('drafted_by')
        batch_op.drop_column('agency_uscc')
