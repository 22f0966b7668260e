"""Request and response models of accidents and their dossiers (一案双查, SPEC §20)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from services.audit.models.accidents import AccidentSeverity
from services.audit.schemas import UTC, Read, Strict, ValueOf
from shared.reference import USCC
from shared.validation import Reason

if TYPE_CHECKING:  # to mypy, the member it is
    AccidentSeverityIn = AccidentSeverity
else:  # to pydantic and FastAPI, a string
    AccidentSeverityIn = Annotated[str, ValueOf(AccidentSeverity)]

Count = Annotated[int, Field(ge=0, le=100_000)]


class AccidentCreate(Strict):
    enterprise_uscc: USCC
    occurred_at: UTC
    severity: AccidentSeverityIn
    deaths: Count = 0
    injuries: Count = 0
    description: Reason


class FindingsBody(Strict):
    agency_at_fault: bool
    findings: Reason


class AccidentRead(Read):
    id: uuid.UUID
    enterprise_uscc: str
    enterprise_name: str | None = None
    district_code: str
    occurred_at: UTC
    severity: str
    deaths: int
    injuries: int
    description: str
    recorded_by: str
    created_at: UTC
    agency_at_fault: bool | None = None
    findings: str | None = None
    findings_by: str | None = None
    findings_at: UTC | None = None
    credit_record_ids: list[str] = Field(default_factory=list)
    version: int


class DossierContract(Read):
    id: uuid.UUID
    agency_id: uuid.UUID
    agency_name: str | None = None
    agency_uscc: str | None = None
    engineer_name: str
    start_date: date
    end_date: date
    services: list[dict[str, object]]


class DossierVisit(Read):
    id: uuid.UUID
    contract_id: uuid.UUID
    visit_date: date
    engineer_name: str
    items: list[str]
    summary: str
    recorded_at: UTC
    state: str  # as of the accident: recorded | confirmed | disputed | void
    confirmed_at: UTC | None = None  # only when confirmed by then
    attachments: list[uuid.UUID]  # named when the visit was recorded (SPEC §16)


class DossierHazard(Read):
    id: uuid.UUID
    service_log_id: uuid.UUID
    description: str
    level: str
    location: str
    deadline: date
    created_at: UTC
    state: str  # as of the accident
    photos: list[uuid.UUID]  # named when it was reported


class DossierComplaint(Read):
    id: uuid.UUID
    agency_id: uuid.UUID
    category: str
    description: str
    received_on: date
    state: str  # as of the accident (its timeline)
    outcome: str | None = None  # only when resolved by then


class DossierAudit(Read):
    id: uuid.UUID
    period: str
    contract_id: uuid.UUID
    agency_id: uuid.UUID
    state: str  # as of the accident
    total: float | None = None  # only when completed by then
    fraud: bool | None = None
    created_at: UTC


class DossierCredit(Read):
    id: uuid.UUID
    agency_id: uuid.UUID
    kind: str
    delta: int
    ref: str | None = None
    at: UTC


class DossierStanding(Read):
    agency_id: uuid.UUID
    score: int
    grade: str


class DossierRead(Read):
    accident: AccidentRead
    as_of: UTC
    visits_from: date
    contracts: list[DossierContract]
    visits: list[DossierVisit]
    hazards: list[DossierHazard]
    complaints: list[DossierComplaint]
    audits: list[DossierAudit]
    credit_records: list[DossierCredit]
    credit: list[DossierStanding]  # each agency's standing as of the accident
