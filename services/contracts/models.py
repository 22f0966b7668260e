"""Tables of the contracts service (its own metadata; see shared.db.service_base).

- ``contracts``: one row per custody contract; ``version`` grows with every change (ETag, event
  versions); ``previous_status`` remembers where a suspended contract goes back to;
  ``drafted_by`` which party drafted it.
- ``contract_history``: every transition ``{from, to, actor, at, reason}`` (and the steps that
  keep the status but a bureau must see: signatures voided by an amendment, risk flags).
- ``contract_signatures``: one per party and round of terms; an amendment voids them
  (``voided_at``), so the record of what was signed stays.
- ``agency_facts`` / ``enterprise_facts``: local read models fed by ``agency.*`` and
  ``enterprise.*`` events (``source = event``) or, where an event has not arrived yet, by a call
  to the owning service (``source = peer``); see ``service.facts``.
- ``filing_counters``: the per-year sequence behind human-readable filing numbers.

What a signature covers is written here too (``canonical_terms``): the terms as canonical JSON,
hashed with SHA-256, so that anyone holding the terms can recompute the hash a party signed.
"""

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

from services.contracts.states import ContractStatus
from shared.canonical import sha256_hex
from shared.db import check_in, service_base
from shared.policy_versions import versions_table
from shared.tables import BigId, infrastructure_tables

if TYPE_CHECKING:  # mypy cannot subclass a value; service_base("contracts") is a SQLModel subclass
    Base = SQLModel
else:
    Base = service_base("contracts")
metadata = Base.metadata
policy_versions = versions_table(metadata)  # the policy's versions it received (shared.policy_versions)
infrastructure_tables(metadata)  # outbox, inbox, audit trail… in this service's migrations too

TS = sa.DateTime(timezone=True)


class Party(StrEnum):
    """The two sides of a contract; the caller's role says which one it acts for."""

    AGENCY = "agency"
    ENTERPRISE = "enterprise"


class AgencyStatus(StrEnum):
    """An agency's filing states as the registry publishes them (SPEC §7) — the ones we act on."""

    APPROVED = "approved"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"


class FactSource(StrEnum):
    EVENT = "event"  # from the owning service's event
    PEER = "peer"  # fetched from the owning service before its event arrived


def canonical_terms(
    *,
    enterprise_uscc: str,
    agency_id: Any,
    engineer_name: str,
    services: Iterable[dict[str, Any]],
    start_date: date,
    end_date: date,
    fee_yuan: Decimal | str,
) -> dict[str, Any]:
    """The terms as signed: services sorted by item, dates as ISO strings, the fee as a string
    with two decimals (no float rounding)."""
    return {
        "enterprise_uscc": enterprise_uscc,
        "agency_id": str(agency_id),
        "engineer_name": engineer_name,
        "services": sorted(
            ({"item": str(s["item"]), "times_per_year": int(s["times_per_year"])} for s in services),
            key=lambda s: str(s["item"]),
        ),
        "start_date": start_date.isoformat(),
        "end_date": end_date.isoformat(),
        "fee_yuan": f"{Decimal(str(fee_yuan)).quantize(Decimal('0.01'))}",
    }


