"""Request and response bodies of the contracts API: validate before you store; the ``…Read``
models are read from the ORM rows (``from_attributes``) the use cases return."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.contracts.models import Party
from services.contracts.states import ContractStatus
from shared.reference import USCC, ServiceItem
from shared.validation import Name, no_control

# The same limit as the registry's reasons (2000 characters).
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(no_control)
]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(no_control)]
Fee = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2, allow_inf_nan=False)]
Decision = Literal["accept", "reject"]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


Timestamp = Annotated[datetime, AfterValidator(_utc)]  # SQLite drops the zone: it is UTC


class ServiceLine(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

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

    reason: OptionalText | None = None


Sha256 = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9a-fA-F]{64}$"), AfterValidator(str.lower)
]


class SignBody(BaseModel):
    """What a signer signs (SPEC §9 v2): the hash of the terms they read (``content_sha256`` of the
    contract), unless ``If-Match`` names the version they read."""

    model_config = ConfigDict(extra="forbid")

    content_sha256: Sha256 | None = Field(
        default=None, description="SHA-256 of the canonical terms being signed (the contract's content_sha256)"
    )


class FilingReview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision
    comments: OptionalText | None = None


class HistoryRead(BaseModel):
    # One ContractHistory row: ``from`` and ``to`` are its states.
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    from_: str | None = Field(default=None, validation_alias="from_status", serialization_alias="from")
    to: str = Field(validation_alias="to_status")
    actor: str
    at: Timestamp
    reason: str | None = None


class SignatureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    party: Party
    account_id: str
    actor: str
    signed_at: Timestamp
    content_sha256: str
    voided_at: Timestamp | None = None


class ContractSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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
    agency_lapsed: bool = False  # the agency's filing expired while it was live
    previous_status: str | None = None
    created_at: Timestamp
    updated_at: Timestamp
    filed_at: Timestamp | None = None


class ContractRead(ContractSummary):
    content_sha256: str = Field(description="SHA-256 of the canonical JSON of the current terms")
    terms: dict[str, Any] = Field(description="The canonical terms the parties sign")
    review_comments: str | None = None
    end_reason: str | None = None
    expiring_notified_at: Timestamp | None = None
    signatures: list[SignatureRead] = Field(description="Current signatures (not voided)")
    voided_signatures: list[SignatureRead] = []
    history: list[HistoryRead]


class ContractPage(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    items: list[ContractSummary]
    next_cursor: str | None = None
