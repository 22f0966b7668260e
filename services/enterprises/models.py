"""Tables of the enterprises service (its own metadata; see shared.db.service_base).

- ``enterprises``: the records (SPEC §8) with their computed risk level and the current custodian
  (a read model fed by contract events, denormalised here so listings filter on it cheaply).
- ``custody_contracts``: the contracts we have heard of, one row per contract with its latest
  version — the source of ``enterprises.custodian_*`` and of stale-event detection.
- ``major_hazards``: major hazards we have heard of, keyed by hazard id, with their latest version;
  an unverified one raises its enterprise's risk.

Both read models are keyed by USCC, not by enterprise id, so events about an enterprise that is
not registered here yet are kept and take effect when it is registered (or imported).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from shared.db import service_base
from shared.reference import HazardFlag, Industry, RiskLevel
from shared.tables import infrastructure_tables

Base = service_base("enterprises")
metadata = Base.metadata
infra = infrastructure_tables(metadata)

TS = sa.DateTime(timezone=True)


def risk_enum(name: str) -> sa.Enum:
    return sa.Enum(*[r.value for r in RiskLevel], name=name, native_enum=False, create_constraint=True, length=10)


INDUSTRY_ENUM = sa.Enum(*[i.value for i in Industry], name="industry", native_enum=False, create_constraint=True, length=40)
FLAGS = [f.value for f in HazardFlag]


class Enterprise(Base, table=True):
    __tablename__ = "enterprises"
    # A district bureau's list is "district = X order by id": one index serves the filter and the
    # keyset order. risk_level and industry have their own indexes (see the columns).
    __table_args__ = (sa.Index("ix_enterprises_district_code_id", "district_code", "id"),)

    id: uuid.UUID = Field(primary_key=True)
    uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False, unique=True))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    industry: str = Field(sa_column=sa.Column(INDUSTRY_ENUM, nullable=False, index=True))
    district_code: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))
    town: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    village: str | None = Field(default=None, sa_column=sa.Column(sa.String(20), nullable=True))
    address: str = Field(sa_column=sa.Column(sa.String(300), nullable=False))
    employees: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    major_hazard_source: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    hazard_flags: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    contact_name: str = Field(sa_column=sa.Column(sa.String(50), nullable=False))
    contact_phone: str = Field(sa_column=sa.Column(sa.String(30), nullable=False))
    risk_level: str = Field(sa_column=sa.Column(risk_enum("risk_level"), nullable=False, index=True))
    base_level: str = Field(sa_column=sa.Column(risk_enum("base_level"), nullable=False))
    custodian_contract_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True, index=True))
    custodian_agency_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    custodian_agency_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    custodian_until: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    custodian_status: str | None = Field(default=None, sa_column=sa.Column(sa.String(20), nullable=True))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class CustodyContract(Base, table=True):
    __tablename__ = "custody_contracts"

    contract_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    enterprise_uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False, index=True))
    agency_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    agency_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    start_date: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    end_date: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class MajorHazard(Base, table=True):
    __tablename__ = "major_hazards"

    hazard_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    enterprise_uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False, index=True))
    contract_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


enterprises = Enterprise.__table__
custody_contracts = CustodyContract.__table__
major_hazards = MajorHazard.__table__
