"""The credit file (诚信档案, SPEC §3, §10 and §19): the arithmetic from the policy (pure), recording a
cause in the transaction of whatever caused it, a bureau's own records, and reading a file.

A file starts at ``policy.credit.start``; records apply in the order they happened, and after each
the score is clamped to ``[0, cap]`` — a bonus earned at the cap is not banked for later, and a score
never goes below zero (docs/DECISIONS.md). The grade follows the policy's thresholds. Every change
emits ``agency.credit_changed`` in the same transaction as its cause.

A bureau of the agency's district, or the city, records violations and commendations itself
(``add_credit_record``): the delta is the bureau's (a violation negative, a commendation positive,
``|delta| ≤ schemas.MAX_CREDIT_DELTA``), with its reason and, optionally, its document reference;
the record enters the same file through the same arithmetic, and the act is on the audit trail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog

from services.audit import events
from services.audit.models import BUREAU_CREDIT_KINDS, CreditKind, CreditRecord
from services.audit.repository.credit import CreditFiles
from services.audit.repository.readmodels import Agencies
from services.audit.schemas import CreditRecordCreate
from services.audit.states import RECORDS_CREDIT
from shared.errors import Conflict, ErrorCode, FieldError, Forbidden, NotFound, ValidationFailed
from shared.events.catalog import EventType
from shared.i18n import text
from shared.ids import new_id
from shared.policy import CreditRules
from shared.uow import UnitOfWork

log = structlog.get_logger("audit.credit")
FLOOR = 0


# --- the rules (pure) -----------------------------------------------------------------------------
def delta_of(kind: CreditKind | str, rules: CreditRules) -> int:
    """The policy's delta for one record of ``kind`` (named after it in the policy); a bureau's
    kinds have none (the bureau gives it)."""
    try:
        known = CreditKind(kind)
    except ValueError:
        raise ValueError(f"unknown credit kind {kind!r}") from None
    if known in BUREAU_CREDIT_KINDS:
        raise ValueError(f"a {known} record's delta is the bureau's, not the policy's")
    return int(getattr(rules, known.value))


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


async def record_credit(uow: UnitOfWork, *, agency_id: uuid.UUID, kind: CreditKind, ref: str) -> CreditRecord | None:
    """Add a record of ``kind`` caused by ``ref`` (a complaint, audit or hazard id, or
    ``contract:item#n`` for the n-th missed visit) in the caller's transaction; recompute the score;
    emit ``agency.credit_changed``. The record; None when the cause was already recorded (a cause
    is recorded once)."""
    return await _add(uow, agency_id=agency_id, kind=kind, delta=delta_of(kind, uow.policy.credit), ref=ref)


async def _add(
    uow: UnitOfWork,
    *,
    agency_id: uuid.UUID,
    kind: CreditKind,
    delta: int,
    ref: str | None,
    reason: str | None = None,
    recorded_by: str | None = None,
) -> CreditRecord | None:
    """One record into the agency's file (locked: records are numbered one after the other), the
    file's new standing, and its ``agency.credit_changed``; None if the cause is there already."""
    rules = uow.policy.credit
    record_id = new_id()
    async with uow:
        files = CreditFiles(uow.session)
        start = initial_score(rules)
        file = await files.locked(agency_id, score=start, grade=rules.grade_of(start), at=uow.now)
        version = file.version + 1
        if not await files.add_record(
            record_id=record_id,
            agency_id=agency_id,
            kind=kind,
            delta=delta,
            ref=ref,
            reason=reason,
            recorded_by=recorded_by,
            at=uow.now,
            version=version,
        ):
            return None
        now = standing([r.delta for r in await files.records(agency_id)], rules)
        file.score, file.grade, file.version, file.updated_at = now.score, now.grade, version, uow.now
        cause = f"{kind}:{record_id if kind in BUREAU_CREDIT_KINDS else ref}"
        await uow.emit(EventType.AGENCY_CREDIT_CHANGED, events.credit_changed(file, delta=delta, cause=cause))
        record = await files.record(record_id)
    log.info("audit.credit.changed", agency_id=str(agency_id), kind=str(kind), ref=ref, score=now.score)
    return record


async def add_credit_record(uow: UnitOfWork, *, agency_id: uuid.UUID, body: CreditRecordCreate) -> CreditRecord:
    """A bureau's violation or commendation (SPEC §19): the bureau of the agency's district, the
    city bureau or admin (403 otherwise; 404 for an unknown agency); the sign follows the kind
    (422); a document reference is recorded once per agency and kind (409). Into the file as any
    record, and on the audit trail."""
    principal = uow.principal
    if principal.role not in RECORDS_CREDIT:
        raise Forbidden(text("诚信记录由监管部门登记", "Credit records are entered by a bureau"))
    kind = CreditKind(body.kind)
    if (body.delta < 0) != (kind == CreditKind.VIOLATION) or body.delta == 0:
        raise ValidationFailed(
            code=ErrorCode.CREDIT_DELTA_SIGN,
            errors=[
                FieldError(
                    "delta",
                    text("违规须为负数", "a violation's delta must be negative")
                    if kind == CreditKind.VIOLATION
                    else text("表彰须为正数", "a commendation's delta must be positive"),
                )
            ],
        )
    async with uow:
        await Agencies(uow.session).get(agency_id, principal, write=True, lock=False)
        record = await _add(
            uow,
            agency_id=agency_id,
            kind=kind,
            delta=body.delta,
            ref=body.ref,
            reason=body.reason,
            recorded_by=principal.actor,
        )
        if record is None:
            raise Conflict(
                code=ErrorCode.CREDIT_RECORD_EXISTS,
                errors=[FieldError("ref", text("文号已登记", "reference already recorded"))],
            )
        file = await CreditFiles(uow.session).find(agency_id)
        assert file is not None  # the record was just added to it
        await uow.audit(
            action="credit.recorded",
            entity_type="credit_record",
            entity_id=record.id,
            payload={
                "agency_id": str(agency_id),
                "kind": str(kind),
                "delta": body.delta,
                "reason": body.reason,
                "ref": body.ref,
                "score": file.score,
                "grade": file.grade,
            },
        )
    return record


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
