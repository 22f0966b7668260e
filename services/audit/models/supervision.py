"""The major-hazard supervision case's table (挂牌督办, SPEC §17; ``services.audit.service.supervision``)."""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.audit.models import Base, allowed, enum_of
from services.audit.states import SupervisionStatus

TS = sa.DateTime(timezone=True)


class SupervisionCase(Base, table=True):
    """One major hazard's supervision case, opened with the hazard (one per hazard); its clock:
    ``ack_due_at`` = ``opened_at`` + ``major_hazard_ack_hours``; ``escalated_at`` once it passed
    unacknowledged. ``deadline`` / ``measures`` / ``responsible``: the bureau's listing (挂牌)."""

    __tablename__ = "supervision_case"
    __table_args__ = (
        sa.Index("ix_supervision_case_status_district", "status", "district_code", "id"),
        sa.Index("ix_supervision_case_sweep", "status", "ack_due_at"),
        allowed("status", SupervisionStatus, "supervision_status"),
    )

    id: uuid.UUID = Field(primary_key=True)
    hazard_id: uuid.UUID = Field(foreign_key="hazard.id", unique=True)
    contract_id: uuid.UUID
    agency_id: uuid.UUID = Field(index=True)
    enterprise_uscc: str = Field(max_length=18, index=True)
    district_code: str = Field(max_length=12)
    status: SupervisionStatus = Field(sa_type=enum_of(SupervisionStatus))
    opened_at: datetime = Field(sa_type=TS)
    ack_due_at: datetime = Field(sa_type=TS)
    acknowledged_by: str | None = Field(default=None, max_length=100)
    acknowledged_at: datetime | None = Field(default=None, sa_type=TS)
    escalated_at: datetime | None = Field(default=None, sa_type=TS)
    listed_by: str | None = Field(default=None, max_length=100)
    listed_at: datetime | None = Field(default=None, sa_type=TS)
    deadline: date | None = None
    measures: str | None = Field(default=None, sa_type=sa.Text)
    responsible: str | None = Field(default=None, max_length=200)
    closed_by: str | None = Field(default=None, max_length=100)
    closed_at: datetime | None = Field(default=None, sa_type=TS)
    close_notes: str | None = Field(default=None, sa_type=sa.Text)
    version: int = 1
