"""contract drafted_by: which party drafted the contract (contract events carry it, SPEC §9 v2)

Existing contracts get the party of their creator, whose actor name is "<role>:<account>".

SQLite cannot add a constraint to a table without rebuilding it, and a rebuild drops the table —
which, with foreign keys on, cascades to ``contract_history`` and ``contract_signatures`` and
empties them. So on SQLite the column comes with its CHECK and a default in one ``ADD COLUMN``
(and leaves with one ``DROP COLUMN``); PostgreSQL takes the usual steps.

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

CHECK = "drafted_by IN ('agency', 'enterprise')"
BACKFILL = ("UPDATE contracts SET drafted_by = CASE WHEN created_by LIKE 'enterprise:%' "
            "THEN 'enterprise' ELSE 'agency' END")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if _sqlite():
        op.execute("ALTER TABLE contracts ADD COLUMN drafted_by VARCHAR(20) NOT NULL DEFAULT 'agency' "
                   f"CONSTRAINT ck_contracts_drafted_by CHECK ({CHECK})")
        op.execute(BACKFILL)
        return
    op.add_column('contracts', sa.Column('drafted_by', sa.String(length=20), nullable=True))
    op.execute(BACKFILL)
    op.alter_column('contracts', 'drafted_by', existing_type=sa.String(length=20), nullable=False)
    op.create_check_constraint(op.f('ck_contracts_drafted_by'), 'contracts', CHECK)


def downgrade() -> None:
    if _sqlite():
        op.execute("ALTER TABLE contracts DROP COLUMN drafted_by")
        return
    op.drop_constraint(op.f('ck_contracts_drafted_by'), 'contracts', type_='check')
    op.drop_column('contracts', 'drafted_by')
