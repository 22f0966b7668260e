"""attachments: evidence on visits, hazards and rectifications; storage usage elsewhere (SPEC 16)

Revision ID: 85b0298d625b
Revises: 1c15691289ce
Create Date: 2026-12-04 01:03:57.854795
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql  # noqa: F401
import sqlmodel.sql.sqltypes


revision: str = '85b0298d625b'
down_revision: Union[str, None] = '1c15691289ce'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('attachment',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('org_role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('org_uscc', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index('ix_attachment_org', ['org_uscc', 'org_role'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_sha256'), ['sha256'], unique=False)

    op.create_table('attachment_ref',
    sa.Column('attachment_id', sa.Uuid(), nullable=False),
    sa.Column('record_kind', sa.Enum('service_log', 'hazard', name='attachmentrecord', native_enum=False, length=20), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("record_kind IN ('service_log', 'hazard')", name=op.f('ck_attachment_ref_attachment_record_kind')),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id'], name=op.f('fk_attachment_ref_attachment_id_attachment')),
    sa.PrimaryKeyConstraint('attachment_id', 'record_kind', 'record_id', name=op.f('pk_attachment_ref'))
    )
    with op.batch_alter_table('attachment_ref', schema=None) as batch_op:
        batch_op.create_index('ix_attachment_ref_record', ['record_kind', 'record_id'], unique=False)

    op.create_table('storage_usage',
    sa.Column('service', sa.String(length=40), nullable=False),
    sa.Column('org_role', sa.String(length=20), nullable=False),
    sa.Column('org_uscc', sa.String(length=18), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('service', 'org_role', 'org_uscc', name=op.f('pk_storage_usage'))
    )
    with op.batch_alter_table('hazard', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photos', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('rectify_attachments', sa.JSON(), nullable=False, server_default='[]'))

    with op.batch_alter_table('service_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachments', sa.JSON(), nullable=False, server_default='[]'))



def downgrade() -> None:
    with op.batch_alter_table('service_log', schema=None) as batch_op:
        batch_op.drop_column('attachments')

    with op.batch_alter_table('hazard', schema=None) as batch_op:
        batch_op.drop_column('rectify_attachments')
        batch_op.drop_column('photos')

    with op.batch_alter_table('attachment_ref', schema=None) as batch_op:
        batch_op.drop_index('ix_attachment_ref_record')

    op.drop_table('storage_usage')
    op.drop_table('attachment_ref')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_sha256'))
        batch_op.drop_index('ix_attachment_org')

    op.drop_table('attachment')
