"""Request and response models of the enterprises service (validate before you store).

``XRead`` models are read from the service's ORM rows and domain objects (``from_attributes``);
texts held in both languages (``shared.i18n.Text``) are rendered in the request's language.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator

from shared.clock import as_utc
from shared.i18n import Text, render
from shared.reference import USCC, DistrictCode, HazardFlag, Industry, RiskLevel
from shared.validation import Line, check_phone, no_control, single_line

MAX_EMPLOYEES = 100_000

Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=7, max_length=30), AfterValidator(check_phone)
]
Name = Annotated[Line, StringConstraints(max_length=200)]
Address = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), AfterValidator(no_control)
]
Person = Annotated[Line, StringConstraints(max_length=50)]
Place = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), AfterValidator(single_line)
]
Employees = Annotated[int, Field(ge=0, le=MAX_EMPLOYEES)]


def _unique_flags(value: list[HazardFlag]) -> list[HazardFlag]:
    if len(set(value)) != len(value):
        raise ValueError("风险标识不能重复 / hazard flags must not repeat")
    return value


Flags = Annotated[list[HazardFlag], Field(max_length=len(HazardFlag)), AfterValidator(_unique_flags)]


class EnterpriseBase(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    industry: Industry
    district_code: DistrictCode
    town: Place = Field(description="镇街：区县内的镇/街道代码或准确名称（保存为代码）")
    village: Place | None = Field(default=None, description="村居（可选）：镇街内的村/社区代码或准确名称")
    address: Address
    employees: Employees
    major_hazard_source: bool
    hazard_flags: Flags = Field(default_factory=list)
    contact_name: Person
    contact_phone: Phone

    @field_validator("village", mode="before")
    @classmethod
    def _blank_village(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class EnterpriseCreate(EnterpriseBase):
    model_config = ConfigDict(  # merged with EnterpriseBase's
        json_schema_extra={
            "examples": [
                {
                    "uscc": "91440703MA4W5678YH",
                    "name": "江门市蓬江区示例化工有限公司",
                    "industry": "hazardous_chemicals",
                    "district_code": "440703",
                    "town": "440703001",
                    "address": "江门市蓬江区环市街道工业路 8 号",
                    "employees": 120,
                    "major_hazard_source": False,
                    "contact_name": "王芳",
                    "contact_phone": "13800138000",
                }
            ]
        },
    )

    uscc: USCC


class EnterpriseUpdate(BaseModel):
    """PATCH: any subset of the fields except ``uscc``; the merged record is validated again."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name | None = None
    industry: Industry | None = None
    district_code: DistrictCode | None = None
    town: Place | None = None
    village: Place | None = None
    address: Address | None = None
    employees: Employees | None = None
    major_hazard_source: bool | None = None
    hazard_flags: Flags | None = None
    contact_name: Person | None = None
    contact_phone: Phone | None = None


def _rendered(value: Any) -> Any:
    return render(value) if isinstance(value, Text) else value


Rendered = Annotated[str, BeforeValidator(_rendered)]
UtcDatetime = Annotated[datetime, BeforeValidator(as_utc)]  # SQLite hands back naive UTC times


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PendingRiskInputs(BaseModel):
    changes: dict[str, Any]
    submitted_at: datetime  # stored as ISO 8601 with its offset (JSON)
    submitted_by: str


class RiskInputsReviewed(PendingRiskInputs):
    decision: Literal["accept", "reject"]
    comments: str | None = None
    reviewed_at: datetime
    reviewed_by: str


class RiskInputsReview(BaseModel):
    """The bureau's answer to an enterprise's pending change."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["accept", "reject"]
    comments: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(no_control)] | None
    ) = None


class Custodian(ReadModel):
    contract_id: str
    agency_id: str
    agency_name: str | None = None
    until: date
    status: Literal["active", "suspended"] = "active"


class EnterpriseRead(ReadModel):
    id: uuid.UUID
    uscc: str
    name: str
    industry: Industry
    district_code: str
    town: str
    village: str | None = None
    address: str
    employees: int
    major_hazard_source: bool
    hazard_flags: list[HazardFlag]
    contact_name: str
    contact_phone: str
    risk_level: RiskLevel
    custodian: Custodian | None = None
    risk_inputs_pending: PendingRiskInputs | None = Field(
        default=None,
        description="企业自行提交、待所在区县审核的迁址或降低风险的变更（审核前旧值有效） / "
        "the enterprise's own district move or lowering of its risk inputs, waiting for its district "
        "bureau (the old values rule meanwhile)",
    )
    risk_inputs_review: RiskInputsReviewed | None = Field(
        default=None, description="最近一次审核结果 / the bureau's last answer to such a change"
    )
    version: int
    created_at: UtcDatetime
    updated_at: UtcDatetime


class EnterpriseMinimalRead(ReadModel):
    """The minimal view of an enterprise (SPEC §14): what an agency sees of an enterprise it is not
    a party of a live contract with."""

    id: uuid.UUID
    uscc: str
    name: str
    industry: Industry
    district_code: str
    town: str
    risk_level: RiskLevel


class EnterprisePage(BaseModel):
    items: list[EnterpriseRead]
    next_cursor: str | None = None


class RiskFactorRead(ReadModel):
    code: str
    description: Rendered
    effect: str
    level_after: RiskLevel


class RiskRead(ReadModel):
    enterprise_id: uuid.UUID
    risk_level: RiskLevel
    base_level: RiskLevel
    open_major_hazards: int
    factors: list[RiskFactorRead]
    policy_version: str


class RowErrorRead(ReadModel):
    field: str
    message: Rendered


class RejectedRow(ReadModel):
    row: int = Field(
        description="表格自身的行号（文件第一行为第 1 行）/ the spreadsheet's own row number, its first line being 1"
    )
    uscc: str | None = None
    errors: list[RowErrorRead]


class ImportReport(ReadModel):
    encoding: str = Field(description="utf-8 | utf-8-bom | gbk | xlsx")
    dry_run: bool = Field(False, description="仅校验，未写入 / validated only, nothing written")
    rows: int
    accepted: int
    updated: int
    unchanged: int
    rejected: list[RejectedRow]
    ignored_columns: list[str] = []
    seconds: float
