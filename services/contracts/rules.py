"""Creation rules of a custody contract (SPEC §9), as pure functions.

``check_terms`` returns every broken rule, in a fixed order; the service raises a 422 whose
``code`` names the first and whose ``rules`` lists them all. The counts that need the database
(the engineer's load, the overlapping contracts) are computed by the caller inside its
transaction and passed in.

The term runs from ``start_date`` to ``end_date`` inclusive: 2026-01-01 … 2026-12-31 is 12 months.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Sequence

from shared.errors import FieldError, ValidationFailed
from shared.i18n import Text, text
from shared.policy import Policy
from shared.reference import INDUSTRY_NAMES, RISK_NAMES, load_jurisdiction

# States in which a contract binds the engineer's time (counted against
# max_enterprises_per_engineer). Drafts do not count: either party may create one, and an
# enterprise must not be able to exhaust an engineer with drafts; capacity is checked again when
# a contract becomes ``signed``.
ENGINEER_LOAD_STATES = ("signed", "filing", "filed", "active", "suspended")
# States in which a contract still claims the enterprise's term (overlap rule): every state that is
# not final. ``rejected`` counts because it may be amended back to a draft.
NON_TERMINAL_STATES = ("draft", "signed", "filing", "filed", "active", "suspended", "rejected")
TERMINAL_STATES = ("expired", "terminated", "cancelled")


@dataclass(frozen=True)
class AgencyFact:
    id: str
    uscc: str
    name: str
    status: str
    in_force: bool | None = None  # approved, or renewing with the current filing still valid; None: status == approved
    service_districts: Sequence[str] = ()
    service_industries: Sequence[str] = ()
    registered_engineers: Sequence[str] = ()
    version: int = 0

    def __post_init__(self) -> None:
        if self.in_force is None:
            object.__setattr__(self, "in_force", self.status == "approved")


@dataclass(frozen=True)
class EnterpriseFact:
    uscc: str
    id: str
    name: str
    industry: str
    district_code: str
    risk_level: str
    version: int = 0


@dataclass(frozen=True)
class Terms:
    engineer_name: str
    services: Sequence[dict] = field(default_factory=tuple)  # [{item, times_per_year}]
    start_date: date = date.min
    end_date: date = date.min


@dataclass(frozen=True)
class Violation:
    code: str
    field: str
    message: Text


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def term_within_policy(start: date, end: date, policy: Policy) -> bool:
    if end <= start:
        return False
    try:
        after_last_day = end + timedelta(days=1)
        return add_months(start, policy.contract_term_months.min) <= after_last_day <= add_months(start, policy.contract_term_months.max)
    except (OverflowError, ValueError):  # dates at the end of the calendar: no term fits there
        return False


def inspection_times(services: Sequence[dict]) -> int:
    """times_per_year of hazard_inspection, 0 when the contract has none."""
    for line in services:
        if str(line.get("item")) == "hazard_inspection":
            return int(line.get("times_per_year") or 0)
    return 0


def meets_risk(services: Sequence[dict], risk_level: str, policy: Policy) -> bool:
    return inspection_times(services) >= policy.min_visits_per_year.for_level(risk_level)


def _name(names: dict[str, tuple[str, str]], code: str, index: int) -> str:
    return names.get(code, (code, code))[index]


def _district(code: str, language: str) -> str:
    return load_jurisdiction().name_of(code, language)


def check_terms(*, agency: AgencyFact, enterprise: EnterpriseFact, terms: Terms, policy: Policy,
                engineer_load: int, overlapping: int) -> list[Violation]:
    """Every rule the terms break; ``engineer_load`` counts the engineer's other binding contracts
    of this agency, ``overlapping`` the enterprise's other non-terminal contracts overlapping the term."""
    out: list[Violation] = []
    if not agency.in_force:
        out.append(Violation("agency_not_approved", "agency_id", text(
            f"所选机构当前状态为 {agency.status}，仅已备案（approved）的机构可以签订托管协议",
            f"The agency is {agency.status}; only approved agencies may contract")))
    if enterprise.district_code not in agency.service_districts:
        out.append(Violation("agency_district_not_served", "agency_id", text(
            f"该机构的服务区域不包括企业所在区县 {_district(enterprise.district_code, 'zh')}（{enterprise.district_code}）",
            f"The agency does not serve the enterprise's district {_district(enterprise.district_code, 'en')} "
            f"({enterprise.district_code})")))
    if enterprise.industry not in agency.service_industries:
        out.append(Violation("agency_industry_not_served", "agency_id", text(
            f"该机构的服务行业不包括企业所属行业 {_name(INDUSTRY_NAMES, enterprise.industry, 0)}",
            f"The agency does not serve the enterprise's industry {_name(INDUSTRY_NAMES, enterprise.industry, 1)}")))
    if terms.engineer_name not in agency.registered_engineers:
        out.append(Violation("engineer_not_registered", "engineer_name", text(
            f"{terms.engineer_name} 不是该机构登记的注册安全工程师",
            f"{terms.engineer_name} is not one of the agency's registered safety engineers")))
    elif engineer_load >= policy.max_enterprises_per_engineer:
        out.append(Violation("engineer_at_capacity", "engineer_name", text(
            f"{terms.engineer_name} 已服务 {engineer_load} 家企业，达到上限 {policy.max_enterprises_per_engineer}",
            f"{terms.engineer_name} already serves {engineer_load} enterprises, the limit is {policy.max_enterprises_per_engineer}")))
    if not term_within_policy(terms.start_date, terms.end_date, policy):
        lo, hi = policy.contract_term_months.min, policy.contract_term_months.max
        out.append(Violation("term_out_of_policy", "end_date", text(
            f"托管期限须为 {lo}–{hi} 个月，且结束日期晚于开始日期",
            f"The term must be {lo}–{hi} months with end_date after start_date")))
    minimum = policy.min_visits_per_year.for_level(enterprise.risk_level)
    times = inspection_times(terms.services)
    if times < minimum:
        out.append(Violation("inspection_below_minimum", "services", text(
            f"企业风险等级为{_name(RISK_NAMES, enterprise.risk_level, 0)}，隐患排查（hazard_inspection）每年至少 {minimum} 次，"
            f"协议为 {times} 次",
            f"The enterprise's risk is {_name(RISK_NAMES, enterprise.risk_level, 1)}: hazard_inspection needs at least "
            f"{minimum} times a year, the terms have {times}")))
    if overlapping > 0:
        out.append(Violation("term_overlaps", "start_date", text(
            "该企业在此期间已有其他未终止的托管协议", "The term overlaps another live contract of the enterprise")))
    return out


def raise_violations(violations: list[Violation]) -> None:
    if not violations:
        return
    first = violations[0]
    raise ValidationFailed(
        first.message,
        code=first.code,
        errors=[FieldError(v.field, v.message) for v in violations],
        extra={"rules": [v.code for v in violations]},
    )
