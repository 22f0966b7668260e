"""Tables of the audit service (its own metadata; see shared.db.service_base).

Read models (fed by events, never written by the API): ``contract_view``, ``agency_view``,
``enterprise_view``. Domain tables: service logs and their hazards, missed-visit tallies, quality
audit samples and tasks, complaints with their timeline, and each agency's credit file.

Enums are stored as strings (``VARCHAR(20)``) with a CHECK built from the enum by
``shared.db.check_in``, the same on SQLite and PostgreSQL; relationships never load lazily
(``lazy="raise"``): the repository loads what a use case needs.
"""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
from sqlmodel import Field, Relationship, SQLModel

from services.audit.states import AuditTaskStatus, ComplaintStatus, HazardStatus, ServiceLogStatus
from shared.audit_trail import heads_table
from shared.db import check_in, service_base
from shared.policy_versions import versions_table
from shared.tables import infrastructure_tables

if TYPE_CHECKING:  # service_base builds this SQLModel subclass at run time, which mypy cannot follow

    class Base(SQLModel):
        __table__: ClassVar[sa.Table]

else:
    Base = service_base("audit")
metadata = Base.metadata
infra = infrastructure_tables(metadata)
trail_heads = heads_table(metadata)  # this service witnesses every other service's audit trail (shared.audit_trail)
policy_versions = versions_table(metadata)  # the policy's versions it received (shared.policy_versions)

TS = sa.DateTime(timezone=True)
NEVER_LAZY = {"lazy": "raise"}


class DisputeDecision(StrEnum):
    """The bureau's decision on a disputed visit (SPEC §16)."""

    UPHOLD = "uphold"
    VOID = "void"


class HazardLevel(StrEnum):
    GENERAL = "general"
    MAJOR = "major"


class AuditTaskReason(StrEnum):
    """Why a contract is in a sample (services.audit.service.audits: the sampling recipe)."""

    STRATUM = "stratum"
    RED_COVERAGE = "red_coverage"


class ComplaintCategory(StrEnum):
    SERVICE_QUALITY = "service_quality"
    MISSED_VISIT = "missed_visit"
    FRAUD = "fraud"
    FEE = "fee"
    OTHER = "other"


class ComplaintOutcome(StrEnum):
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class BureauCreditKind(StrEnum):
    """The credit facts a bureau records itself (SPEC §19), with a delta of its choosing: a violation
    costs credit, a commendation earns it."""

    VIOLATION = "violation"
    COMMENDATION = "commendation"


class CreditKind(StrEnum):
    """A credit record's cause: the automatic ones are named after their delta in the policy
    (SPEC §3); a bureau's records (``BureauCreditKind``) carry their own."""

    COMPLAINT_UPHELD = "complaint_upheld"
    AUDIT_BELOW_60 = "audit_below_60"
    AUDIT_AT_LEAST_90 = "audit_at_least_90"
    MISSED_VISIT = "missed_visit"
    HAZARD_VERIFIED_LATE = "hazard_verified_late"
    FRAUD_FINDING = "fraud_finding"
    VIOLATION = BureauCreditKind.VIOLATION.value
    COMMENDATION = BureauCreditKind.COMMENDATION.value


BUREAU_CREDIT_KINDS = frozenset(CreditKind(kind) for kind in BureauCreditKind)


def enum_of(enum: type[StrEnum]) -> sa.Enum:
    """An enum column's type: its values as ``VARCHAR(20)``, loaded back as members (the CHECK is
    declared on the table, from ``check_in``)."""
    return sa.Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=20,
        values_callable=lambda members: [m.value for m in members],
    )


def allowed(column: str, enum: type[StrEnum], name: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(check_in(column, enum), name=name)


def _json() -> Any:
    return Field(default_factory=list, sa_type=sa.JSON, sa_column_kwargs={"nullable": False})


# --- service logs and hazards --------------------------------------------------------------------
class ServiceLog(Base, table=True):
    __tablename__ = "service_log"
    __table_args__ = (
        sa.Index("ix_service_log_contract_visit", "contract_id", "visit_date"),
        allowed("status", ServiceLogStatus, "service_log_status"),
    )

    id: uuid.UUID = Field(primary_key=True)
    contract_id: uuid.UUID
    agency_id: uuid.UUID = Field(index=True)
    enterprise_uscc: str = Field(max_length=18, index=True)
    district_code: str = Field(max_length=12, index=True)
    visit_date: date
    engineer_name: str = Field(max_length=100)
    items: list[str] = _json()
    summary: str = Field(sa_type=sa.Text)
    attachments: list[str] = _json()  # attachment ids (SPEC §16)
    # sha256 of (contract, visit date, engineer, items, summary): the same visit recorded twice
    natural_key: str = Field(max_length=64, unique=True)
    status: ServiceLogStatus = Field(sa_type=enum_of(ServiceLogStatus))
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=TS)
    confirmed_by: str | None = Field(default=None, max_length=100)
    confirmed_at: datetime | None = Field(default=None, sa_type=TS)
    # The enterprise's dispute and the bureau's resolution (SPEC §16), kept with their times so that
    # the log can be read "as of" a moment: disputed between disputed_at and resolved_at.
    disputed_by: str | None = Field(default=None, max_length=100)
    disputed_at: datetime | None = Field(default=None, sa_type=TS)
    dispute_reason: str | None = Field(default=None, sa_type=sa.Text)
    resolved_by: str | None = Field(default=None, max_length=100)
    resolved_at: datetime | None = Field(default=None, sa_type=TS)
    resolution: str | None = Field(default=None, max_length=10)  # DisputeDecision: uphold | void
    resolution_notes: str | None = Field(default=None, sa_type=sa.Text)
    version: int = 1

    hazards: list["Hazard"] = Relationship(sa_relationship_kwargs={**NEVER_LAZY, "order_by": "Hazard.id"})

    @property
    def confirmed(self) -> bool:
        return self.status == ServiceLogStatus.CONFIRMED


