"""Credit arithmetic from the policy (SPEC §3, pure: no I/O).

A credit file starts at ``policy.credit.start``; records are applied in the order they happened,
and after each one the score is clamped to ``[0, cap]`` — a bonus earned at the cap is not banked
for later, and a score never goes below zero (docs/DECISIONS.md). The grade follows the policy's
thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from shared.policy import CreditRules

FLOOR = 0

KINDS = ("complaint_upheld", "audit_below_60", "audit_at_least_90", "missed_visit", "hazard_verified_late",
         "fraud_finding")


def delta_of(kind: str, rules: CreditRules) -> int:
    """The policy's delta for one record of ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"unknown credit kind {kind!r}")
    return int(getattr(rules, kind))


def audit_effects(total: float, fraud: bool, rules: CreditRules) -> list[tuple[str, int]]:
    """The credit records a completed audit produces: its score band and any fraud finding."""
    effects: list[tuple[str, int]] = []
    if total < 60:
        effects.append(("audit_below_60", rules.audit_below_60))
    elif total >= 90:
        effects.append(("audit_at_least_90", rules.audit_at_least_90))
    if fraud:
        effects.append(("fraud_finding", rules.fraud_finding))
    return effects


def score_of(deltas: Iterable[int], rules: CreditRules) -> int:
    score = min(rules.start, rules.cap)
    for delta in deltas:
        score = max(FLOOR, min(rules.cap, score + delta))
    return score


@dataclass(frozen=True)
class Standing:
    score: int
    grade: str


def standing(deltas: Iterable[int], rules: CreditRules) -> Standing:
    score = score_of(deltas, rules)
    return Standing(score, rules.grade_of(score))
