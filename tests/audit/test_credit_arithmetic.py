"""The credit arithmetic against the policy table (SPEC §3), as pure functions."""

from __future__ import annotations

import pytest

from services.audit.service import credit
from shared.policy import load_policy

RULES = load_policy().credit


@pytest.mark.parametrize(
    ("kind", "delta"),
    [
        ("complaint_upheld", -10),
        ("audit_below_60", -15),
        ("audit_at_least_90", 5),
        ("missed_visit", -2),
        ("hazard_verified_late", -1),
        ("fraud_finding", -30),
    ],
)
def test_each_kind_takes_its_delta_from_the_policy(kind, delta):
    assert credit.delta_of(kind, RULES) == delta == getattr(RULES, kind)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        credit.delta_of("bribery", RULES)


@pytest.mark.parametrize(
    ("total", "fraud", "effects"),
    [
        (59.9, False, [("audit_below_60", -15)]),
        (60.0, False, []),
        (89.9, False, []),
        (90.0, False, [("audit_at_least_90", 5)]),
        (100.0, True, [("audit_at_least_90", 5), ("fraud_finding", -30)]),
        (10.0, True, [("audit_below_60", -15), ("fraud_finding", -30)]),
        (75.0, True, [("fraud_finding", -30)]),
    ],
)
def test_audit_effects_by_score_band_and_fraud(total, fraud, effects):
    assert credit.audit_effects(total, fraud, RULES) == effects


@pytest.mark.parametrize(
    ("deltas", "score", "grade"),
    [
        ([], 100, "A"),
        ([-10], 90, "A"),
        ([-10, -1], 89, "B"),
        ([-15, -10], 75, "B"),
        ([-15, -10, -1], 74, "C"),
        ([-30, -10], 60, "C"),
        ([-30, -10, -2], 58, "D"),
        ([+5], 100, "A"),  # capped at 100
        ([+5, -10], 90, "A"),  # a bonus earned at the cap is not banked
        ([-10, +5], 95, "A"),  # below the cap a bonus counts
        ([-2] * 10, 80, "B"),  # ten missed visits
        ([-30, -30, -30, -30], 0, "D"),  # floor at 0
        ([-30, -30, -30, -30, +5], 5, "D"),  # and recovers from the floor, not from a negative
    ],
)
def test_score_and_grade(deltas, score, grade):
    standing = credit.standing(deltas, RULES)
    assert (standing.score, standing.grade) == (score, grade)


@pytest.mark.parametrize(
    ("score", "grade"), [(100, "A"), (90, "A"), (89, "B"), (75, "B"), (74, "C"), (60, "C"), (59, "D"), (0, "D")]
)
def test_grade_thresholds(score, grade):
    assert RULES.grade_of(score) == grade
