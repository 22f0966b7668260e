"""Tables of the enterprises service (its own metadata; see shared.db.service_base).

- ``enterprises``: the records (SPEC §8) with their computed risk level and the current custodian
  (a read model fed by contract events, denormalised here so listings filter on it cheaply).
- ``custody_contracts``: every contract we have heard of (any ``contract.*`` event), one row per
  contract with its latest version: its parties, its status, its term and whether the enterprise
  drafted or signed it — the source of ``enterprises.custodian_*`` and of which agencies see an
  enterprise's full record (repository.py, SPEC §14).
- ``major_hazards``: major hazards we have heard of, keyed by hazard id, with their latest version;
  an unverified one raises its enterprise's risk.

Both read models are keyed by USCC, not by enterprise id, so events about an enterprise that is
not registered here yet are kept and take effect when it is registered (or imported). Enums are
stored as strings with a CHECK (``shared.db.check_in``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from shared.db import check_in, service_base
from shared.policy_versions import versions_table
from shared.reference import Industry, RiskLevel
from shared.search import token_table
from shared.tables import infrastructure_tables

if TYPE_CHECKING:  # service_base builds the class at run time; type checkers see what it is
    Base = SQLModel
else:
    Base = service_base("enterprises")
metadata = Base.metadata
infra = infrastructure_tables(metadata)
policy_versions = versions_table(metadata)  # the policy's versions it received (shared.policy_versions)

TS = sa.DateTime(timezone=True)


class ContractStatus(StrEnum):
    """A contract's states (SPEC §9), as the contracts service's events report them."""

    DRAFT = "draft"
    SIGNED = "signed"
    FILING = "filing"
    FILED = "filed"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    TERMINATED = "terminated"
    EXPIRED = "expired"


class ContractParty(StrEnum):
    """Who drafted a contract."""

    AGENCY = "agency"
    ENTERPRISE = "enterprise"


class HazardStatus(StrEnum):
    OPEN = "open"
    RECTIFIED = "rectified"
    VERIFIED = "verified"
    OVERDUE = "overdue"


# The contract states in which the agency holds custody (the enterprise's custodian).
CUSTODY_STATUSES = (ContractStatus.ACTIVE, ContractStatus.SUSPENDED)
# A major hazard counts until it is verified.
OPEN_HAZARD_STATUSES = (HazardStatus.OPEN, HazardStatus.RECTIFIED, HazardStatus.OVERDUE)
# The fields of a record that a create, a PATCH or an import sets (everything but uscc).
RECORD_FIELDS = (
    "name",
    "industry",
    "district_code",
    "town",
    "village",
    "address",
    "employees",
    "major_hazard_source",
    "hazard_flags",
    "contact_name",
    "contact_phone",
)


class Enterprise(Base, table=True):
    __tablename__ = "enterprises"
    # A district bureau's list is "district = X order by id": one index serves the filter and the
    # keyset order. risk_level and industry have their own indexes (see the columns).
    __table_args__ = (
        sa.Index("ix_enterprises_district_code_id", "district_code", "id"),
        sa.CheckConstraint(check_in("industry", Industry), name="industry"),
        sa.CheckConstraint(check_in("risk_level", RiskLevel), name="risk_level"),
        sa.CheckConstraint(check_in("base_level", RiskLevel), name="base_level"),
        sa.CheckConstraint(check_in("custodian_status", CUSTODY_STATUSES, nullable=True), name="custodian_status"),
    )

    id: uuid.UUID = Field(primary_key=True)
    uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False, unique=True))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    industry: Industry = Field(sa_column=sa.Column(sa.String(40), nullable=False, index=True))
    district_code: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))
    town: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    village: str | None = Field(default=None, sa_column=sa.Column(sa.String(20), nullable=True))
    address: str = Field(sa_column=sa.Column(sa.String(300), nullable=False))
    employees: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    major_hazard_source: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    hazard_flags: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    contact_name: str = Field(sa_column=sa.Column(sa.String(50), nullable=False))
    contact_phone: str = Field(sa_column=sa.Column(sa.String(30), nullable=False))
    risk_level: RiskLevel = Field(sa_column=sa.Column(sa.String(10), nullable=False, index=True))
    base_level: RiskLevel = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    custodian_contract_id: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(64), nullable=True, index=True)
    )
    custodian_agency_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    custodian_agency_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    custodian_until: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    custodian_status: ContractStatus | None = Field(default=None, sa_column=sa.Column(sa.String(20), nullable=True))
    # The enterprise's own change that waits for its district bureau (service/risk_inputs.py), and
    # the bureau's last answer to one.
    risk_inputs_pending: dict[str, Any] | None = Field(
        default=None, sa_column=sa.Column(sa.JSON(none_as_null=True), nullable=True)
    )
    risk_inputs_review: dict[str, Any] | None = Field(
        default=None, sa_column=sa.Column(sa.JSON(none_as_null=True), nullable=True)
    )
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))

    @property
    def custodian(self) -> Custody | None:
        """The agency holding custody (SPEC §8's read model), if any."""
        if not self.custodian_contract_id or self.custodian_agency_id is None or self.custodian_until is None:
            return None
        return Custody(
            contract_id=self.custodian_contract_id,
            agency_id=self.custodian_agency_id,
            agency_name=self.custodian_agency_name,
            until=self.custodian_until,
            status=ContractStatus(self.custodian_status or ContractStatus.ACTIVE),
        )

    def columns(self) -> dict[str, Any]:
        """The row as column values (the shape the importer holds rows in)."""
        return {column.key: getattr(self, column.key) for column in enterprises.columns}


@dataclass(frozen=True)
class Custody:
    """Who holds an enterprise in custody: the contract, its agency and the term's end."""

    contract_id: str
    agency_id: str
    agency_name: str | None
    until: date
    status: ContractStatus


@dataclass(frozen=True)
class MinimalEnterprise:
    """The minimal view of an enterprise (SPEC §14): what an agency that is not a party of a live
    contract with it sees — who and where it is and its risk, nothing about its people, premises,
    hazards or custodian. ``uscc`` is the key the caller looked it up by."""

    id: uuid.UUID
    uscc: str
    name: str
    industry: Industry
    district_code: str
    town: str
    risk_level: RiskLevel

    @classmethod
    def of(cls, enterprise: Enterprise) -> MinimalEnterprise:
        return cls(
            id=enterprise.id,
            uscc=enterprise.uscc,
            name=enterprise.name,
            industry=enterprise.industry,
            district_code=enterprise.district_code,
            town=enterprise.town,
            risk_level=enterprise.risk_level,
        )


class CustodyContract(Base, table=True):
    __tablename__ = "custody_contracts"
    __table_args__ = (
        sa.CheckConstraint(check_in("status", ContractStatus), name="status"),
        sa.CheckConstraint(check_in("drafted_by", ContractParty, nullable=True), name="drafted_by"),
    )

    contract_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    enterprise_uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False, index=True))
    agency_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    # Null for contracts heard of before events carried it: such a row grants no full view.
    agency_uscc: str | None = Field(default=None, sa_column=sa.Column(sa.String(18), nullable=True))
    agency_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    status: ContractStatus = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    drafted_by: ContractParty | None = Field(default=None, sa_column=sa.Column(sa.String(10), nullable=True))
    enterprise_signed: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    start_date: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    end_date: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class MajorHazard(Base, table=True):
    __tablename__ = "major_hazards"
    __table_args__ = (sa.CheckConstraint(check_in("status", HazardStatus), name="status"),)

    hazard_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    enterprise_uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False, index=True))
    contract_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: HazardStatus = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


enterprises = metadata.tables["enterprises"]
custody_contracts = metadata.tables["custody_contracts"]
major_hazards = metadata.tables["major_hazards"]
# the list's q= index: n-grams of each enterprise's name and USCC (shared.search)
enterprise_search = token_table(metadata, "enterprise_search")
