"""Tables of the registry service (its own metadata; see shared.db.service_base).

- ``agency`` — the filing: its data, status, ``version`` (bumped on every change), filing number
  and validity, the automatic checks of the last submission. Its staff and documents are
  relationships that are never loaded implicitly (``lazy="raise"``): the repository loads them.
- ``agency_staff`` — the staff list (rows, so that certificate numbers are indexed).
- ``engineer_claim`` — staff exclusivity: one row per registered safety engineer's certificate
  number held by an agency that is submitted, approved or suspended; the primary key makes two
  agencies holding the same certificate impossible even under concurrent submissions.
- ``agency_document`` — uploaded documents (content stored by SHA-256 under the data dir).
- ``filing_sequence`` — one counter per year for the human-readable filing numbers.
- Directory read model: ``directory_entry`` (+ ``directory_district`` / ``directory_industry``
  for indexed filters), ``agency_credit`` (from ``agency.credit_changed``) and ``contract_tally``
  (from ``contract.activated|terminated|expired``).
- ``directory_change`` — the public list's history: one row per change (listed, changed,
  suspended, reinstated, revoked, expired, delisted), written in the transaction of the change;
  never updated or deleted.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

from services.registry.states import AgencyStatus, ChangeStatus, ListChange
from shared.audit_trail import heads_table
from shared.conditional import generations_table
from shared.db import check_in, service_base
from shared.i18n import render, text
from shared.policy_versions import versions_table
from shared.search import token_table
from shared.storage import usage_table
from shared.tables import infrastructure_tables

if TYPE_CHECKING:  # service_base builds this SQLModel subclass at run time, which mypy cannot follow

    class Base(SQLModel):
        __table__: ClassVar[sa.Table]

else:
    Base = service_base("registry")
metadata = Base.metadata
infra = infrastructure_tables(metadata)
trail_heads = heads_table(metadata)  # this service witnesses the audit service's audit trail (shared.audit_trail)
policy_versions = versions_table(metadata)  # the policy's versions it received (shared.policy_versions)
storage_usage = usage_table(metadata)  # what each organisation stores in the other services (shared.storage)
# the directory's q= index: n-grams of each entry's name, filing number and USCC (shared.search)
directory_search = token_table(metadata, "directory_search")
# the public reads' versions, bumped by triggers on the tables they are built from (shared.conditional)
read_generations = generations_table(metadata)
DIRECTORY_GENERATION, POLICY_GENERATION = "directory", "policy_versions"
READ_MODELS: dict[str, dict[str, tuple[str, ...]]] = {
    # the entries (their districts, industries and search tokens are written with them), the credit
    # and contract read models, the listings that hide an entry, and the detail's public contact
    DIRECTORY_GENERATION: {
        "directory_entry": (),
        "agency_credit": (),
        "contract_tally": (),
        "credit_listed": (),
        "agency": ("contact_phone", "address"),
    },
    POLICY_GENERATION: {"policy_versions": ()},
}

StaffRole = Literal["registered_safety_engineer", "safety_officer", "other"]
STAFF_ROLES: tuple[str, ...] = get_args(StaffRole)
ENGINEER: StaffRole = "registered_safety_engineer"
TS = sa.DateTime(timezone=True)


@dataclass(frozen=True)
class Check:
    """One automatic check of a submission, stored with its text in both languages and shown in
    the caller's (``detail``)."""

    code: str
    passed: bool
    detail_zh: str
    detail_en: str

    @property
    def detail(self) -> str:
        return render(text(self.detail_zh, self.detail_en)) or ""

    def stored(self) -> dict[str, Any]:
        return {"code": self.code, "passed": self.passed, "detail_zh": self.detail_zh, "detail_en": self.detail_en}

    @classmethod
    def from_stored(cls, value: dict[str, Any]) -> "Check":
        return cls(
            code=value["code"],
            passed=bool(value["passed"]),
            detail_zh=value.get("detail_zh", ""),
            detail_en=value.get("detail_en", ""),
        )


class Agency(Base, table=True):
    __tablename__ = "agency"
    __table_args__ = (sa.CheckConstraint(check_in("status", AgencyStatus), name="status"),)

    id: uuid.UUID = Field(primary_key=True)
    uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False, unique=True))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    legal_representative: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    contact_phone: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    address: str = Field(sa_column=sa.Column(sa.String(300), nullable=False))
    district_code: str = Field(sa_column=sa.Column(sa.String(12), nullable=False, index=True))
    service_districts: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    service_industries: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    qualifications: list[dict[str, Any]] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    status: AgencyStatus = Field(sa_column=sa.Column(sa.String(20), nullable=False, index=True))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    filing_no: str | None = Field(default=None, sa_column=sa.Column(sa.String(40), unique=True))
    valid_until: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    checks: list[dict[str, Any]] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    review_comments: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    status_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    created_by: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))
    approved_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))
    # Below the staffing minimums once expired certificates stop counting (the sweep, SPEC §18).
    noncompliant: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )

    # Annotations stay unevaluated strings for SQLModel to resolve (no ``from __future__`` here).
    staff: list["AgencyStaff"] = Relationship(
        cascade_delete=True, sa_relationship_kwargs={"lazy": "raise", "order_by": "AgencyStaff.position"}
    )
    documents: list["AgencyDocument"] = Relationship(
        cascade_delete=True, sa_relationship_kwargs={"lazy": "raise", "order_by": "AgencyDocument.id"}
    )

    @property
    def registered_engineers(self) -> list[str]:
        """The names of its registered safety engineers (public: the directory, events)."""
        return [s.name for s in self.staff if s.role == ENGINEER and not s.lapsed]

    @property
    def check_results(self) -> list[Check]:
        return [Check.from_stored(c) for c in self.checks or []]

    @property
    def failed_checks(self) -> list[str]:
        return [c.code for c in self.check_results if not c.passed]

    def touch(self, at: datetime) -> None:
        """Every change of the filing bumps its version (the ETag)."""
        self.version += 1
        self.updated_at = at


