"""Request and response bodies of the contracts API (validate before you store)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from shared.reference import USCC, ServiceItem
from shared.validation import no_control, single_line

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(single_line)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(no_control)]
Fee = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2, allow_inf_nan=False)]

ContractStatus = Literal["draft", "signed", "filing", "filed", "active", "expired", "terminated", "rejected",
                         "cancelled", "suspended"]


class ServiceLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: ServiceItem
    times_per_year: int = Field(ge=1, le=365)


def _unique_items(value: list[ServiceLine]) -> list[ServiceLine]:
    items = [line.item for line in value]
    if len(set(items)) != len(items):
        raise ValueError("服务项目不能重复 / each service item may appear once")
    return sorted(value, key=lambda line: line.item.value)


class ContractTerms(BaseModel):
    """The terms both parties sign."""

    model_config = ConfigDict(extra="forbid")

    engineer_name: Name
    services: list[ServiceLine] = Field(min_length=1, max_length=len(ServiceItem))
    start_date: date
    end_date: date
    fee_yuan: Fee

    @field_validator("services")
    @classmethod
    def _services_unique(cls, value: list[ServiceLine]) -> list[ServiceLine]:
        return _unique_items(value)


class ContractCreate(ContractTerms):
    enterprise_uscc: USCC
    agency_id: uuid.UUID


class ContractAmend(BaseModel):
    """PATCH: any of the terms; the parties cannot change."""

    model_config = ConfigDict(extra="forbid")

    engineer_name: Name | None = None
    services: list[ServiceLine] | None = Field(default=None, min_length=1, max_length=len(ServiceItem))
    start_date: date | None = None
    end_date: date | None = None
    fee_yuan: Fee | None = None

    @field_validator("services")
    @classmethod
    def _services_unique(cls, value: list[ServiceLine] | None) -> list[ServiceLine] | None:
        return None if value is None else _unique_items(value)


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class OptionalReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(no_control)] | None = None


class FilingReview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["accept", "reject"]
    comments: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(no_control)] | None = None


class HistoryRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str | None = Field(default=None, alias="from", serialization_alias="from")
    to: str
    actor: str
    at: datetime
    reason: str | None = None


class SignatureRead(BaseModel):
    party: Literal["agency", "enterprise"]
    account_id: str
    actor: str
    signed_at: datetime
    content_sha256: str
    voided_at: datetime | None = None


class ContractSummary(BaseModel):
    id: uuid.UUID
    status: ContractStatus
    version: int
    enterprise_uscc: str
    enterprise_id: str | None = None
    enterprise_name: str
    district_code: str
    agency_id: uuid.UUID
    agency_uscc: str
    agency_name: str
    engineer_name: str
    services: list[ServiceLine]
    start_date: date
    end_date: date
    fee_yuan: Decimal
    filing_no: str | None = None
    risk_flagged: bool = False
    previous_status: str | None = None
    created_at: datetime
    updated_at: datetime
    filed_at: datetime | None = None


class ContractRead(ContractSummary):
    content_sha256: str = Field(description="SHA-256 of the canonical JSON of the current terms")
    terms: dict = Field(description="The canonical terms the parties sign")
    review_comments: str | None = None
    end_reason: str | None = None
    expiring_notified_at: datetime | None = None
    signatures: list[SignatureRead] = Field(description="Current signatures (not voided)")
    voided_signatures: list[SignatureRead] = []
    history: list[HistoryRead]


class ContractPage(BaseModel):
    items: list[ContractSummary]
    next_cursor: str | None = None
