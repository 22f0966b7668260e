"""An enterprise's credit file (企业诚信档案, SPEC §19; ``services.audit.service.ecredit``): the file
(one row per enterprise, keyed by its USCC as every audit table names enterprises) and its records."""

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from services.audit.models import Base, allowed, enum_of

TS = sa.DateTime(timezone=True)


class EnterpriseCreditKind(StrEnum):
    """A record's cause, named after its delta in the policy (``credit.enterprise.*``)."""

    HAZARD_OVERDUE = "hazard_overdue"
    MAJOR_HAZARD_OVERDUE = "major_hazard_overdue"
    RECTIFIED_ON_TIME = "rectified_on_time"
    # A visit the enterprise disputed, the dispute decided against its claim: recorded by
    # ``services.audit.service.ecredit.record_dispute_upheld`` (the disputes feature calls it).
    DISPUTE_UPHELD = "dispute_upheld"


class EnterpriseCreditRecord(Base, table=True):
    __tablename__ = "enterprise_credit_record"
    __table_args__ = (
        sa.UniqueConstraint("enterprise_uscc", "kind", "ref", name="uq_enterprise_credit_record_cause"),
        allowed("kind", EnterpriseCreditKind, "enterprise_credit_kind"),
    )

    seq: int | None = Field(
        default=None, primary_key=True, sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    )
    id: uuid.UUID = Field(unique=True)
    enterprise_uscc: str = Field(max_length=18, index=True)
    kind: EnterpriseCreditKind = Field(sa_type=enum_of(EnterpriseCreditKind))
    delta: int
    ref: str = Field(max_length=120)  # the cause: a hazard's id, a dispute's id
    hazard_id: uuid.UUID | None = None  # the hazard the record is about (hazard records)
    reason: str = Field(sa_type=sa.Text)  # what happened, in words (zh-CN / en)
    at: datetime = Field(sa_type=TS)
    version: int  # the file's version after this record


class EnterpriseCreditFile(Base, table=True):
    __tablename__ = "enterprise_credit_file"

    enterprise_uscc: str = Field(primary_key=True, max_length=18)
    score: int
    grade: str = Field(max_length=1)
    version: int = 0
    updated_at: datetime = Field(sa_type=TS)
