"""Request and response models of the audit API: ``XCreate`` / bodies validate before anything
is stored; ``XRead`` are read from the use cases' ORM rows and domain objects
(``from_attributes``), so a route returns what its use case returned."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    StringConstraints,
    field_validator,
)
from pydantic_core import core_schema

from services.audit.models import BureauCreditKind, ComplaintCategory, ComplaintOutcome, HazardLevel
from services.audit.schemas.attachments import AttachmentIds
from services.audit.states import AuditTaskStatus, ComplaintStatus, HazardStatus, SupervisionStatus
from shared.clock import as_utc
from shared.reference import ServiceItem
from shared.validation import Reason, no_control

Str = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(no_control)]
Free = Annotated[str, AfterValidator(no_control)]
UTC = Annotated[datetime, AfterValidator(as_utc)]
PERIOD = r"^\d{4}(-(Q[1-4]|H[12]|(0[1-9]|1[0-2])))?$"  # a year, quarter, half or month: 2026, 2026-Q4, 2026-H1, 2026-03


class ValueOf:
    """A state or a kind in the API: accepted as one of the enum's values and handed on as the
    member, documented as an inline ``enum`` of strings (as the OpenAPI always showed them)."""

    def __init__(self, enum: type[StrEnum]) -> None:
        self.enum = enum

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            self.enum, core_schema.literal_schema([member.value for member in self.enum])
        )


if TYPE_CHECKING:  # to mypy, the members they are
    HazardLevelIn = HazardLevel
    HazardStatusIn = HazardStatus
    AuditTaskStatusIn = AuditTaskStatus
    ComplaintStatusIn = ComplaintStatus
    ComplaintCategoryIn = ComplaintCategory
    ComplaintOutcomeIn = ComplaintOutcome
    BureauCreditKindIn = BureauCreditKind
    SupervisionStatusIn = SupervisionStatus
else:  # to pydantic and FastAPI, strings (an enum class would add an unused component per enum to the OpenAPI)
    HazardLevelIn = Annotated[str, ValueOf(HazardLevel)]
    HazardStatusIn = Annotated[str, ValueOf(HazardStatus)]
    AuditTaskStatusIn = Annotated[str, ValueOf(AuditTaskStatus)]
    ComplaintStatusIn = Annotated[str, ValueOf(ComplaintStatus)]
    ComplaintCategoryIn = Annotated[str, ValueOf(ComplaintCategory)]
    ComplaintOutcomeIn = Annotated[str, ValueOf(ComplaintOutcome)]
    BureauCreditKindIn = Annotated[str, ValueOf(BureauCreditKind)]
    SupervisionStatusIn = Annotated[str, ValueOf(SupervisionStatus)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- service logs -----------------------------------------------------------------------------------
class HazardCreate(Strict):
    description: Reason
    level: HazardLevelIn
    location: Annotated[Str, Field(max_length=200)]
    deadline: date
    photos: AttachmentIds = []


class ServiceLogCreate(Strict):
    contract_id: uuid.UUID
    visit_date: date
    engineer_name: Annotated[Str, Field(max_length=100)]
    items: Annotated[list[ServiceItem], Field(min_length=1, max_length=7)]
    summary: Annotated[Str, Field(max_length=5000)]
    hazards: Annotated[list[HazardCreate], Field(max_length=100)] = []
    attachments: AttachmentIds = []

    @field_validator("items")
    @classmethod
    def _unique_items(cls, value: list[ServiceItem]) -> list[ServiceItem]:
        if len(set(value)) != len(value):
            raise ValueError("服务项目重复 / duplicate items")
        return value


class HazardRead(Read):
    id: uuid.UUID
    service_log_id: uuid.UUID
    contract_id: uuid.UUID
    agency_id: uuid.UUID
    enterprise_uscc: str
    district_code: str
    description: str
    level: str
    location: str
    deadline: date
    status: str
    photos: list[uuid.UUID] = []
    rectify_note: str | None = None
    rectify_attachments: list[uuid.UUID] = []
    rectified_by: str | None = None
    rectified_at: UTC | None = None
    verified_by: str | None = None
    verified_at: UTC | None = None
    verify_note: str | None = None
    verified_late: bool = False
    overdue_at: UTC | None = None
    rejection_reason: str | None = None
    rejected_by: str | None = None
    rejected_at: UTC | None = None
    created_at: UTC
    version: int


class ServiceLogRead(Read):
    id: uuid.UUID
    contract_id: uuid.UUID
    agency_id: uuid.UUID
    enterprise_uscc: str
    district_code: str
    visit_date: date
    engineer_name: str
    items: list[str]
    summary: str
    attachments: list[uuid.UUID] = []
    status: str
    confirmed: bool
    recorded_by: str
    recorded_at: UTC
    confirmed_by: str | None = None
    confirmed_at: UTC | None = None
    disputed_at: UTC | None = None
    dispute_reason: str | None = None
    resolved_at: UTC | None = None
    resolution: str | None = None
    resolution_notes: str | None = None
    version: int
    hazards: list[HazardRead] = []


class RectifyBody(Strict):
    note: Reason
    attachments: AttachmentIds = []


class VerifyBody(Strict):
    note: Annotated[Free | None, Field(max_length=2000)] = None


class RejectRectificationBody(Strict):
    reason: Reason


# --- compliance -------------------------------------------------------------------------------------
class ComplianceItem(Read):
    item: str
    times_per_year: int
    required_so_far: int
    recorded: int
    pending: int = 0
    missed: int


class ComplianceRead(Read):
    contract_id: uuid.UUID
    agency_id: uuid.UUID
    status: str
    as_of: date
    start_date: date
    end_date: date
    items: list[ComplianceItem]


class DistrictCounts(Read):
    """One district on the bureau's dashboard."""

    hazards: dict[str, int]  # by status
    major_hazards_open: int  # major hazards not yet verified
    complaints: dict[str, int]  # by status
    complaints_overdue: int
    missed_visits: int
    audits: dict[str, int]  # audit tasks by status


