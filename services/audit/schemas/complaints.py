"""Request and response models of complaints (SPEC §10): filed by an enterprise or anonymously,
tracked by code, forwarded, answered and resolved."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from services.audit.schemas import UTC, ComplaintCategoryIn, ComplaintOutcomeIn, Free, Read, Str, Strict
from shared.validation import Reason, check_phone


class ComplaintCreate(Strict):
    agency_id: uuid.UUID
    contract_id: uuid.UUID | None = None
    category: ComplaintCategoryIn
    description: Reason
    contact_phone: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=20)] = None

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else check_phone(value)


class TrackBody(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": "7c0f4a52-3c1e-4b8e-9a55-2f1f3b6f2c10", "tracking_code": "TRK-8f3a2c1d9e"}]
        },
    )

    id: uuid.UUID
    tracking_code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    ]


class TrackedStep(Read):
    at: UTC
    action: str
    status: str


class TrackedComplaint(Read):
    """What an anonymous complainant may see with the tracking code: progress, not people."""

    id: uuid.UUID
    status: str
    category: str
    received_on: date
    response_due: date | None = None
    outcome: str | None = None
    notes: str | None = None
    timeline: list[TrackedStep]


class RespondBody(Strict):
    response: Annotated[Str, Field(max_length=5000)]


class ResolveBody(Strict):
    outcome: ComplaintOutcomeIn
    notes: Annotated[Free, Field(max_length=5000)] = ""


class ForwardBody(Strict):
    note: Annotated[Free | None, Field(max_length=2000)] = None


class TimelineStep(Read):
    at: UTC
    action: str
    status: str
    actor: str
    note: str | None = None


class ComplaintRead(Read):
    id: uuid.UUID
    agency_id: uuid.UUID
    contract_id: uuid.UUID | None = None
    district_code: str
    complainant_uscc: str | None = None
    contact_phone: str | None = None
    anonymous: bool
    category: str
    description: str
    status: str
    received_on: date
    response_due: date | None = None
    resolve_due: date
    response: str | None = None
    outcome: str | None = None
    notes: str | None = None
    response_overdue: bool
    resolution_overdue: bool
    overdue: bool
    credit_record_id: uuid.UUID | None = None  # upheld: the credit record it caused
    created_at: UTC
    version: int
    timeline: list[TimelineStep] | None = None
    tracking_code: str | None = None  # only in the answer to an anonymous complaint, never stored in clear
