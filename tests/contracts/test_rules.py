"""The creation rules as pure functions, and the canonical terms a signature covers."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from services.contracts.models import AgencyFacts, EnterpriseFacts, FactSource, canonical_terms
from services.contracts.service.rules import RULES, Proposal, Terms, add_months, check_terms, term_within_policy
from shared.canonical import sha256_hex
from shared.policy import load_policy

POLICY = load_policy()
TERMS = Terms(
    engineer_name="张伟",
    services=({"item": "hazard_inspection", "times_per_year": 4},),
    start_date=date(2026, 4, 1),
    end_date=date(2027, 3, 31),
)


def agency(status: str = "approved", in_force: bool | None = None) -> AgencyFacts:
    """The agency as the read model holds it; in force when approved unless told otherwise."""
    return AgencyFacts(
        id=uuid.uuid4(),
        uscc="U",
        name="机构",
        status=status,
        filing_in_force=status == "approved" if in_force is None else in_force,
        service_districts=["440703"],
        service_industries=["machinery"],
        registered_engineers=["张伟"],
        version=1,
        source=FactSource.EVENT,
        updated_at=datetime.now(UTC),
    )


def enterprise(**kw) -> EnterpriseFacts:
    values = {
        "uscc": "E",
        "id": "e",
        "name": "企业",
        "industry": "machinery",
        "district_code": "440703",
        "risk_level": "yellow",
        **kw,
    }
    return EnterpriseFacts(**values, version=1, source=FactSource.EVENT, updated_at=datetime.now(UTC))


AGENCY, ENTERPRISE = agency(), enterprise()


def codes(**kw) -> list[str]:
    args = {
        "agency": AGENCY,
        "enterprise": ENTERPRISE,
        "terms": TERMS,
        "policy": POLICY,
        "engineer_load": 0,
        "overlapping": 0,
    }
    args.update(kw)
    return [v.code for v in check_terms(Proposal(**args))]


def test_valid_terms_break_no_rule():
    assert codes() == []


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"agency": agency("suspended")}, "agency_not_approved"),
        ({"agency": agency("submitted")}, "agency_not_approved"),
        ({"agency": agency("expired", in_force=False)}, "agency_not_approved"),
        ({"enterprise": enterprise(district_code="440704")}, "agency_district_not_served"),
        ({"enterprise": enterprise(industry="fireworks")}, "agency_industry_not_served"),
        ({"terms": Terms(**{**TERMS.__dict__, "engineer_name": "王五"})}, "engineer_not_registered"),
        ({"engineer_load": 15}, "engineer_at_capacity"),
        ({"terms": Terms(**{**TERMS.__dict__, "end_date": date(2026, 9, 29)})}, "term_out_of_policy"),
        ({"terms": Terms(**{**TERMS.__dict__, "end_date": date(2029, 4, 1)})}, "term_out_of_policy"),
        ({"terms": Terms(**{**TERMS.__dict__, "end_date": date(2026, 3, 1)})}, "term_out_of_policy"),
        (
            {"terms": Terms(**{**TERMS.__dict__, "services": ({"item": "hazard_inspection", "times_per_year": 3},)})},
            "inspection_below_minimum",
        ),
        (
            {"terms": Terms(**{**TERMS.__dict__, "services": ({"item": "safety_training", "times_per_year": 12},)})},
            "inspection_below_minimum",
        ),
        ({"enterprise": enterprise(risk_level="red")}, "inspection_below_minimum"),
        ({"overlapping": 1}, "term_overlaps"),
        ({"credit_listed": True}, "credit_listed"),  # on the serious-dishonesty list (SPEC §19)
    ],
)
def test_each_rule(kw, expected):
    assert codes(**kw) == [expected]


def test_an_agency_renewing_with_its_filing_in_force_may_contract():
    assert codes(agency=agency("submitted", in_force=True)) == []


def test_every_rule_is_checked_once_and_in_the_order_a_422_names_them():
    """A new rule is one more function in RULES; each rule answers for one code."""
    everything_wrong = codes(
        agency=agency("revoked"),
        enterprise=enterprise(district_code="440704", industry="fireworks", risk_level="red"),
        terms=Terms(engineer_name="张伟", services=(), start_date=date(2026, 4, 1), end_date=date(2026, 5, 1)),
        engineer_load=15,
        overlapping=1,
        credit_listed=True,
        last_evaluation=date(2025, 12, 31),
    )
    assert everything_wrong == [
        "agency_not_approved",
        "credit_listed",
        "agency_district_not_served",
        "agency_industry_not_served",
        "engineer_at_capacity",
        "term_out_of_policy",
        "inspection_below_minimum",
        "term_overlaps",
        "conflict_of_interest",
    ]
    assert len(RULES) == len(everything_wrong) + 1  # engineer_not_registered excludes engineer_at_capacity


def test_engineer_below_capacity_passes():
    assert codes(engineer_load=14) == []


def test_all_broken_rules_are_reported_in_order():
    broken = codes(agency=agency("revoked"), overlapping=2, terms=Terms(**{**TERMS.__dict__, "engineer_name": "无名"}))
    assert broken == ["agency_not_approved", "engineer_not_registered", "term_overlaps"]


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        (date(2026, 1, 1), date(2026, 6, 30), True),  # exactly 6 months
        (date(2026, 1, 1), date(2026, 6, 29), False),  # a day short
        (date(2026, 1, 1), date(2028, 12, 31), True),  # exactly 36 months
        (date(2026, 1, 1), date(2029, 1, 1), False),  # a day over
        (date(2026, 8, 31), date(2027, 2, 27), True),  # month ends clamp
        (date(2026, 5, 1), date(2026, 5, 1), False),
    ],
)
def test_term_months_inclusive(start, end, ok):
    assert term_within_policy(start, end, POLICY) is ok


def test_add_months_clamps_to_month_end():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


def test_canonical_terms_are_order_and_format_independent():
    a = canonical_terms(
        enterprise_uscc="E",
        agency_id="A",
        engineer_name="张伟",
        start_date=date(2026, 4, 1),
        end_date=date(2027, 3, 31),
        fee_yuan="24000",
        services=[{"item": "safety_training", "times_per_year": 2}, {"item": "hazard_inspection", "times_per_year": 4}],
    )
    b = canonical_terms(
        enterprise_uscc="E",
        agency_id="A",
        engineer_name="张伟",
        start_date=date(2026, 4, 1),
        end_date=date(2027, 3, 31),
        fee_yuan="24000.00",
        services=[{"item": "hazard_inspection", "times_per_year": 4}, {"item": "safety_training", "times_per_year": 2}],
    )
    assert a == b
    assert sha256_hex(a) == sha256_hex(b)
    assert a["fee_yuan"] == "24000.00"
    assert [s["item"] for s in a["services"]] == [
        "hazard_inspection",
        "safety_training",
    ]
    c = {**a, "fee_yuan": "24000.01"}
    assert sha256_hex(c) != sha256_hex(a)
