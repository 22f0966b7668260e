"""The credit file (诚信档案, SPEC §3 and §10): the arithmetic from the policy (pure), recording a
cause in the transaction of whatever caused it, and reading a file.

A file starts at ``policy.credit.start``; records apply in the order they happened, and after each
the score is clamped to ``[0, cap]`` — a bonus earned at the cap is not banked for later, and a score
never goes below zero (docs/DECISIONS.md). The grade follows the policy's thresholds. Every change
emits ``agency.credit_changed`` in the same transaction as its cause.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog

from services.audit import events
from services.audit.models import CreditKind, CreditRecord
from services.audit.repository.credit import CreditFiles
from services.audit.repository.readmodels import Agencies
from shared.errors import NotFound
from shared.events.catalog import EventType
from shared.i18n import text
from shared.ids import new_id
from shared.policy import CreditRules
from shared.uow import UnitOfWork

log = structlog.get_logger("audit.credit")
FLOOR = 0


# --- the rules (pure) -----------------------------------------------------------------------------
def delta_of(kind: CreditKind | str, rules: CreditRules) -> int:
    """The policy's delta for one record of ``kind`` (named after it in the policy)."""
    try:
        return int(getattr(rules, CreditKind(kind).value))
    except ValueError:
        raise ValueError(f"unknown credit kind {kind!r}") from None


def audit_effects(total: float, fraud: bool, rules: CreditRules) -> list[tuple[CreditKind, int]]:
    """The credit records a completed audit produces: its score band and any fraud finding."""
    effects: list[tuple[CreditKind, int]] = []
    if total < 60:
        effects.append((CreditKind.AUDIT_BELOW_60, rules.audit_below_60))
    elif total >= 90:
        effects.append((CreditKind.AUDIT_AT_LEAST_90, rules.audit_at_least_90))
    if fraud:
        effects.append((CreditKind.FRAUD_FINDING, rules.fraud_finding))
    return effects


def initial_score(rules: CreditRules) -> int:
    return min(rules.start, rules.cap)


def score_of(deltas: Iterable[int], rules: CreditRules) -> int:
    score = initial_score(rules)
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


# --- use cases ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CreditStanding:
    """An agency's credit file as it is read: its standing and the records behind it."""

    agency_id: uuid.UUID
    score: int
    grade: str
    version: int
    records: list[CreditRecord] = field(default_factory=list)


async def record_credit(uow: UnitOfWork, *, agency_id: uuid.UUID, kind: CreditKind, ref: str) -> bool:
    """Add a record of ``kind`` caused by ``ref`` (a complaint, audit or hazard id, or
    ``contract:item#n`` for the n-th missed visit) in the caller's transaction; recompute the score;
    emit ``agency.credit_changed``. A cause already recorded is not recorded twice (False)."""
    rules = uow.policy.credit
    delta = delta_of(kind, rules)
    async with uow:
        files = CreditFiles(uow.session)
        start = initial_score(rules)
        file = await files.locked(agency_id, score=start, grade=rules.grade_of(start), at=uow.now)
        version = file.version + 1
        if not await files.add_record(
            record_id=new_id(), agency_id=agency_id, kind=kind, delta=delta, ref=ref, at=uow.now, version=version
        ):
            return False
        now = standing([r.delta for r in await files.records(agency_id)], rules)
        file.score, file.grade, file.version, file.updated_at = now.score, now.grade, version, uow.now
        await uow.emit(EventType.AGENCY_CREDIT_CHANGED, events.credit_changed(file, delta=delta, cause=f"{kind}:{ref}"))
    log.info("audit.credit.changed", agency_id=str(agency_id), kind=str(kind), ref=ref, score=now.score)
    return True


async def credit_file(uow: UnitOfWork, *, agency_id: uuid.UUID) -> CreditStanding:
    """The file; an agency known here without one yet stands at the policy's start."""
    async with uow.read() as session:
        files = CreditFiles(session)
        file = await files.get_if_any(agency_id, uow.principal)
        if file is not None:
            return CreditStanding(agency_id, file.score, file.grade, file.version, await files.records(agency_id))
        if await Agencies(session).find(agency_id) is None:
            raise NotFound(text("机构不存在", "Agency not found"))
    start = initial_score(uow.policy.credit)
    return CreditStanding(agency_id, start, uow.policy.credit.grade_of(start), 0)
