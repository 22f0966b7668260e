"""Request and response models of the registry: validate before you store; the ``…Read`` /
``…Out`` models read ORM rows and domain objects (``from_attributes``).

Names kept from before the port (``DocumentOut``, ``ReviewIn``, ``DirectoryItem`` …) are the
OpenAPI component names clients know; renaming them would change the public document."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.registry.models import ENGINEER, StaffRole
from services.registry.states import ListChange
from shared.clock import as_utc
from shared.reference import USCC, DistrictCode, Industry
from shared.validation import Line as TextLine
from shared.validation import Normalised, check_phone, no_control, normalise, single_line

Name = Annotated[TextLine, StringConstraints(max_length=50)]
Line = Annotated[TextLine, StringConstraints(max_length=200)]
LongLine = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), AfterValidator(single_line)
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), AfterValidator(check_phone)]
T = TypeVar("T")
# SQLite drops the zone of stored timestamps; every time answered is UTC (SPEC §5).
UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]


CertificateNo = Annotated[
    str, Normalised, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=60)
]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000), AfterValidator(no_control)]
# Why a regulator suspends, reinstates or revokes: at most 2000 characters, the platform's one
# limit for reasons (the contracts service's reasons follow it).
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(no_control)
]
_SEPARATORS = re.compile(r"[\s\-_/.·]+")


def certificate_key(certificate_no: str) -> str:
    """The identity of a certificate number for exclusivity: case, width and separators do not
    make another certificate ("rse-2026 001" is "RSE2026001")."""
    return _SEPARATORS.sub("", normalise(certificate_no).upper())


class StaffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    role: StaffRole
    certificate_no: CertificateNo | None = None
    certificate_valid_until: date | None = None
    full_time: bool

    @model_validator(mode="after")
    def _engineer_has_certificate(self) -> StaffIn:
        if self.role == ENGINEER and (not self.certificate_no or self.certificate_valid_until is None):
            raise ValueError(
                "注册安全工程师须填写证书编号和有效期 / a registered safety engineer needs "
                "certificate_no and certificate_valid_until"
            )
        return self


class QualificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Line
    number: Line
    issuer: Line
    valid_from: date
    valid_until: date

    @model_validator(mode="after")
    def _ordered(self) -> QualificationIn:
        if self.valid_until < self.valid_from:
            raise ValueError("有效期截止早于起始日期 / valid_until is before valid_from")
        return self


def _unique_certificates(staff: list[StaffIn] | None) -> list[StaffIn] | None:
    seen: set[str] = set()
    for member in staff or []:
        if member.certificate_no:
            key = certificate_key(member.certificate_no)
            if key in seen:
                raise ValueError(f"证书编号重复：{member.certificate_no} / duplicate certificate_no")
            seen.add(key)
    return staff


def _dedupe(values: list[T] | None) -> list[T] | None:
    """The same area or industry named twice counts once (a field validator: it must not mark an
    unset field of an update as given, which a model validator assigning it would)."""
    return None if values is None else list(dict.fromkeys(values))


class AgencyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "uscc": "91440703MA4W1234XP",
                    "name": "江门市安信安全技术服务有限公司",
                    "legal_representative": "李明",
                    "contact_phone": "0750-3501234",
                    "address": "江门市蓬江区建设路 1 号",
                    "district_code": "440703",
                    "service_districts": ["440703"],
                    "service_industries": ["hazardous_chemicals"],
                }
            ]
        },
    )

    uscc: USCC
    name: Line
    legal_representative: Name
    contact_phone: Phone
    address: LongLine
    district_code: DistrictCode
    service_districts: list[DistrictCode] = Field(min_length=1, max_length=50)
    service_industries: list[Industry] = Field(min_length=1, max_length=50)
    staff: list[StaffIn] = Field(default_factory=list, max_length=1000)
    qualifications: list[QualificationIn] = Field(default_factory=list, max_length=100)

    _staff = field_validator("staff")(_unique_certificates)
    _areas = field_validator("service_districts", "service_industries")(_dedupe)


class AgencyUpdate(BaseModel):
    """Any subset of the filing's fields (not ``uscc``); ``null`` is refused for each of them."""

    model_config = ConfigDict(extra="forbid")

    name: Line | None = None
    legal_representative: Name | None = None
    contact_phone: Phone | None = None
    address: LongLine | None = None
    district_code: DistrictCode | None = None
    service_districts: list[DistrictCode] | None = Field(default=None, min_length=1, max_length=50)
    service_industries: list[Industry] | None = Field(default=None, min_length=1, max_length=50)
    staff: list[StaffIn] | None = Field(default=None, max_length=1000)
    qualifications: list[QualificationIn] | None = Field(default=None, max_length=100)

    _staff = field_validator("staff")(_unique_certificates)
    _areas = field_validator("service_districts", "service_industries")(_dedupe)

    @field_validator("*")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("不能为空 / must not be null")
        return value


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject", "request_changes"]
    comments: Comment = ""


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


# --- responses ------------------------------------------------------------------------------
class StaffOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    role: str
    certificate_no: str | None = None
    certificate_valid_until: date | None = None
    full_time: bool
    lapsed: bool = False  # the certificate expired: the engineer no longer counts


