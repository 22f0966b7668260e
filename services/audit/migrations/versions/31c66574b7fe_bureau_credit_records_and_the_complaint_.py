"""bureau credit records and the complaint's credit record (SPEC §19, issue #17 items 1 and 7)

A credit record may now be a bureau's violation or commendation: the kind's CHECK admits them, a
record carries the bureau's reason and author, and its ref (the bureau's document reference) may be
absent. An upheld complaint names the credit record it caused.

SQLite rebuilds ``credit_record`` for the nullable ref and the new CHECK (no table references it);
``complaint`` only gains a nullable column (``ADD COLUMN``, no rebuild: ``complaint_step`` refers to it).
Downgrading deletes the bureau's records (the old CHECK and the NOT NULL ref cannot hold them).

Revision ID: 31c66574b7fe
Revises: 4b2143534771
Create Date: 2026-12-02 13:50:15.494865
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql  # noqa: F401
import sqlmodel.sql.sqltypes


revision: str = '31c66574b7fe'
down_revision: Union[str, None] = '4b2143534771'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

AUTOMATIC = ('complaint_upheld', 'audit_below_60', 'audit_at_least_90', 'missed_visit', 'hazard_verified_late',
             'fraud_finding')
BUREAU = ('violation', 'commendation')


def _kinds(kinds: Sequence[str]) -> str:
    return f"kind IN ({', '.join(repr(k) for k in kinds)})"


def upgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_record_id', sa.Uuid(), nullable=True))

    with op.batch_alter_table('credit_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.alter_column('ref',
               existing_type=sa.VARCHAR(length=120),
               nullable=True)
        batch_op.drop_constraint(op.f('ck_credit_record_credit_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_credit_record_credit_kind'), _kinds(AUTOMATIC + BUREAU))


def downgrade() -> None:
    op.execute(f"DELETE FROM credit_record WHERE {_kinds(BUREAU)}")
    with op.batch_alter_table('credit_record', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_credit_record_credit_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_credit_record_credit_kind'), _kinds(AUTOMATIC))
        batch_op.alter_column('ref',
               existing_type=sa.VARCHAR(length=120),
               nullable=False)
        batch_op.drop_column('recorded_by')
        batch_op.drop_column('reason')

    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_column('credit_record_id')
