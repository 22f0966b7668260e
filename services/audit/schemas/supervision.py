"""Request and response models of major-hazard supervision (挂牌督办, SPEC §17)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints

from services.audit.schemas import UTC, Read, Str, Strict
from shared.validation import Line


class SupervisionListBody(Strict):
    deadline: date  # not in the past (the use case's rule: it needs the clock)
    measures: Annotated[Str, Field(max_length=5000)]
    responsible: Annotated[Line, StringConstraints(max_length=200)]


class SupervisionCloseBody(Strict):
    notes: Annotated[Str, Field(max_length=5000)]


class SupervisionCaseRead(Read):
    id: uuid.UUID
    hazard_id: uuid.UUID
    contract_id: uuid.UUID
    agency_id: uuid.UUID
    enterprise_uscc: str
    district_code: str
    status: str
    opened_at: UTC
    ack_due_at: UTC
    acknowledged_by: str | None = None
    acknowledged_at: UTC | None = None
    escalated_at: UTC | None = None
    listed_by: str | None = None
    listed_at: UTC | None = None
    deadline: date | None = None
    measures: str | None = None
    responsible: str | None = None
    closed_by: str | None = None
    closed_at: UTC | None = None
    close_notes: str | None = None
    version: int
