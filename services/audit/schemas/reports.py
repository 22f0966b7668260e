"""Request and response models of the public reports (群众举报, SPEC §22)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from services.audit.models import ReportCategory, ReportOutcome
from services.audit.schemas import UTC, Free, Read, Strict, ValueOf
from services.audit.states import ReportStatus
from shared.reference import USCC, DistrictCode
from shared.validation import Line, Reason, check_phone

if TYPE_CHECKING:  # to mypy, the members they are
    ReportCategoryIn = ReportCategory
    ReportOutcomeIn = ReportOutcome
    ReportStatusIn = ReportStatus
else:  # to pydantic and FastAPI, strings
    ReportCategoryIn = Annotated[str, ValueOf(ReportCategory)]
    ReportOutcomeIn = Annotated[str, ValueOf(ReportOutcome)]
    ReportStatusIn = Annotated[str, ValueOf(ReportStatus)]

Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)]
TrackingCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
]


class ReportCreate(Strict):
    enterprise_name: Annotated[Line, StringConstraints(max_length=200)]
    enterprise_uscc: USCC | None = None
    district_code: DistrictCode
    town: Annotated[Line, StringConstraints(max_length=100)] | None = None
    address: Annotated[Line, StringConstraints(max_length=200)]
    category: ReportCategoryIn
    description: Reason
    contact_phone: Phone | None = None

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else check_phone(value)


class ReportTrackBody(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"tracking_code": "Rk8f3a2c1d9e7b60", "contact_phone": "13800138000"}]},
    )

    tracking_code: TrackingCode
    contact_phone: Phone


class ReportAssignBody(Strict):
    town: Annotated[Line, StringConstraints(max_length=100)] | None = None
    notes: Annotated[Free, Field(max_length=2000)] = ""


class ReportHandleBody(Strict):
    notes: Reason


class ReportCloseBody(Strict):
    outcome: ReportOutcomeIn
    notes: Reason


class ReportTrackedStep(Read):
    at: UTC
    action: str
    status: str


class ReportTracked(Read):
    """What the reporter may see with code and phone: progress and outcome, not people."""

    id: uuid.UUID
    status: str
    category: str
    outcome: str | None = None
    created_at: UTC
    timeline: list[ReportTrackedStep]


class ReportStepRead(Read):
    at: UTC
    action: str
    status: str
    actor: str
    note: str | None = None


class ReportRead(Read):
    id: uuid.UUID
    enterprise_name: str
    enterprise_uscc: str | None = None
    district_code: str
    town: str | None = None
    address: str
    category: str
    description: str
    contact_phone: str | None = None
    anonymous: bool
    status: str
    outcome: str | None = None
    notes: str | None = None
    created_at: UTC
    updated_at: UTC
    version: int
    timeline: list[ReportStepRead] | None = None
    tracking_code: str | None = None  # only in the answer to the submission, never stored in clear
