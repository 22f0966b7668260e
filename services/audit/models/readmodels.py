"""The read models (fed by events, never written by the API): ``contract_view``, ``agency_view``,
``enterprise_view`` (services.audit.consumers)."""

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.audit.models import Base, _json

TS = sa.DateTime(timezone=True)


class ContractView(Base, table=True):
    __tablename__ = "contract_view"

    id: uuid.UUID = Field(primary_key=True)
    version: int
    status: str = Field(max_length=20)  # the contracts service's state (audit names some: states.ContractStatus)
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
    # The names of its registered safety engineers with a valid certificate, NFKC-normalised without
    # format characters (shared.validation.normalise): the current roster a visit's engineer is on.
    engineers: list[str] = _json()
    updated_at: datetime = Field(sa_type=TS)


class EnterpriseView(Base, table=True):
    __tablename__ = "enterprise_view"

    uscc: str = Field(primary_key=True, max_length=18)
    id: str = Field(max_length=64)
    version: int
    name: str = Field(max_length=200)
    district_code: str = Field(max_length=12)
    town: str | None = Field(default=None, max_length=12)  # its town's code: a town bureau's scope (SPEC §22)
    risk_level: str = Field(max_length=10)
    updated_at: datetime = Field(sa_type=TS)
    # The rest of its record as the enterprises service publishes it (一企一档, SPEC §22); null
    # until an event carrying it arrives (docs/DECISIONS.md D60).
    industry: str | None = Field(default=None, max_length=40)
    village: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=300)
    employees: int | None = None
    major_hazard_source: bool | None = None
    hazard_flags: list[str] | None = Field(default=None, sa_type=sa.JSON(none_as_null=True))
    base_level: str | None = Field(default=None, max_length=10)
    contact_name: str | None = Field(default=None, max_length=50)
    contact_phone: str | None = Field(default=None, max_length=30)


# The record's fields beyond the ones audit scopes by, copied from ``enterprise.*`` events as they are.
ENTERPRISE_RECORD_FIELDS = (
    "industry",
    "village",
    "address",
    "employees",
    "major_hazard_source",
    "hazard_flags",
    "base_level",
    "contact_name",
    "contact_phone",
)


class EnterpriseRiskStep(Base, table=True):
    """One step of an enterprise's risk history (一企一档, SPEC §22): its level when audit first saw
    it, then each ``enterprise.risk_changed`` (one row per enterprise version; kept by
    ``services.audit.consumers``)."""

    __tablename__ = "enterprise_risk_step"

    enterprise_uscc: str = Field(primary_key=True, max_length=18)
    version: int = Field(primary_key=True)
    risk_level: str = Field(max_length=10)
    previous_risk_level: str | None = Field(default=None, max_length=10)
    at: datetime = Field(sa_type=TS)
