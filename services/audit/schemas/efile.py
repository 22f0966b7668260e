"""The response model of an enterprise's file (一企一档, SPEC §22)."""

from __future__ import annotations

import uuid
from datetime import date

from services.audit.schemas import UTC, Read
from services.audit.schemas.accidents import DossierAudit, DossierComplaint, DossierContract, DossierVisit


class FileEnterprise(Read):
    id: str
    uscc: str
    name: str
    district_code: str
    risk_level: str
    version: int
    updated_at: UTC
    # the rest of the registration record, as the enterprises service publishes it (null until
    # an event carrying it reaches audit)
    town: str | None = None
    industry: str | None = None
    village: str | None = None
    address: str | None = None
    employees: int | None = None
    major_hazard_source: bool | None = None
    hazard_flags: list[str] | None = None
    base_level: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


class FileRiskStep(Read):
    version: int
    risk_level: str
    previous_risk_level: str | None = None
    at: UTC


class FileContract(DossierContract):
    status: str  # its state now (the contracts service's)


class FileHazardStep(Read):
    at: UTC
    action: str
    status: str


class FileHazard(Read):
    id: uuid.UUID
    service_log_id: uuid.UUID
    description: str
    level: str
    location: str
    deadline: date
    created_at: UTC
    state: str
    steps: list[FileHazardStep]  # its loop: found, rectified, rejected, verified, overdue


class FileSupervisionCase(Read):
    id: uuid.UUID
    hazard_id: uuid.UUID
    status: str
    opened_at: UTC
    ack_due_at: UTC
    acknowledged_at: UTC | None = None
    escalated_at: UTC | None = None
    deadline: date | None = None
    closed_at: UTC | None = None


class FileCreditRecord(Read):
    id: uuid.UUID
    kind: str
    delta: int
    ref: str
    hazard_id: uuid.UUID | None = None
    reason: str
    at: UTC


class FileCredit(Read):
    score: int
    grade: str
    version: int
    records: list[FileCreditRecord]


class FileFact(Read):
    at: UTC
    section: str  # the section it is in: risk_history, contracts, visits, hazards, ...
    ref: str  # the record's id (a risk step: the enterprise's version)
    what: str  # its state or kind then


class EnterpriseFileRead(Read):
    enterprise: FileEnterprise
    as_of: UTC
    risk_history: list[FileRiskStep]
    contracts: list[FileContract]
    visits: list[DossierVisit]
    hazards: list[FileHazard]
    supervision_cases: list[FileSupervisionCase]
    complaints: list[DossierComplaint]
    audits: list[DossierAudit]
    credit: FileCredit
    timeline: list[FileFact]  # every dated fact above, in one time order