class Hazard(Base, table=True):
    __tablename__ = "hazard"
    __table_args__ = (
        sa.Index("ix_hazard_status_district", "status", "district_code", "id"),
        sa.Index("ix_hazard_contract", "contract_id", "id"),
        sa.Index("ix_hazard_sweep", "status", "deadline"),
        allowed("level", HazardLevel, "hazard_level"),
        allowed("status", HazardStatus, "hazard_status"),
    )

    id: uuid.UUID = Field(primary_key=True)
    service_log_id: uuid.UUID = Field(foreign_key="service_log.id")
    contract_id: uuid.UUID
    agency_id: uuid.UUID = Field(index=True)
    enterprise_uscc: str = Field(max_length=18, index=True)
    district_code: str = Field(max_length=12)
    description: str = Field(sa_type=sa.Text)
    level: HazardLevel = Field(sa_type=enum_of(HazardLevel))
    location: str = Field(max_length=200)
    deadline: date
    status: HazardStatus = Field(sa_type=enum_of(HazardStatus))
    photos: list[str] = _json()  # attachment ids, when reported (SPEC §16)
    rectify_note: str | None = Field(default=None, sa_type=sa.Text)
    rectify_attachments: list[str] = _json()  # the (last) rectification's evidence
    rectified_by: str | None = Field(default=None, max_length=100)
    rectified_at: datetime | None = Field(default=None, sa_type=TS)
    verified_by: str | None = Field(default=None, max_length=100)
    verified_at: datetime | None = Field(default=None, sa_type=TS)
    verify_note: str | None = Field(default=None, sa_type=sa.Text)
    verified_late: bool = False
    overdue_at: datetime | None = Field(default=None, sa_type=TS)
    # the agency's last rejection of a rectification (D42): kept when the loop goes round again
    rejection_reason: str | None = Field(default=None, sa_type=sa.Text)
    rejected_by: str | None = Field(default=None, max_length=100)
    rejected_at: datetime | None = Field(default=None, sa_type=TS)
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
    # the server's part of the seed, drawn when the sample was (SPEC §19; empty before it existed)
    server_nonce: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    # agencies graded C or D and enterprises on the dishonesty list at the draw: twice the rate (SPEC §19)
    watched_agencies: list[str] = Field(
        default_factory=list, sa_type=sa.JSON, sa_column_kwargs={"nullable": False, "server_default": "[]"}
    )
    watched_enterprises: list[str] = Field(
        default_factory=list, sa_type=sa.JSON, sa_column_kwargs={"nullable": False, "server_default": "[]"}
    )
    rate: float
    population_size: int
    population_sha256: str = Field(max_length=64)
    strata: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    chosen: list[dict[str, Any]] = _json()
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=TS)

    # The tasks the sample created, in the order of ``chosen`` (the repository loads them so).
    tasks: list["AuditTask"] = Relationship(sa_relationship_kwargs=NEVER_LAZY)


