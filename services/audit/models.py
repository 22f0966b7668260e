"""Tables of the audit service (its own metadata; see shared.db.service_base).

Read models (fed by events, never written by the API): ``contract_view``, ``agency_view``,
``enterprise_view``. Domain tables: service logs and their hazards, missed-visit tallies, quality
audit samples and tasks, complaints with their timeline, and each agency's credit file.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql  # noqa: F401 - shared.tables needs it loaded
from sqlmodel import Field

from shared.db import service_base
from shared.tables import infrastructure_tables

Base = service_base("audit")
metadata = Base.metadata
infra = infrastructure_tables(metadata)

TS = sa.DateTime(timezone=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def _json(nullable: bool = False) -> Any:
    return Field(default_factory=list, sa_type=sa.JSON, sa_column_kwargs={"nullable": nullable})


# --- read models --------------------------------------------------------------------------------
class ContractView(Base, table=True):
    __tablename__ = "contract_view"

    id: uuid.UUID = Field(primary_key=True)
    version: int
    status: str = Field(max_length=20)
    agency_id: uuid.UUID = Field(index=True)
    agency_name: str | None = Field(default=None, max_length=200)
    enterprise_uscc: str = Field(max_length=18, index=True)
    enterprise_name: str | None = Field(default=None, max_length=200)
    engineer_name: str = Field(max_length=100)
    district_code: str = Field(max_length=12, index=True)
    start_date: date
    end_date: date
    services: list[dict[str, Any]] = _json()
    updated_at: datetime = Field(sa_type=TS)


class AgencyView(Base, table=True):
    __tablename__ = "agency_view"

    id: uuid.UUID = Field(primary_key=True)
    version: int
    uscc: str = Field(max_length=18, index=True)
    name: str = Field(max_length=200)
    district_code: str = Field(max_length=12)
    status: str = Field(max_length=20)
    updated_at: datetime = Field(sa_type=TS)


class EnterpriseView(Base, table=True):
    __tablename__ = "enterprise_view"

    uscc: str = Field(primary_key=True, max_length=18)
    id: str = Field(max_length=64)
    version: int
    name: str = Field(max_length=200)
    district_code: str = Field(max_length=12)
    risk_level: str = Field(max_length=10)
    updated_at: datetime = Field(sa_type=TS)


# --- service logs and hazards --------------------------------------------------------------------
class ServiceLog(Base, table=True):
    __tablename__ = "service_log"
    __table_args__ = (sa.Index("ix_service_log_contract_visit", "contract_id", "visit_date"),)

    id: uuid.UUID = Field(primary_key=True)
    contract_id: uuid.UUID
    agency_id: uuid.UUID = Field(index=True)
    enterprise_uscc: str = Field(max_length=18, index=True)
    district_code: str = Field(max_length=12, index=True)
    visit_date: date
    engineer_name: str = Field(max_length=100)
    items: list[str] = _json()
    summary: str = Field(sa_type=sa.Text)
    # sha256 of (contract, visit date, engineer, items, summary): the same visit recorded twice
    natural_key: str = Field(max_length=64, unique=True)
    status: str = Field(sa_type=_enum("service_log_status", "recorded", "confirmed"))
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=TS)
    confirmed_by: str | None = Field(default=None, max_length=100)
    confirmed_at: datetime | None = Field(default=None, sa_type=TS)
    version: int = 1


class Hazard(Base, table=True):
    __tablename__ = "hazard"
    __table_args__ = (
        sa.Index("ix_hazard_status_district", "status", "district_code", "id"),
        sa.Index("ix_hazard_contract", "contract_id", "id"),
        sa.Index("ix_hazard_sweep", "status", "deadline"),
    )

    id: uuid.UUID = Field(primary_key=True)
    service_log_id: uuid.UUID = Field(foreign_key="service_log.id")
    contract_id: uuid.UUID
    agency_id: uuid.UUID = Field(index=True)
    enterprise_uscc: str = Field(max_length=18, index=True)
    district_code: str = Field(max_length=12)
    description: str = Field(sa_type=sa.Text)
    level: str = Field(sa_type=_enum("hazard_level", "general", "major"))
    location: str = Field(max_length=200)
    deadline: date
    status: str = Field(sa_type=_enum("hazard_status", "open", "rectified", "verified", "overdue"))
    rectify_note: str | None = Field(default=None, sa_type=sa.Text)
    rectified_by: str | None = Field(default=None, max_length=100)
    rectified_at: datetime | None = Field(default=None, sa_type=TS)
    verified_by: str | None = Field(default=None, max_length=100)
    verified_at: datetime | None = Field(default=None, sa_type=TS)
    verify_note: str | None = Field(default=None, sa_type=sa.Text)
    verified_late: bool = False
    overdue_at: datetime | None = Field(default=None, sa_type=TS)
    created_at: datetime = Field(sa_type=TS)
    version: int = 1


class MissedVisitTally(Base, table=True):
    """How many missed visits of one service item of one contract have been counted (by sweep)."""

    __tablename__ = "missed_visit_tally"

    contract_id: uuid.UUID = Field(primary_key=True)
    item: str = Field(primary_key=True, max_length=40)
    missed: int = 0
    updated_at: datetime = Field(sa_type=TS)


# --- quality audits -------------------------------------------------------------------------------
class AuditSample(Base, table=True):
    """The log of one sampling run: enough to recompute it and prove it was not cherry-picked."""

    __tablename__ = "audit_sample"
    __table_args__ = (sa.UniqueConstraint("period", "scope", name="uq_audit_sample_period_scope"),)

    id: uuid.UUID = Field(primary_key=True)
    period: str = Field(max_length=20)
    scope: str = Field(max_length=12)  # the district sampled, or the city code for all districts
    district: str | None = Field(default=None, max_length=12)
    seed: str = Field(max_length=100)
    rate: float
    population_size: int
    population_sha256: str = Field(max_length=64)
    strata: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    chosen: list[dict[str, Any]] = _json()
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=TS)


class AuditTask(Base, table=True):
    __tablename__ = "audit_task"
    __table_args__ = (
        sa.UniqueConstraint("period", "contract_id", name="uq_audit_task_period_contract"),
        sa.Index("ix_audit_task_status_district", "status", "district_code", "id"),
    )

    id: uuid.UUID = Field(primary_key=True)
    sample_id: uuid.UUID = Field(foreign_key="audit_sample.id", index=True)
    period: str = Field(max_length=20)
    contract_id: uuid.UUID
    agency_id: uuid.UUID = Field(index=True)
    enterprise_uscc: str = Field(max_length=18)
    district_code: str = Field(max_length=12)
    risk_level: str = Field(max_length=10)
    reason: str = Field(sa_type=_enum("audit_task_reason", "stratum", "red_coverage"))
    status: str = Field(sa_type=_enum("audit_task_status", "pending", "completed"))
    scores: list[dict[str, Any]] = _json()
    findings: str | None = Field(default=None, sa_type=sa.Text)
    fraud: bool = False
    total: float | None = None
    completed_by: str | None = Field(default=None, max_length=100)
    completed_at: datetime | None = Field(default=None, sa_type=TS)
    created_at: datetime = Field(sa_type=TS)
    version: int = 1


# --- complaints -------------------------------------------------------------------------------------
class Complaint(Base, table=True):
    __tablename__ = "complaint"
    __table_args__ = (
        sa.Index("ix_complaint_status_district", "status", "district_code", "id"),
        sa.Index("ix_complaint_agency", "agency_id", "id"),
    )

    id: uuid.UUID = Field(primary_key=True)
    agency_id: uuid.UUID
    contract_id: uuid.UUID | None = None
    district_code: str = Field(max_length=12)
    complainant_uscc: str | None = Field(default=None, max_length=18, index=True)
    contact_phone: str | None = Field(default=None, max_length=20)
    anonymous: bool = False
    tracking_sha256: str | None = Field(default=None, max_length=64)  # anonymous complainants follow up with the code
    category: str = Field(sa_type=_enum("complaint_category", "service_quality", "missed_visit", "fraud", "fee", "other"))
    description: str = Field(sa_type=sa.Text)
    status: str = Field(sa_type=_enum("complaint_status", "received", "forwarded", "responded", "closed"))
    received_on: date
    response_due: date | None = None
    resolve_due: date
    response: str | None = Field(default=None, sa_type=sa.Text)
    outcome: str | None = Field(default=None, sa_type=_enum("complaint_outcome", "upheld", "dismissed"))
    notes: str | None = Field(default=None, sa_type=sa.Text)
    response_overdue: bool = False
    resolution_overdue: bool = False
    created_at: datetime = Field(sa_type=TS)
    version: int = 1


class ComplaintStep(Base, table=True):
    """One line of a complaint's timeline."""

    __tablename__ = "complaint_step"

    seq: int | None = Field(default=None, primary_key=True, sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"))
    complaint_id: uuid.UUID = Field(foreign_key="complaint.id", index=True)
    at: datetime = Field(sa_type=TS)
    action: str = Field(max_length=40)
    status: str = Field(max_length=20)
    actor: str = Field(max_length=100)
    note: str | None = Field(default=None, sa_type=sa.Text)


# --- credit -----------------------------------------------------------------------------------------
class CreditRecord(Base, table=True):
    __tablename__ = "credit_record"
    __table_args__ = (sa.UniqueConstraint("agency_id", "kind", "ref", name="uq_credit_record_cause"),)

    seq: int | None = Field(default=None, primary_key=True, sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"))
    id: uuid.UUID = Field(unique=True)
    agency_id: uuid.UUID = Field(index=True)
    kind: str = Field(sa_type=_enum("credit_kind", "complaint_upheld", "audit_below_60", "audit_at_least_90",
                                   "missed_visit", "hazard_verified_late", "fraud_finding"))
    delta: int
    ref: str = Field(max_length=120)
    at: datetime = Field(sa_type=TS)
    version: int  # the credit file's version after this record


class CreditFile(Base, table=True):
    __tablename__ = "credit_file"

    agency_id: uuid.UUID = Field(primary_key=True)
    score: int
    grade: str = Field(max_length=1)
    version: int = 0
    updated_at: datetime = Field(sa_type=TS)
