"""The serious-dishonesty list's table (SPEC §19; ``services.audit.service.listings``)."""

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from services.audit.models import Base, allowed, enum_of
from services.audit.states import ListingStatus

TS = sa.DateTime(timezone=True)


class ListingOrgKind(StrEnum):
    """Whom a serious-dishonesty listing names (SPEC §19)."""

    AGENCY = "agency"
    ENTERPRISE = "enterprise"


class CreditListing(Base, table=True):
    """One listing of an organisation on the serious-dishonesty list (严重失信名单, SPEC §19), from its
    notice to its end (withdrawn, repaired, expired); ``services.audit.service.listings``."""

    __tablename__ = "credit_listing"
    __table_args__ = (
        sa.Index("ix_credit_listing_status", "status", "id"),
        sa.Index("ix_credit_listing_org", "uscc", "status"),
        allowed("org_kind", ListingOrgKind, "credit_listing_org_kind"),
        allowed("status", ListingStatus, "credit_listing_status"),
    )

    id: uuid.UUID = Field(primary_key=True)
    uscc: str = Field(max_length=18)  # the organisation's (``org_uscc`` in the API)
    org_kind: ListingOrgKind = Field(sa_type=enum_of(ListingOrgKind))
    name: str = Field(max_length=200)  # the organisation's name when noticed (from the read model)
    district_code: str = Field(max_length=12)  # the organisation's: whose bureau decides
    reason: str = Field(sa_type=sa.Text)
    legal_basis: str = Field(sa_type=sa.Text)
    status: ListingStatus = Field(sa_type=enum_of(ListingStatus))
    noticed_on: date
    objection_until: date  # the last day to object
    objection: str | None = Field(default=None, sa_type=sa.Text)
    objected_at: datetime | None = Field(default=None, sa_type=TS)
    listed_at: date | None = None  # the day the listing took effect
    until: date | None = None  # the day it ends (expired from then on)
    repairable_from: date | None = None
    repair_statement: str | None = Field(default=None, sa_type=sa.Text)
    repair_requested_at: datetime | None = Field(default=None, sa_type=TS)
    decision: str | None = Field(default=None, max_length=20)  # the last decision: list|withdraw|repair|refuse
    decision_reasons: str | None = Field(default=None, sa_type=sa.Text)
    decided_by: str | None = Field(default=None, max_length=100)
    decided_at: datetime | None = Field(default=None, sa_type=TS)
    ended_on: date | None = None  # withdrawn, repaired or expired on
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=TS)
    updated_at: datetime = Field(sa_type=TS)
    version: int = 1