class AuditTask(Base, table=True):
    __tablename__ = "audit_task"
    __table_args__ = (
        sa.UniqueConstraint("period", "contract_id", name="uq_audit_task_period_contract"),
        sa.Index("ix_audit_task_status_district", "status", "district_code", "id"),
        allowed("reason", AuditTaskReason, "audit_task_reason"),
        allowed("status", AuditTaskStatus, "audit_task_status"),
    )

    id: uuid.UUID = Field(primary_key=True)
    sample_id: uuid.UUID = Field(foreign_key="audit_sample.id", index=True)
    period: str = Field(max_length=20)
    contract_id: uuid.UUID
    agency_id: uuid.UUID = Field(index=True)
    enterprise_uscc: str = Field(max_length=18)
    district_code: str = Field(max_length=12)
    risk_level: str = Field(max_length=10)
    reason: AuditTaskReason = Field(sa_type=enum_of(AuditTaskReason))
    status: AuditTaskStatus = Field(sa_type=enum_of(AuditTaskStatus))
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
        allowed("category", ComplaintCategory, "complaint_category"),
        allowed("status", ComplaintStatus, "complaint_status"),
        allowed("outcome", ComplaintOutcome, "complaint_outcome"),  # NULL passes a CHECK: not resolved yet
    )

    id: uuid.UUID = Field(primary_key=True)
    agency_id: uuid.UUID
    contract_id: uuid.UUID | None = None
    district_code: str = Field(max_length=12)
    complainant_uscc: str | None = Field(default=None, max_length=18, index=True)
    contact_phone: str | None = Field(default=None, max_length=20)
    anonymous: bool = False
    tracking_sha256: str | None = Field(default=None, max_length=64)  # anonymous complainants follow up with the code
    category: ComplaintCategory = Field(sa_type=enum_of(ComplaintCategory))
    description: str = Field(sa_type=sa.Text)
    status: ComplaintStatus = Field(sa_type=enum_of(ComplaintStatus))
    received_on: date
    response_due: date | None = None
    resolve_due: date
    response: str | None = Field(default=None, sa_type=sa.Text)
    outcome: ComplaintOutcome | None = Field(default=None, sa_type=enum_of(ComplaintOutcome))
    notes: str | None = Field(default=None, sa_type=sa.Text)
    response_overdue: bool = False
    resolution_overdue: bool = False
    credit_record_id: uuid.UUID | None = None  # the credit record an upheld complaint caused (its ref is the complaint)
    created_at: datetime = Field(sa_type=TS)
    version: int = 1

    @property
    def overdue(self) -> bool:
        return self.response_overdue or self.resolution_overdue


class ComplaintStep(Base, table=True):
    """One line of a complaint's timeline."""

    __tablename__ = "complaint_step"

    seq: int | None = Field(
        default=None, primary_key=True, sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    )
    complaint_id: uuid.UUID = Field(foreign_key="complaint.id", index=True)
    at: datetime = Field(sa_type=TS)
    action: str = Field(max_length=40)
    status: str = Field(max_length=20)
    actor: str = Field(max_length=100)
    note: str | None = Field(default=None, sa_type=sa.Text)


# --- credit -----------------------------------------------------------------------------------------
class CreditRecord(Base, table=True):
    __tablename__ = "credit_record"
    __table_args__ = (
        sa.UniqueConstraint("agency_id", "kind", "ref", name="uq_credit_record_cause"),
        allowed("kind", CreditKind, "credit_kind"),
    )

    seq: int | None = Field(
        default=None, primary_key=True, sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    )
    id: uuid.UUID = Field(unique=True)
    agency_id: uuid.UUID = Field(index=True)
    kind: CreditKind = Field(sa_type=enum_of(CreditKind))
    delta: int
    # the cause: a complaint, audit or hazard id, ``contract:item#n``; a bureau's document reference,
    # if it gave one (NULL never collides in the unique key: records without one are all kept)
    ref: str | None = Field(default=None, max_length=120)
    reason: str | None = Field(default=None, sa_type=sa.Text)  # a bureau record's reason
    recorded_by: str | None = Field(default=None, max_length=100)  # a bureau record's author (automatic: None)
    at: datetime = Field(sa_type=TS)
    version: int  # the credit file's version after this record


class CreditFile(Base, table=True):
    __tablename__ = "credit_file"

    agency_id: uuid.UUID = Field(primary_key=True)
    score: int
    grade: str = Field(max_length=1)
    version: int = 0
    updated_at: datetime = Field(sa_type=TS)


# The tables of one area each, in their own module (they use the building blocks above).
from services.audit.models import ecredit as ecredit  # noqa: E402  (the enterprise credit file's tables)
from services.audit.models.accidents import Accident, HazardStep  # noqa: E402
from services.audit.models.attachments import Attachment, AttachmentRecord, AttachmentRef  # noqa: E402, F401
from services.audit.models.listings import CreditListing, ListingOrgKind  # noqa: E402
from services.audit.models.readmodels import AgencyView, ContractView, EnterpriseRiskStep, EnterpriseView  # noqa: E402
from services.audit.models.reports import Report, ReportCategory, ReportOutcome, ReportStep  # noqa: E402
from services.audit.models.supervision import SupervisionCase  # noqa: E402

__all__ = [
    "Accident",
    "AgencyView",
    "ContractView",
    "CreditListing",
    "EnterpriseRiskStep",
    "EnterpriseView",
    "HazardStep",
    "ListingOrgKind",
    "Report",
    "ReportCategory",
    "ReportOutcome",
    "ReportStep",
    "SupervisionCase",
]
