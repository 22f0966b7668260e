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


# Upper bounds: a published document is input (SPEC §22); far beyond any plan, short of date overflow.
DAYS, YEARS = 3660, 50


class VisitMinimums(BaseModel):
    red: int = Field(ge=0, le=366)
    orange: int = Field(ge=0, le=366)
    yellow: int = Field(ge=0, le=366)
    blue: int = Field(ge=0, le=366)

    def for_level(self, level: str) -> int:
        return int(getattr(self, level))


class TermMonths(BaseModel):
    min: int = Field(ge=1, le=12 * YEARS)
    max: int = Field(ge=1, le=12 * YEARS)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class HazardDeadlines(BaseModel):
    general: int = Field(ge=1, le=DAYS)
    major: int = Field(ge=1, le=DAYS)


Points = Annotated[int, Field(ge=-1000, le=1000)]  # a credit score, delta or threshold


class CreditGrades(BaseModel):
    A: Points
    B: Points
    C: Points

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.A >= self.B >= self.C:
            raise ValueError("grades must satisfy A >= B >= C")
        return self


class EnterpriseCreditRules(BaseModel):
    """An enterprise's credit file (SPEC §19): the deltas of its automatic records; its start, cap
    and grades are the agencies' (``CreditRules``). A policy file without them keeps these."""

    hazard_overdue: Points = -5  # a general hazard it left past its deadline, never rectified
    major_hazard_overdue: Points = -10  # … a major one
    rectified_on_time: Points = 1  # a hazard it rectified by the deadline, the rectification verified
    dispute_upheld: Points = -2  # a visit it disputed, the dispute decided against its claim


class CreditRules(BaseModel):
    start: Points
    cap: Points
    complaint_upheld: Points
    audit_below_60: Points
    audit_at_least_90: Points
    missed_visit: Points
    hazard_verified_late: Points
    fraud_finding: Points
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
    flags_for_one_step: int = Field(ge=1, le=100)
    employees_for_one_step: int = Field(ge=1, le=10_000_000)
    open_major_hazard_steps: int = Field(ge=0, le=3)


# the document's own text, kept as published (not normalised: its full-width punctuation stays)
DocumentTitle = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(single_line)]


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy_version: Annotated[str, StringConstraints(min_length=1, max_length=40), AfterValidator(single_line)]
    title: DocumentTitle
    title_en: DocumentTitle
    published: date
    filing_validity_years: int = Field(ge=1, le=YEARS)
    min_registered_safety_engineers: int = Field(ge=0, le=10_000)
    min_full_time_staff: int = Field(ge=0, le=100_000)
    max_enterprises_per_engineer: int = Field(ge=1, le=100_000)
    min_visits_per_year: VisitMinimums
    contract_term_months: TermMonths
    expiring_notice_days: int = Field(ge=0, le=DAYS)
    hazard_deadline_days: HazardDeadlines
    complaint_response_days: int = Field(ge=1, le=DAYS)
    complaint_resolve_days: int = Field(ge=1, le=DAYS)
    audit_sample_rate: float = Field(gt=0, le=1)
    # SPEC §16, §17, §19, §20 (v2)
    max_log_delay_days: int = Field(ge=0, le=DAYS)  # a visit is recorded at most this many days after it
    confirm_window_days: int = Field(ge=0, le=DAYS)  # an undisputed visit counts once this window has passed
    major_hazard_ack_hours: int = Field(ge=1, le=24 * DAYS)  # the bureau acknowledges a major hazard within this
    credit_objection_days: int = Field(ge=1, le=DAYS)  # a noticed organisation may object within this
    credit_list_years: int = Field(ge=1, le=YEARS)  # a serious-dishonesty listing lasts this long
    credit_repair_after_months: int = Field(ge=1, le=12 * YEARS)  # … and may be repaired after this
    conflict_years: int = Field(ge=0, le=YEARS)  # no custody after a safety evaluation of the enterprise within this
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
