"""The creation rules as pure functions, and the canonical terms a signature covers."""

from __future__ import annotations

from datetime import date

import pytest

from shared.canonical import sha256_hex
from shared.policy import load_policy

from services.contracts.rules import AgencyFact, EnterpriseFact, Terms, add_months, check_terms, term_within_policy
from services.contracts.signatures import canonical_terms

POLICY = load_policy()
AGENCY = AgencyFact(id="a", uscc="U", name="机构", status="approved", service_districts=("440703",),
                    service_industries=("machinery",), registered_engineers=("张伟",))
ENTERPRISE = EnterpriseFact(uscc="E", id="e", name="企业", industry="machinery", district_code="440703", risk_level="yellow")
TERMS = Terms(engineer_name="张伟", services=({"item": "hazard_inspection", "times_per_year": 4},),
              start_date=date(2026, 4, 1), end_date=date(2027, 3, 31))


def codes(**kw) -> list[str]:
    args = {"agency": AGENCY, "enterprise": ENTERPRISE, "terms": TERMS, "policy": POLICY, "engineer_load": 0, "overlapping": 0}
    args.update(kw)
    return [v.code for v in check_terms(**args)]


def test_valid_terms_break_no_rule():
    assert codes() == []


@pytest.mark.parametrize("kw,expected", [
    ({"agency": AgencyFact(**{**AGENCY.__dict__, "status": "suspended", "in_force": None})}, "agency_not_approved"),
    ({"agency": AgencyFact(**{**AGENCY.__dict__, "status": "submitted", "in_force": None})}, "agency_not_approved"),
    ({"agency": AgencyFact(**{**AGENCY.__dict__, "status": "expired", "in_force": False})}, "agency_not_approved"),
    ({"enterprise": EnterpriseFact(**{**ENTERPRISE.__dict__, "district_code": "440704"})}, "agency_district_not_served"),
    ({"enterprise": EnterpriseFact(**{**ENTERPRISE.__dict__, "industry": "fireworks"})}, "agency_industry_not_served"),
    ({"terms": Terms(**{**TERMS.__dict__, "engineer_name": "王五"})}, "engineer_not_registered"),
    ({"engineer_load": 15}, "engineer_at_capacity"),
    ({"terms": Terms(**{**TERMS.__dict__, "end_date": date(2026, 9, 29)})}, "term_out_of_policy"),
    ({"terms": Terms(**{**TERMS.__dict__, "end_date": date(2029, 4, 1)})}, "term_out_of_policy"),
    ({"terms": Terms(**{**TERMS.__dict__, "end_date": date(2026, 3, 1)})}, "term_out_of_policy"),
    ({"terms": Terms(**{**TERMS.__dict__, "services": ({"item": "hazard_inspection", "times_per_year": 3},)})}, "inspection_below_minimum"),
    ({"terms": Terms(**{**TERMS.__dict__, "services": ({"item": "safety_training", "times_per_year": 12},)})}, "inspection_below_minimum"),
    ({"enterprise": EnterpriseFact(**{**ENTERPRISE.__dict__, "risk_level": "red"})}, "inspection_below_minimum"),
    ({"overlapping": 1}, "term_overlaps"),
])
def test_each_rule(kw, expected):
    assert codes(**kw) == [expected]


def test_an_agency_renewing_with_its_filing_in_force_may_contract():
    assert codes(agency=AgencyFact(**{**AGENCY.__dict__, "status": "submitted", "in_force": True})) == []


def test_engineer_below_capacity_passes():
    assert codes(engineer_load=14) == []


def test_all_broken_rules_are_reported_in_order():
    broken = codes(agency=AgencyFact(**{**AGENCY.__dict__, "status": "revoked", "in_force": None}), overlapping=2,
                   terms=Terms(**{**TERMS.__dict__, "engineer_name": "无名"}))
    assert broken == ["agency_not_approved", "engineer_not_registered", "term_overlaps"]


@pytest.mark.parametrize("start,end,ok", [
    (date(2026, 1, 1), date(2026, 6, 30), True),     # exactly 6 months
    (date(2026, 1, 1), date(2026, 6, 29), False),    # a day short
    (date(2026, 1, 1), date(2028, 12, 31), True),    # exactly 36 months
    (date(2026, 1, 1), date(2029, 1, 1), False),     # a day over
    (date(2026, 8, 31), date(2027, 2, 27), True),    # month ends clamp
    (date(2026, 5, 1), date(2026, 5, 1), False),
])
def test_term_months_inclusive(start, end, ok):
    assert term_within_policy(start, end, POLICY) is ok


def test_add_months_clamps_to_month_end():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


def test_canonical_terms_are_order_and_format_independent():
    a = canonical_terms(enterprise_uscc="E", agency_id="A", engineer_name="张伟", start_date=date(2026, 4, 1),
                        end_date=date(2027, 3, 31), fee_yuan="24000",
                        services=[{"item": "safety_training", "times_per_year": 2}, {"item": "hazard_inspection", "times_per_year": 4}])
    b = canonical_terms(enterprise_uscc="E", agency_id="A", engineer_name="张伟", start_date=date(2026, 4, 1),
                        end_date=date(2027, 3, 31), fee_yuan="24000.00",
                        services=[{"item": "hazard_inspection", "times_per_year": 4}, {"item": "safety_training", "times_per_year": 2}])
    assert a == b and sha256_hex(a) == sha256_hex(b)
    assert a["fee_yuan"] == "24000.00" and [s["item"] for s in a["services"]] == ["hazard_inspection", "safety_training"]
    c = {**a, "fee_yuan": "24000.01"}
    assert sha256_hex(c) != sha256_hex(a)
