"""The creation rules of a custody contract (SPEC §9), as pure functions of what the caller knows.

``RULES`` is an ordered tuple of checks, each looking at one ``Proposal`` and answering a
``Violation`` or nothing; ``check_terms`` runs them all, so a 422 names the first broken rule in
``code`` and lists every one in ``rules``. A new rule (v2: the agency credit-listed, a conflict
of interest) is one more function appended to ``RULES``. The counts that need the database (the
engineer's load, the overlapping contracts) are computed by the caller in its transaction.

The term runs from ``start_date`` to ``end_date`` inclusive: 2026-01-01 … 2026-12-31 is 12 months.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from services.contracts.models import AgencyFacts, EnterpriseFacts
from shared.errors import ErrorCode, FieldError, ValidationFailed
from shared.i18n import Text, text
from shared.policy import Policy
from shared.reference import INDUSTRY_NAMES, RISK_NAMES, load_jurisdiction, raise_risk


@dataclass(frozen=True)
class Terms:
    engineer_name: str
    services: Sequence[dict[str, Any]]  # [{item, times_per_year}]
    start_date: date
    end_date: date


@dataclass(frozen=True)
class Proposal:
    """Everything the rules look at: the parties as the read models know them, the terms, the
    policy in force, and the two counts from the database."""

    agency: AgencyFacts
    enterprise: EnterpriseFacts
    terms: Terms
    policy: Policy
    engineer_load: int = 0  # the engineer's other binding contracts with this agency
    overlapping: int = 0  # the enterprise's other contracts claiming the term (signed by it, live)
    last_evaluation: date | None = None  # the end of the agency's latest safety evaluation of it
    credit_listed: bool = False  # the agency is on the serious-dishonesty list (SPEC §19)
    credit_grade: str | None = None  # the enterprise's credit grade (None: none known, at the start)


@dataclass(frozen=True)
class Violation:
    code: ErrorCode
    field: str
    message: Text


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def term_within_policy(start: date, end: date, policy: Policy) -> bool:
    if end <= start:
        return False
    months = policy.contract_term_months
    try:
        after_last_day = end + timedelta(days=1)
        return add_months(start, months.min) <= after_last_day <= add_months(start, months.max)
    except (OverflowError, ValueError):  # dates at the end of the calendar: no term fits there
        return False


def inspection_times(services: Sequence[dict[str, Any]]) -> int:
    """times_per_year of hazard_inspection, 0 when the contract has none."""
    for line in services:
        if str(line.get("item")) == "hazard_inspection":
            return int(line.get("times_per_year") or 0)
    return 0


LOW_CREDIT = "D"  # an enterprise graded D is inspected as the next higher risk level (SPEC §19)


def inspection_level(risk_level: str, credit_grade: str | None) -> str:
    """The risk level whose minimum hazard-inspection frequency the enterprise needs: its own, or
    the next higher one while its credit grade is D (red stays red)."""
    return str(raise_risk(risk_level)) if credit_grade == LOW_CREDIT else risk_level


def meets_risk(
    services: Sequence[dict[str, Any]], risk_level: str, policy: Policy, credit_grade: str | None = None
) -> bool:
    level = inspection_level(risk_level, credit_grade)
    return inspection_times(services) >= policy.min_visits_per_year.for_level(level)


def _name(names: dict[str, tuple[str, str]], code: str, index: int) -> str:
    return names.get(code, (code, code))[index]


# --- the rules, in the order a 422 names them ----------------------------------------------
def agency_in_force(p: Proposal) -> Violation | None:
    if p.agency.filing_in_force:
        return None
    return Violation(
        ErrorCode.AGENCY_NOT_APPROVED,
        "agency_id",
        text(
            f"所选机构当前状态为 {p.agency.status}，仅已备案（approved）的机构可以签订托管协议",
            f"The agency is {p.agency.status}; only approved agencies may contract",
        ),
    )


def agency_not_credit_listed(p: Proposal) -> Violation | None:
    if not p.credit_listed:
        return None
    return Violation(
        ErrorCode.CREDIT_LISTED,
        "agency_id",
        text(
            "所选机构已被列入严重失信名单，不得签订新的托管协议",
            "The agency is on the serious-dishonesty list and may not enter new contracts",
        ),
    )


def district_served(p: Proposal) -> Violation | None:
    code = p.enterprise.district_code
    if code in p.agency.service_districts:
        return None
    names = load_jurisdiction()
    return Violation(
        ErrorCode.AGENCY_DISTRICT_NOT_SERVED,
        "agency_id",
        text(
            f"该机构的服务区域不包括企业所在区县 {names.name_of(code, 'zh')}（{code}）",
            f"The agency does not serve the enterprise's district {names.name_of(code, 'en')} ({code})",
        ),
    )


def industry_served(p: Proposal) -> Violation | None:
    industry = p.enterprise.industry
    if industry in p.agency.service_industries:
        return None
    return Violation(
        ErrorCode.AGENCY_INDUSTRY_NOT_SERVED,
        "agency_id",
        text(
            f"该机构的服务行业不包括企业所属行业 {_name(INDUSTRY_NAMES, industry, 0)}",
            f"The agency does not serve the enterprise's industry {_name(INDUSTRY_NAMES, industry, 1)}",
        ),
    )


def engineer_registered(p: Proposal) -> Violation | None:
    name = p.terms.engineer_name
    if name in p.agency.registered_engineers:
        return None
    return Violation(
        ErrorCode.ENGINEER_NOT_REGISTERED,
        "engineer_name",
        text(
            f"{name} 不是该机构登记的注册安全工程师", f"{name} is not one of the agency's registered safety engineers"
        ),
    )


def engineer_has_capacity(p: Proposal) -> Violation | None:
    name, limit = p.terms.engineer_name, p.policy.max_enterprises_per_engineer
    if name not in p.agency.registered_engineers or p.engineer_load < limit:
        return None  # an unregistered engineer is reported once, by engineer_registered
    return Violation(
        ErrorCode.ENGINEER_AT_CAPACITY,
        "engineer_name",
        text(
            f"{name} 已服务 {p.engineer_load} 家企业，达到上限 {limit}",
            f"{name} already serves {p.engineer_load} enterprises, the limit is {limit}",
        ),
    )


def term_in_policy(p: Proposal) -> Violation | None:
    if term_within_policy(p.terms.start_date, p.terms.end_date, p.policy):
        return None
    lo, hi = p.policy.contract_term_months.min, p.policy.contract_term_months.max
    return Violation(
        ErrorCode.TERM_OUT_OF_POLICY,
        "end_date",
        text(
            f"托管期限须为 {lo}–{hi} 个月，且结束日期晚于开始日期",
            f"The term must be {lo}–{hi} months with end_date after start_date",
        ),
    )


def inspections_meet_risk(p: Proposal) -> Violation | None:
    risk = p.enterprise.risk_level
    level = inspection_level(risk, p.credit_grade)
    minimum, times = p.policy.min_visits_per_year.for_level(level), inspection_times(p.terms.services)
    if times >= minimum:
        return None
    low_zh, low_en = (
        (f"，且诚信等级为 D，按{_name(RISK_NAMES, level, 0)}要求", f", credit grade D: inspected as {level}")
        if level != risk
        else ("", "")
    )
    return Violation(
        ErrorCode.INSPECTION_BELOW_MINIMUM,
        "services",
        text(
            f"企业风险等级为{_name(RISK_NAMES, risk, 0)}{low_zh}，隐患排查（hazard_inspection）每年至少 {minimum} 次，"
            f"协议为 {times} 次",
            f"The enterprise's risk is {_name(RISK_NAMES, risk, 1)}{low_en}: hazard_inspection needs at least "
            f"{minimum} times a year, the terms have {times}",
        ),
    )


def term_free(p: Proposal) -> Violation | None:
    return term_free_for(p.overlapping)


def term_free_for(overlapping: int) -> Violation | None:
    """The overlap rule on its count (also asked when the enterprise signs: its signature is what
    makes a draft claim the term)."""
    if overlapping == 0:
        return None
    return Violation(
        ErrorCode.TERM_OVERLAPS,
        "start_date",
        text(
            "该企业在此期间已签署其他未终止的托管协议",
            "The term overlaps another live contract the enterprise has signed",
        ),
    )


def no_conflict_of_interest(p: Proposal) -> Violation | None:
    """SPEC §20: no custody by an agency that did the enterprise's safety evaluation within
    ``conflict_years`` before the term starts (an evaluation ending on the start date counts)."""
    if p.last_evaluation is None:
        return None
    years = p.policy.conflict_years
    if p.last_evaluation < add_months(p.terms.start_date, -12 * years):
        return None
    return Violation(
        ErrorCode.CONFLICT_OF_INTEREST,
        "agency_id",
        text(
            f"该机构 {p.last_evaluation.isoformat()} 前为该企业做过安全评价，{years} 年内不得承接其托管",
            f"The agency did the enterprise's safety evaluation until {p.last_evaluation.isoformat()}: "
            f"no custody within {years} years of it",
        ),
    )


Rule = Callable[[Proposal], Violation | None]
RULES: tuple[Rule, ...] = (
    agency_in_force,
    agency_not_credit_listed,
    district_served,
    industry_served,
    engineer_registered,
    engineer_has_capacity,
    term_in_policy,
    inspections_meet_risk,
    term_free,
    no_conflict_of_interest,
)


def check_terms(proposal: Proposal) -> list[Violation]:
    """Every rule the proposal breaks, in the order of ``RULES``."""
    return [v for rule in RULES if (v := rule(proposal)) is not None]


def raise_violations(violations: list[Violation]) -> None:
    """422 naming the first broken rule in ``code``, every one in ``rules`` and ``errors``."""
    if not violations:
        return
    first = violations[0]
    raise ValidationFailed(
        first.message,
        code=first.code,
        errors=[FieldError(v.field, v.message) for v in violations],
        extra={"rules": [str(v.code) for v in violations]},
    )