class CheckOut(BaseModel):  # an automatic check, its ``detail`` in the caller's language (models.Check)
    model_config = ConfigDict(from_attributes=True)

    code: str
    passed: bool
    detail: str


class DocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sha256: str
    size: int
    kind: str
    content_type: str
    filename: str | None = None
    created_at: UtcDateTime | None = None


class AgencyRead(BaseModel):
    """The full record: for the agency itself, its governing bureau and admin."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    uscc: str
    name: str
    legal_representative: str
    contact_phone: str
    address: str
    district_code: str
    service_districts: list[str]
    service_industries: list[str]
    staff: list[StaffOut]
    qualifications: list[QualificationIn]
    status: str
    version: int
    filing_no: str | None
    valid_until: date | None
    checks: list[CheckOut] = Field(validation_alias="check_results")
    documents: list[DocumentOut]
    review_comments: str | None
    status_reason: str | None
    registered_engineers: list[str]
    created_at: UtcDateTime
    updated_at: UtcDateTime
    submitted_at: UtcDateTime | None
    approved_at: UtcDateTime | None
    noncompliant: bool = False


class AgencyPublic(BaseModel):
    """What any authenticated caller may see of an approved agency (no phones, no certificates)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    uscc: str
    name: str
    status: str
    version: int
    district_code: str
    filing_no: str | None
    valid_until: date | None
    service_districts: list[str]
    service_industries: list[str]
    registered_engineers: list[str]


class DirectoryItem(BaseModel):  # one agency of the public directory (service.directory.Listing)
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    uscc: str
    district_code: str
    filing_no: str | None
    valid_until: date | None
    grade: str
    credit_score: int
    service_districts: list[str]
    service_industries: list[str]
    registered_engineers: list[str]
    active_contracts: int
    remaining_capacity: int


class DirectoryChangeRead(BaseModel):  # one change of the public list (models.DirectoryChange)
    model_config = ConfigDict(from_attributes=True)

    agency_id: uuid.UUID
    name: str
    filing_no: str | None
    change: ListChange
    reason: str | None
    at: UtcDateTime


class DirectoryAgencyRead(BaseModel):  # a listed agency's public detail (service.directory.PublicDetail)
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    uscc: str
    district_code: str
    filing_no: str | None
    valid_until: date | None
    grade: str
    credit_score: int
    contact_phone: str
    address: str
    service_districts: list[str]
    service_industries: list[str]
    registered_engineers: int = Field(description="注册安全工程师人数 / registered safety engineers")


# --- engagements (SPEC §20) ---------------------------------------------------------------------
EngagementKind = Literal["safety_evaluation", "testing", "consulting", "training"]
EARLIEST_ENGAGEMENT = date(2000, 1, 1)
LATEST_ENGAGEMENT = date(2100, 12, 31)


class EngagementCreate(BaseModel):
    """``from`` … ``to`` inclusive; a declaration of planned work is allowed."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    enterprise_uscc: USCC
    kind: EngagementKind
    starts_on: date = Field(alias="from", ge=EARLIEST_ENGAGEMENT, le=LATEST_ENGAGEMENT)
    ends_on: date = Field(alias="to", ge=EARLIEST_ENGAGEMENT, le=LATEST_ENGAGEMENT)

    @model_validator(mode="after")
    def _ordered(self) -> EngagementCreate:
        if self.ends_on < self.starts_on:
            raise ValueError("to 不能早于 from / to must not be before from")
        return self


class EngagementRead(BaseModel):  # models.AgencyEngagement
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: uuid.UUID
    agency_id: uuid.UUID
    enterprise_uscc: str
    kind: str
    starts_on: date = Field(serialization_alias="from")
    ends_on: date = Field(serialization_alias="to")
    declared_by: str
    declared_at: datetime


class RenewalIn(BaseModel):  # what a change filing or a renewal changes (SPEC §18); staff: the whole roster
    model_config = ConfigDict(extra="forbid")

    staff: list[StaffIn] | None = Field(default=None, max_length=1000)
    qualifications: list[QualificationIn] | None = Field(default=None, max_length=100)
    service_districts: list[DistrictCode] | None = Field(default=None, min_length=1, max_length=50)
    service_industries: list[Industry] | None = Field(default=None, min_length=1, max_length=50)
    contact_phone: Phone | None = None
    address: LongLine | None = None

    _staff = field_validator("staff")(_unique_certificates)
    _areas = field_validator("service_districts", "service_industries")(_dedupe)

    def changes(self) -> dict[str, object]:  # the fields given, as stored (JSON)
        return self.model_dump(mode="json", include=self.model_fields_set - {"reason"}, exclude_none=True)


class ChangeIn(RenewalIn):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"contact_phone": "0750-3123456", "reason": "办公电话变更"}]}
    )
    reason: Reason

    @model_validator(mode="after")
    def _something(self) -> ChangeIn:
        if not self.changes():
            raise ValueError("变更备案须至少变更一项 / a change filing changes at least one field")
        return self


class ChangeReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    comments: Comment = ""


class ChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    agency_id: uuid.UUID
    status: str
    changes: dict[str, object]
    reason: str
    checks: list[CheckOut] = Field(validation_alias="check_results")
    review_comments: str | None
    filed_by: str
    decided_by: str | None
    created_at: UtcDateTime
    decided_at: UtcDateTime | None