class Contract(Base, table=True):
    __tablename__ = "contracts"
    __table_args__ = (
        sa.CheckConstraint(check_in("status", ContractStatus), name="status"),
        sa.CheckConstraint(
            check_in("previous_status", (ContractStatus.FILED, ContractStatus.ACTIVE), nullable=True),
            name="previous_status",
        ),
        sa.CheckConstraint(check_in("drafted_by", Party), name="drafted_by"),
        sa.CheckConstraint("end_date > start_date", name="term"),
        sa.CheckConstraint("fee_yuan >= 0", name="fee"),
        sa.Index("ix_contracts_enterprise_status", "enterprise_uscc", "status"),
        sa.Index("ix_contracts_agency_engineer", "agency_id", "engineer_name", "status"),
        sa.Index("ix_contracts_status_start", "status", "start_date"),
        sa.Index("ix_contracts_status_end", "status", "end_date"),
        sa.Index("ix_contracts_district", "district_code"),
    )

    id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    status: ContractStatus = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    enterprise_uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False))
    enterprise_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    enterprise_name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    district_code: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))
    agency_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    agency_uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False, index=True))
    agency_name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    engineer_name: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    services: list[dict[str, Any]] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    start_date: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    end_date: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    fee_yuan: Decimal = Field(sa_column=sa.Column(sa.Numeric(14, 2), nullable=False))
    filing_no: str | None = Field(default=None, sa_column=sa.Column(sa.String(40), unique=True))
    previous_status: ContractStatus | None = Field(default=None, sa_column=sa.Column(sa.String(20)))
    risk_flagged: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False))
    # The agency's filing expired while the contract was live (SPEC §18): flagged for the bureau.
    agency_lapsed: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    review_comments: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    end_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    drafted_by: Party = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    created_by: str = Field(sa_column=sa.Column(sa.String(120), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    filed_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))
    expiring_notified_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))

    # Loaded explicitly by the repository (lazy="raise": no query hides behind an attribute).
    signature_records: list["Signature"] = Relationship(
        sa_relationship_kwargs={"lazy": "raise", "order_by": "(Signature.signed_at, Signature.party)"}
    )
    history: list["ContractHistory"] = Relationship(
        sa_relationship_kwargs={"lazy": "raise", "order_by": "ContractHistory.seq"}
    )

    # --- what the parties sign ----------------------------------------------------------------
    @property
    def terms(self) -> dict[str, Any]:
        return canonical_terms(
            enterprise_uscc=self.enterprise_uscc,
            agency_id=self.agency_id,
            engineer_name=self.engineer_name,
            services=self.services,
            start_date=self.start_date,
            end_date=self.end_date,
            fee_yuan=self.fee_yuan,
        )

    @property
    def content_sha256(self) -> str:
        return sha256_hex(self.terms)

    # --- signatures (``signature_records`` loaded) --------------------------------------------
    @property
    def signatures(self) -> list["Signature"]:
        """The signatures over the current terms."""
        return [s for s in self.signature_records if s.voided_at is None]

    @property
    def voided_signatures(self) -> list["Signature"]:
        return [s for s in self.signature_records if s.voided_at is not None]

    @property
    def signed_by(self) -> frozenset[Party]:
        return frozenset(Party(s.party) for s in self.signatures)

    @property
    def enterprise_signed(self) -> bool:
        return Party.ENTERPRISE in self.signed_by


class ContractHistory(Base, table=True):
    __tablename__ = "contract_history"

    seq: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    contract_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    from_status: ContractStatus | None = Field(default=None, sa_column=sa.Column(sa.String(20)))
    to_status: ContractStatus = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    actor: str = Field(sa_column=sa.Column(sa.String(120), nullable=False))
    at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class Signature(Base, table=True):
    __tablename__ = "contract_signatures"
    __table_args__ = (sa.CheckConstraint(check_in("party", Party), name="party"),)

    id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    contract_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    party: Party = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    account_id: str = Field(sa_column=sa.Column(sa.String(120), nullable=False))
    actor: str = Field(sa_column=sa.Column(sa.String(120), nullable=False))
    signed_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    content_sha256: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    voided_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))


class AgencyFacts(Base, table=True):
    __tablename__ = "agency_facts"

    id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False, index=True))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(30), nullable=False))  # the registry's, unchecked here
    # approved, or under renewal (``submitted``) with its current filing still valid (DECISIONS D11)
    filing_in_force: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    district_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(12)))
    service_districts: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    service_industries: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    registered_engineers: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    source: FactSource = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class EngagementFacts(Base, table=True):
    """Other work an agency declared for an enterprise (SPEC §20, from ``agency.engagement_declared``):
    what the conflict-of-interest rule looks at."""

    __tablename__ = "engagement_facts"
    __table_args__ = (sa.Index("ix_engagement_facts_pair", "agency_id", "enterprise_uscc"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    agency_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    enterprise_uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(30), nullable=False))
    starts_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    ends_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class EnterpriseFacts(Base, table=True):
    __tablename__ = "enterprise_facts"

    uscc: str = Field(sa_column=sa.Column(sa.String(18), primary_key=True))
    id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    industry: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    district_code: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))
    town: str | None = Field(default=None, sa_column=sa.Column(sa.String(12)))  # a town bureau's scope (SPEC §22)
    risk_level: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    source: FactSource = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class FilingCounter(Base, table=True):
    __tablename__ = "filing_counters"

    year: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    value: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))


class CreditListed(Base, table=True):
    """The serious-dishonesty listings of agencies (SPEC §19), from audit's ``credit.*`` events: one
    row per listing, ``listed`` while it is in force (listed, repairable, repair requested)."""

    __tablename__ = "credit_listed"

    listing_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False, index=True))
    listed: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class EnterpriseCredit(Base, table=True):
    """Each enterprise's credit grade (SPEC §19), from audit's ``enterprise.credit_changed``: graded
    D, it needs the hazard-inspection frequency of the next higher risk level (rules.inspection_level)."""

    __tablename__ = "enterprise_credit"

    uscc: str = Field(sa_column=sa.Column(sa.String(18), primary_key=True))
    grade: str = Field(sa_column=sa.Column(sa.String(1), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
