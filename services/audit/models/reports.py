"""The public reports' tables (群众举报, SPEC §22; ``services.audit.service.reports``)."""

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from services.audit.models import Base, allowed, enum_of
from services.audit.states import ReportStatus

TS = sa.DateTime(timezone=True)


class ReportCategory(StrEnum):
    HAZARD = "hazard"
    VIOLATION = "violation"
    OTHER = "other"


class ReportOutcome(StrEnum):
    SUBSTANTIATED = "substantiated"
    UNSUBSTANTIATED = "unsubstantiated"


class Report(Base, table=True):
    """One report from the public (or any account) about an enterprise, handled by the bureau of
    its district (or the city)."""

    __tablename__ = "public_report"
    __table_args__ = (
        sa.Index("ix_public_report_status_district", "status", "district_code", "id"),
        sa.Index("ix_public_report_district", "district_code", "id"),
        allowed("category", ReportCategory, "public_report_category"),
        allowed("status", ReportStatus, "public_report_status"),
        allowed("outcome", ReportOutcome, "public_report_outcome"),  # NULL passes: not closed yet
    )

    id: uuid.UUID = Field(primary_key=True)
    enterprise_name: str = Field(max_length=200)
    enterprise_uscc: str | None = Field(default=None, max_length=18)
    district_code: str = Field(max_length=12)
    town: str | None = Field(default=None, max_length=100)
    address: str = Field(max_length=200)
    category: ReportCategory = Field(sa_type=enum_of(ReportCategory))
    description: str = Field(sa_type=sa.Text)
    contact_phone: str | None = Field(default=None, max_length=20)
    anonymous: bool = False
    reporter: str | None = Field(default=None, max_length=100)  # the account's actor; None when anonymous
    tracking_sha256: str = Field(max_length=64, unique=True)  # the code is shown once, never stored
    status: ReportStatus = Field(sa_type=enum_of(ReportStatus))
    outcome: ReportOutcome | None = Field(default=None, sa_type=enum_of(ReportOutcome))
    notes: str | None = Field(default=None, sa_type=sa.Text)  # the last step's notes
    created_at: datetime = Field(sa_type=TS)
    updated_at: datetime = Field(sa_type=TS)
    version: int = 1


class ReportStep(Base, table=True):
    """One line of a report's timeline."""

    __tablename__ = "public_report_step"

    seq: int | None = Field(
        default=None, primary_key=True, sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    )
    report_id: uuid.UUID = Field(foreign_key="public_report.id", index=True)
    at: datetime = Field(sa_type=TS)
    action: str = Field(max_length=40)
    status: str = Field(max_length=20)
    actor: str = Field(max_length=100)
    note: str | None = Field(default=None, sa_type=sa.Text)