class ComplianceSummaryRead(Read):
    as_of: date
    districts: dict[str, DistrictCounts]


# --- audits -----------------------------------------------------------------------------------------
class SampleCreate(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"period": "2026-Q1", "seed": 42}]})

    period: Annotated[str, StringConstraints(pattern=PERIOD)]
    rate: Annotated[float | None, Field(gt=0, le=1)] = None
    # any integer or text; at most 100 characters either way (it is logged with the sample)
    seed: (
        Annotated[int, Field(ge=-(10**99), le=10**99)]
        | Annotated[
            str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(no_control)
        ]
    )
    district: str | None = None


class AuditTaskRead(Read):
    id: uuid.UUID
    sample_id: uuid.UUID
    period: str
    contract_id: uuid.UUID
    agency_id: uuid.UUID
    enterprise_uscc: str
    district_code: str
    risk_level: str
    reason: str
    status: str
    scores: list[dict[str, Any]] = []
    findings: str | None = None
    fraud: bool = False
    total: float | None = None
    completed_by: str | None = None
    completed_at: UTC | None = None
    created_at: UTC
    version: int


class SampleRead(Read):
    id: uuid.UUID
    period: str
    district: str | None
    seed: str
    server_nonce: str
    watched_agencies: list[str]
    watched_enterprises: list[str] = []
    rate: float
    population_size: int
    population_sha256: str
    strata: dict[str, Any]
    chosen: list[dict[str, Any]]
    created_by: str
    created_at: UTC
    tasks: list[AuditTaskRead] = []


class Score(Strict):
    criterion: Annotated[Str, Field(max_length=200)]
    score: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


class AuditResult(Strict):
    scores: Annotated[list[Score], Field(min_length=1, max_length=100)]
    findings: Annotated[Free, Field(max_length=10000)] = ""
    fraud: bool = False


# --- complaints -------------------------------------------------------------------------------------
# The models of one area each, in their own module (they use the building blocks above).
from services.audit.schemas.complaints import (  # noqa: E402
    ComplaintCreate,
    ComplaintRead,
    ForwardBody,
    ResolveBody,
    RespondBody,
    TimelineStep,
    TrackBody,
    TrackedComplaint,
    TrackedStep,
)
from services.audit.schemas.credit import (  # noqa: E402
    MAX_CREDIT_DELTA,
    CreditFileRead,
    CreditRecordCreate,
    CreditRecordRead,
    EnterpriseCreditFileRead,
    EnterpriseCreditRecordRead,
)
from services.audit.schemas.listings import (  # noqa: E402
    CreditListingCreate,
    CreditListingPublic,
    CreditListingRead,
    ListingDecision,
    ListingDecisionBody,
    ListingStatusIn,
    ObjectionBody,
    RepairBody,
)
from services.audit.schemas.supervision import (  # noqa: E402
    SupervisionCaseRead,
    SupervisionCloseBody,
    SupervisionListBody,
)

__all__ = [
    "MAX_CREDIT_DELTA",
    "ComplaintCreate",
    "ComplaintRead",
    "CreditFileRead",
    "CreditListingCreate",
    "CreditListingPublic",
    "CreditListingRead",
    "CreditRecordCreate",
    "CreditRecordRead",
    "EnterpriseCreditFileRead",
    "EnterpriseCreditRecordRead",
    "ForwardBody",
    "ListingDecision",
    "ListingDecisionBody",
    "ListingStatusIn",
    "ObjectionBody",
    "RepairBody",
    "ResolveBody",
    "RespondBody",
    "SupervisionCaseRead",
    "SupervisionCloseBody",
    "SupervisionListBody",
    "TimelineStep",
    "TrackBody",
    "TrackedComplaint",
    "TrackedStep",
]