class AgencyStaff(Base, table=True):
    __tablename__ = "agency_staff"
    __table_args__ = (sa.CheckConstraint(check_in("role", STAFF_ROLES), name="role"),)

    id: uuid.UUID = Field(primary_key=True)
    agency_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    position: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(50), nullable=False))
    role: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    certificate_no: str | None = Field(default=None, sa_column=sa.Column(sa.String(60), index=True))
    certificate_valid_until: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    full_time: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    # The certificate expired (the sweep): the engineer no longer counts (directory, contracts).
    lapsed: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false()))


class EngineerClaim(Base, table=True):
    __tablename__ = "engineer_claim"

    certificate_no: str = Field(sa_column=sa.Column(sa.String(60), primary_key=True))
    agency_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    claimed_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class AgencyDocument(Base, table=True):
    __tablename__ = "agency_document"

    id: uuid.UUID = Field(primary_key=True)
    agency_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    kind: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    filename: str | None = Field(default=None, sa_column=sa.Column(sa.String(255)))
    sha256: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    size: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    content_type: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    uploaded_by: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


ENGAGEMENT_KINDS = ("safety_evaluation", "testing", "consulting", "training")


class AgencyEngagement(Base, table=True):
    """Other work an agency declared for an enterprise (SPEC §20: 安全评价, 检测, 咨询, 培训), which
    contracts weighs against custody of the same enterprise (conflicts of interest)."""

    __tablename__ = "agency_engagement"
    __table_args__ = (sa.CheckConstraint(check_in("kind", ENGAGEMENT_KINDS), name="kind"),)

    id: uuid.UUID = Field(primary_key=True)
    agency_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    agency_uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False))  # who may read it
    district_code: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))  # which bureau reads it
    enterprise_uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False, index=True))
    kind: str = Field(sa_column=sa.Column(sa.String(30), nullable=False))
    starts_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    ends_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    declared_by: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    declared_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class FilingSequence(Base, table=True):
    __tablename__ = "filing_sequence"

    year: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    last: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))


# --- the public directory (read model) --------------------------------------------------------
class DirectoryEntry(Base, table=True):
    __tablename__ = "directory_entry"

    agency_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    agency_version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, index=True))
    uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False))
    district_code: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))
    filing_no: str | None = Field(default=None, sa_column=sa.Column(sa.String(40)))
    valid_until: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    service_districts: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    service_industries: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    registered_engineers: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    listed_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class DirectoryChange(Base, table=True):
    """One change of the public list, with the agency's name and filing number at that time."""

    __tablename__ = "directory_change"
    __table_args__ = (
        sa.CheckConstraint(check_in("change", ListChange), name="change"),
        sa.Index("ix_directory_change_at_id", "at", "id"),
        sa.Index("ix_directory_change_agency_at", "agency_id", "at"),
    )

    id: uuid.UUID = Field(primary_key=True)
    agency_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    change: ListChange = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    filing_no: str | None = Field(default=None, sa_column=sa.Column(sa.String(40)))
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class DirectoryDistrict(Base, table=True):
    __tablename__ = "directory_district"

    agency_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("directory_entry.agency_id", ondelete="CASCADE"), primary_key=True)
    )
    district_code: str = Field(sa_column=sa.Column(sa.String(12), primary_key=True, index=True))


class DirectoryIndustry(Base, table=True):
    __tablename__ = "directory_industry"

    agency_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("directory_entry.agency_id", ondelete="CASCADE"), primary_key=True)
    )
    industry: str = Field(sa_column=sa.Column(sa.String(40), primary_key=True, index=True))


class AgencyCredit(Base, table=True):
    """Latest credit of an agency (kept whether or not it is listed, so order does not matter)."""

    __tablename__ = "agency_credit"

    agency_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    score: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    grade: str = Field(sa_column=sa.Column(sa.String(1), nullable=False, index=True))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class ContractTally(Base, table=True):
    """One row per contract seen on the bus; ``active`` counts towards the agency's load."""

    __tablename__ = "contract_tally"

    contract_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    agency_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    active: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class CreditListed(Base, table=True):
    """The serious-dishonesty listings of agencies (SPEC §19), from audit's ``credit.*`` events: one
    row per listing, ``listed`` while it is in force (listed, repairable, repair requested)."""

    __tablename__ = "credit_listed"

    listing_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False, index=True))
    listed: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class AgencyChange(Base, table=True):
    """A change filing (SPEC §18): the fields it changes as given (``changes``), the automatic
    checks run on the filing as it would be after it, and the bureau's decision."""

    __tablename__ = "agency_change"
    __table_args__ = (sa.CheckConstraint(check_in("status", ChangeStatus), name="status"),)

    id: uuid.UUID = Field(primary_key=True)
    agency_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    status: ChangeStatus = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    changes: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    checks: list[dict[str, Any]] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    review_comments: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    filed_by: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    decided_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(100)))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))

    @property
    def check_results(self) -> list[Check]:
        return [Check.from_stored(c) for c in self.checks or []]

    @property
    def failed_checks(self) -> list[str]:
        return [c.code for c in self.check_results if not c.passed]


class ContractEngineer(Base, table=True):
    """Which engineer each contract names, from every ``contract.*`` event (newest version wins);
    ``live`` while the contract is not terminal: such an engineer may not leave the roster."""

    __tablename__ = "contract_engineer"

    contract_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    agency_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    engineer_name: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    live: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
