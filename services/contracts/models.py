"""Tables of the contracts service (its own metadata; see shared.db.service_base).

- ``contracts``: one row per custody contract; ``version`` grows with every change (ETag, event
  versions); ``previous_status`` remembers where a suspended contract goes back to.
- ``contract_history``: every transition ``{from, to, actor, at, reason}`` (and the non-status
  steps a bureau must see: signatures voided by an amendment, risk flags).
- ``contract_signatures``: one per party and round of terms; an amendment voids them
  (``voided_at``), so the record of what was signed stays.
- ``agency_facts`` / ``enterprise_facts``: local read models fed by ``agency.*`` and
  ``enterprise.*`` events (``source = event``) or, where an event has not arrived yet, by a call
  to the owning service (``source = peer``); a later event always wins.
- ``filing_counters``: the per-year sequence behind human-readable filing numbers.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from shared.db import service_base
from shared.tables import BigId, infrastructure_tables

Base = service_base("contracts")
metadata = Base.metadata
infra = infrastructure_tables(metadata)

TS = sa.DateTime(timezone=True)

STATUSES = ("draft", "signed", "filing", "filed", "active", "expired", "terminated", "rejected", "cancelled", "suspended")
PARTIES = ("agency", "enterprise")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Contract(Base, table=True):
    __tablename__ = "contracts"
    __table_args__ = (
        sa.CheckConstraint(_in("status", STATUSES), name="status"),
        sa.CheckConstraint(_in("previous_status", ("filed", "active")) + " OR previous_status IS NULL", name="previous_status"),
        sa.CheckConstraint("end_date > start_date", name="term"),
        sa.CheckConstraint("fee_yuan >= 0", name="fee"),
        sa.Index("ix_contracts_enterprise_status", "enterprise_uscc", "status"),
        sa.Index("ix_contracts_agency_engineer", "agency_id", "engineer_name", "status"),
        sa.Index("ix_contracts_status_start", "status", "start_date"),
        sa.Index("ix_contracts_status_end", "status", "end_date"),
        sa.Index("ix_contracts_district", "district_code"),
    )

    id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
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
    previous_status: str | None = Field(default=None, sa_column=sa.Column(sa.String(20)))
    risk_flagged: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False))
    review_comments: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    end_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    created_by: str = Field(sa_column=sa.Column(sa.String(120), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    filed_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))
    expiring_notified_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))


class ContractHistory(Base, table=True):
    __tablename__ = "contract_history"

    seq: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    contract_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("contracts.id", ondelete="CASCADE"),
                                                       nullable=False, index=True))
    from_status: str | None = Field(default=None, sa_column=sa.Column(sa.String(20)))
    to_status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    actor: str = Field(sa_column=sa.Column(sa.String(120), nullable=False))
    at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class Signature(Base, table=True):
    __tablename__ = "contract_signatures"
    __table_args__ = (sa.CheckConstraint(_in("party", PARTIES), name="party"),)

    id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    contract_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("contracts.id", ondelete="CASCADE"),
                                                       nullable=False, index=True))
    party: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
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
    status: str = Field(sa_column=sa.Column(sa.String(30), nullable=False))
    # approved, or under renewal (``submitted``) with its current filing still valid (DECISIONS D11)
    filing_in_force: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    district_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(12)))
    service_districts: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    service_industries: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    registered_engineers: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    source: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class EnterpriseFacts(Base, table=True):
    __tablename__ = "enterprise_facts"

    uscc: str = Field(sa_column=sa.Column(sa.String(18), primary_key=True))
    id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    industry: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    district_code: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))
    risk_level: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    source: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class FilingCounter(Base, table=True):
    __tablename__ = "filing_counters"

    year: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    value: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))


__all__ = ["AgencyFacts", "Base", "Contract", "ContractHistory", "EnterpriseFacts", "FilingCounter", "PARTIES", "STATUSES",
           "Signature", "infra", "metadata"]
