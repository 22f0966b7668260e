"""The custody implementation plan (实施方案) in force: defaults in ``shared/data/policy.json``, a
file the bureau publishes (``CUSTODY_POLICY_FILE``) overriding any of them. Every service loads the
same policy through this module; the registry serves it at ``GET /api/v1/policy``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.reference import HazardFlag, Industry
from shared.settings import Settings
from shared.validation import single_line

DEFAULT_POLICY_FILE = Path(__file__).resolve().parent / "data" / "policy.json"


class VisitMinimums(BaseModel):
    red: int = Field(ge=0)
    orange: int = Field(ge=0)
    yellow: int = Field(ge=0)
    blue: int = Field(ge=0)

    def for_level(self, level: str) -> int:
        return int(getattr(self, level))


class TermMonths(BaseModel):
    min: int = Field(ge=1)
    max: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class HazardDeadlines(BaseModel):
    general: int = Field(ge=1)
    major: int = Field(ge=1)


class CreditGrades(BaseModel):
    A: int
    B: int
    C: int

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.A >= self.B >= self.C:
            raise ValueError("grades must satisfy A >= B >= C")
        return self


class EnterpriseCreditRules(BaseModel):
    """An enterprise's credit file (SPEC §19): the deltas of its automatic records; its start, cap
    and grades are the agencies' (``CreditRules``). A policy file without them keeps these."""

    hazard_overdue: int = -5  # a general hazard it left past its deadline, never rectified
    major_hazard_overdue: int = -10  # … a major one
    rectified_on_time: int = 1  # a hazard it rectified by the deadline, the rectification verified
    dispute_upheld: int = -2  # a visit it disputed, the dispute decided against its claim


class CreditRules(BaseModel):
    start: int
    cap: int
    complaint_upheld: int
    audit_below_60: int
    audit_at_least_90: int
    missed_visit: int
    hazard_verified_late: int
    fraud_finding: int
    grades: CreditGrades
    enterprise: EnterpriseCreditRules = Field(default_factory=EnterpriseCreditRules)

    def grade_of(self, score: int) -> Literal["A", "B", "C", "D"]:
        if score >= self.grades.A:
            return "A"
        if score >= self.grades.B:
            return "B"
        if score >= self.grades.C:
            return "C"
        return "D"


def _one_of(codes: type[StrEnum]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in {c.value for c in codes}:
            raise ValueError(f"unknown code {value!r}")
        return value  # kept a str: the rules compare and intersect plain strings

    return check


IndustryCode = Annotated[str, AfterValidator(_one_of(Industry))]
FlagCode = Annotated[str, AfterValidator(_one_of(HazardFlag))]


class RiskRules(BaseModel):
    red_industries: list[IndustryCode]
    orange_industries: list[IndustryCode]
    yellow_industries: list[IndustryCode]
    blue_industries: list[IndustryCode]
    major_hazard_source_level: Literal["red", "orange", "yellow", "blue"]
    severe_flags: list[FlagCode]
    flags_for_one_step: int
    employees_for_one_step: int
    open_major_hazard_steps: int


# the document's own text, kept as published (not normalised: its full-width punctuation stays)
DocumentTitle = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(single_line)]


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy_version: Annotated[str, StringConstraints(min_length=1, max_length=40), AfterValidator(single_line)]
    title: DocumentTitle
    title_en: DocumentTitle
    published: date
    filing_validity_years: int = Field(ge=1)
    min_registered_safety_engineers: int = Field(ge=0)
    min_full_time_staff: int = Field(ge=0)
    max_enterprises_per_engineer: int = Field(ge=1)
    min_visits_per_year: VisitMinimums
    contract_term_months: TermMonths
    expiring_notice_days: int = Field(ge=0)
    hazard_deadline_days: HazardDeadlines
    complaint_response_days: int = Field(ge=1)
    complaint_resolve_days: int = Field(ge=1)
    audit_sample_rate: float = Field(gt=0, le=1)
    # SPEC §16, §17, §19, §20 (v2)
    max_log_delay_days: int = Field(ge=0)  # a visit is recorded at most this many days after it
    confirm_window_days: int = Field(ge=0)  # an undisputed visit counts once this window has passed
    major_hazard_ack_hours: int = Field(ge=1)  # the bureau acknowledges a major hazard within this
    credit_objection_days: int = Field(ge=1)  # a noticed organisation may object within this
    credit_list_years: int = Field(ge=1)  # a serious-dishonesty listing lasts this long
    credit_repair_after_months: int = Field(ge=1)  # … and may be repaired after this
    conflict_years: int = Field(ge=0)  # no custody after a safety evaluation of the enterprise within this
    credit: CreditRules
    risk_rules: RiskRules


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def load_policy(settings: Settings | None = None) -> Policy:
    data = json.loads(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))
    if settings is not None and settings.policy_file:
        data = _merge(data, json.loads(Path(settings.policy_file).read_text(encoding="utf-8")))
    return Policy.model_validate(data)
