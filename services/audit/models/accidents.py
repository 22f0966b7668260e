"""The accidents' table (一案双查, SPEC §20; ``services.audit.service.accidents``)."""

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from services.audit.models import Base, allowed, enum_of

TS = sa.DateTime(timezone=True)


class AccidentSeverity(StrEnum):
    GENERAL = "general"
    LARGER = "larger"
    MAJOR = "major"
    ESPECIALLY_MAJOR = "especially_major"


class Accident(Base, table=True):
    """A production-safety accident at an enterprise, recorded by the bureau of its district (or the
    city); its dossier is the custody record as of ``occurred_at``; the findings are recorded once."""

    __tablename__ = "accident"
    __table_args__ = (
        sa.Index("ix_accident_district", "district_code", "id"),
        allowed("severity", AccidentSeverity, "accident_severity"),
    )

    id: uuid.UUID = Field(primary_key=True)
    enterprise_uscc: str = Field(max_length=18, index=True)
    enterprise_name: str | None = Field(default=None, max_length=200)
    district_code: str = Field(max_length=12)
    occurred_at: datetime = Field(sa_type=TS)
    severity: AccidentSeverity = Field(sa_type=enum_of(AccidentSeverity))
    deaths: int = 0
    injuries: int = 0
    description: str = Field(sa_type=sa.Text)
    recorded_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=TS)
    # the findings (once): whether the custody agency was at fault, and the fraud-sized credit record
    agency_at_fault: bool | None = None
    findings: str | None = Field(default=None, sa_type=sa.Text)
    findings_by: str | None = Field(default=None, max_length=100)
    findings_at: datetime | None = Field(default=None, sa_type=TS)
    credit_record_ids: list[str] = Field(
        default_factory=list, sa_type=sa.JSON, sa_column_kwargs={"nullable": False, "server_default": "[]"}
    )
    version: int = 1


class HazardStep(Base, table=True):
    """One step of a hazard's history — found, rectified, verified, rejected, overdue — with the
    state it left the hazard in: what the hazard was at any past time (an accident's dossier)."""

    __tablename__ = "hazard_step"
    __table_args__ = (sa.Index("ix_hazard_step_hazard", "hazard_id", "seq"),)

    seq: int | None = Field(
        default=None, primary_key=True, sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    )
    hazard_id: uuid.UUID
    at: datetime = Field(sa_type=TS)
    action: str = Field(max_length=40)
    status: str = Field(max_length=20)
