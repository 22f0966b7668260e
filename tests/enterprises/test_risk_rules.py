"""The risk rules (services/enterprises/risk.py, docs/RISK.md) as a table of cases, on the default
policy; plus the explanation each assessment carries."""

from __future__ import annotations

import pytest

from services.enterprises.risk import assess
from shared.policy import load_policy

RULES = load_policy().risk_rules

# industry, flags, major_hazard_source, employees, open major hazards → (risk_level, base_level, factor codes)
CASES = [
    # base level from the industry group
    ("hazardous_chemicals", [], False, 5, 0, "red", "red", ["industry"]),
    ("fireworks", [], False, 5, 0, "red", "red", ["industry"]),
    ("metallurgy", [], False, 5, 0, "orange", "orange", ["industry"]),
    ("construction", [], False, 5, 0, "orange", "orange", ["industry"]),
    ("machinery", [], False, 5, 0, "yellow", "yellow", ["industry"]),
    ("textiles", [], False, 5, 0, "yellow", "yellow", ["industry"]),
    ("commerce_trade", [], False, 5, 0, "blue", "blue", ["industry"]),
    ("other", [], False, 0, 0, "blue", "blue", ["industry"]),
    # a major hazard source makes it at least red
    ("commerce_trade", [], True, 5, 0, "red", "red", ["industry", "major_hazard_source"]),
    ("hazardous_chemicals", [], True, 5, 0, "red", "red", ["industry", "major_hazard_source"]),
    # a severe flag raises one step, however many severe flags
    ("commerce_trade", ["dust_explosion"], False, 5, 0, "yellow", "yellow", ["industry", "severe_hazard_flags"]),
    (
        "commerce_trade",
        ["dust_explosion", "metal_melting"],
        False,
        5,
        0,
        "yellow",
        "yellow",
        ["industry", "severe_hazard_flags"],
    ),
    ("machinery", ["ammonia_refrigeration"], False, 5, 0, "orange", "orange", ["industry", "severe_hazard_flags"]),
    # non-severe flags alone change nothing below the threshold
    ("machinery", ["confined_space", "special_equipment"], False, 5, 0, "yellow", "yellow", ["industry"]),
    # many flags (≥ 3) raise one step
    (
        "machinery",
        ["confined_space", "special_equipment", "hazardous_chemicals_use"],
        False,
        5,
        0,
        "orange",
        "orange",
        ["industry", "many_hazard_flags"],
    ),
    (
        "commerce_trade",
        ["dust_explosion", "confined_space", "special_equipment"],
        False,
        5,
        0,
        "orange",
        "orange",
        ["industry", "severe_hazard_flags", "many_hazard_flags"],
    ),
    # many employees (≥ 100) raise one step; 99 does not
    ("commerce_trade", [], False, 99, 0, "blue", "blue", ["industry"]),
    ("commerce_trade", [], False, 100, 0, "yellow", "yellow", ["industry", "many_employees"]),
    (
        "machinery",
        ["metal_melting"],
        False,
        150,
        0,
        "red",
        "red",
        ["industry", "severe_hazard_flags", "many_employees"],
    ),
    # capped at red
    (
        "metallurgy",
        ["dust_explosion", "confined_space", "metal_melting"],
        True,
        500,
        0,
        "red",
        "red",
        ["industry", "major_hazard_source", "severe_hazard_flags", "many_hazard_flags", "many_employees"],
    ),
    # open major hazards: one step each until verified, capped at red; the base level stays
    ("commerce_trade", [], False, 5, 1, "yellow", "blue", ["industry", "open_major_hazards"]),
    ("commerce_trade", [], False, 5, 2, "orange", "blue", ["industry", "open_major_hazards"]),
    ("machinery", [], False, 5, 1, "orange", "yellow", ["industry", "open_major_hazards"]),
    ("machinery", [], False, 5, 5, "red", "yellow", ["industry", "open_major_hazards"]),
    ("hazardous_chemicals", [], False, 5, 1, "red", "red", ["industry", "open_major_hazards"]),
]


@pytest.mark.parametrize(("industry", "flags", "mhs", "employees", "open_hazards", "level", "base", "codes"), CASES)
def test_risk_rule_table(industry, flags, mhs, employees, open_hazards, level, base, codes):
    result = assess(
        industry=industry,
        hazard_flags=flags,
        major_hazard_source=mhs,
        employees=employees,
        open_major_hazards=open_hazards,
        rules=RULES,
    )
    assert (result.risk_level.value, result.base_level.value) == (level, base)
    assert [f.code for f in result.factors] == codes
    assert result.factors[-1].level_after.value == level


def test_every_industry_has_a_group_in_the_default_policy():
    from shared.reference import Industry

    grouped = {*RULES.red_industries, *RULES.orange_industries, *RULES.yellow_industries, *RULES.blue_industries}
    assert grouped == {i.value for i in Industry}


def test_unknown_industry_in_a_published_policy_counts_as_yellow():
    rules = RULES.model_copy(update={"blue_industries": ["commerce_trade"]})  # "other" forgotten
    result = assess(
        industry="other", hazard_flags=[], major_hazard_source=False, employees=1, open_major_hazards=0, rules=rules
    )
    assert result.risk_level.value == "yellow"


def test_thresholds_come_from_the_policy():
    rules = RULES.model_copy(
        update={
            "employees_for_one_step": 20,
            "flags_for_one_step": 0,
            "open_major_hazard_steps": 2,
            "major_hazard_source_level": "orange",
        }
    )
    r = assess(
        industry="commerce_trade",
        hazard_flags=["confined_space"],
        major_hazard_source=True,
        employees=20,
        open_major_hazards=0,
        rules=rules,
    )
    assert r.risk_level.value == "red"
    assert [f.code for f in r.factors] == [
        "industry",
        "major_hazard_source",
        "many_employees",
    ]
    r = assess(
        industry="commerce_trade",
        hazard_flags=[],
        major_hazard_source=False,
        employees=1,
        open_major_hazards=1,
        rules=rules,
    )
    assert r.risk_level.value == "orange"
    assert r.factors[-1].effect == "raise:2"


def test_factors_explain_in_chinese_and_english():
    r = assess(
        industry="machinery",
        hazard_flags=["dust_explosion"],
        major_hazard_source=True,
        employees=120,
        open_major_hazards=1,
        rules=RULES,
    )
    effects = {f.code: f.effect for f in r.factors}
    assert effects == {
        "industry": "set:yellow",
        "major_hazard_source": "at_least:red",
        "severe_hazard_flags": "raise:1",
        "many_employees": "raise:1",
        "open_major_hazards": "raise:1",
    }
    severe = next(f for f in r.factors if f.code == "severe_hazard_flags")
    assert "粉尘涉爆" in severe.description.zh
    assert "dust explosion" in severe.description.en
