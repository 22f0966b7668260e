"""Attachments (evidence, SPEC §16; ``services.audit.service.attachments``): one row per upload
(its content in the store under its sha256), and which records name it (for who may see it)."""

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from services.audit.models import Base, allowed, enum_of
from shared.storage import usage_table

TS = sa.DateTime(timezone=True)
storage_usage = usage_table(Base.metadata)  # what each organisation stores in the other services (shared.storage)


class AttachmentRecord(StrEnum):
    """The kinds of record that name attachments."""

    SERVICE_LOG = "service_log"
    HAZARD = "hazard"


class Attachment(Base, table=True):
    """An upload of one organisation (``org_role`` + ``org_uscc``): its quota counts ``size``."""

    __tablename__ = "attachment"
    __table_args__ = (sa.Index("ix_attachment_org", "org_uscc", "org_role"),)

    id: uuid.UUID = Field(primary_key=True)
    sha256: str = Field(max_length=64, index=True)
    size: int = Field(sa_type=sa.BigInteger)
    content_type: str = Field(max_length=40)
    org_role: str = Field(max_length=20)
    org_uscc: str = Field(max_length=18)
    uploaded_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=TS)


class AttachmentRef(Base, table=True):
    """A record naming an attachment: whoever may read the record may read the attachment."""

    __tablename__ = "attachment_ref"
    __table_args__ = (
        sa.Index("ix_attachment_ref_record", "record_kind", "record_id"),
        allowed("record_kind", AttachmentRecord, "attachment_record_kind"),
    )

    attachment_id: uuid.UUID = Field(foreign_key="attachment.id", primary_key=True)
    record_kind: AttachmentRecord = Field(sa_type=enum_of(AttachmentRecord), primary_key=True)
    record_id: uuid.UUID = Field(primary_key=True)
