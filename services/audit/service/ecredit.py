"""An enterprise's credit file (企业诚信档案, SPEC §19; docs/CREDIT.md §6, docs/DECISIONS.md D47).

The arithmetic is the agencies' (``credit.standing``: start, cap, floor and grades from the policy's
``credit``); the deltas are the policy's ``credit.enterprise``:

- a hazard the enterprise left past its deadline without rectifying it (the sweep marks it overdue
  while ``open``): −5, a major one −10 — not when it had rectified in time and the agency had not
  verified yet (that lateness is the agency's, D42);
- a hazard it rectified by the deadline, once the rectification is verified: +1 (a rejected
  rectification earns nothing);
- a visit it disputed, the dispute decided against its claim: −2 — ``record_dispute_upheld``, the one
  place the disputes feature calls.

Each cause is recorded once (kind and ref, per enterprise); each change emits
``enterprise.credit_changed`` in the transaction of its cause, which contracts reads (grade D: the
hazard-inspection frequency of the next higher risk level).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import structlog

from services.audit.models import Hazard, HazardLevel
from services.audit.models.ecredit import EnterpriseCreditKind, EnterpriseCreditRecord
from services.audit.repository.ecredit import EnterpriseCreditFiles
from services.audit.repository.readmodels import Enterprises
from services.audit.service.credit import initial_score, standing
from shared.events.catalog import EnterpriseCreditChanged, EventType
from shared.i18n import Text, text
from shared.ids import new_id
from shared.policy import EnterpriseCreditRules
from shared.uow import UnitOfWork

log = structlog.get_logger("audit.ecredit")


def _both(reason: Text) -> str:
    """A record's reason in both languages (it is stored once, read in either)."""
    return f"{reason.zh} / {reason.en}"


def delta_of(kind: EnterpriseCreditKind, rules: EnterpriseCreditRules) -> int:
    return int(getattr(rules, EnterpriseCreditKind(kind).value))


def overdue_kind(hazard: Hazard) -> EnterpriseCreditKind:
    return (
        EnterpriseCreditKind.MAJOR_HAZARD_OVERDUE
        if hazard.level == HazardLevel.MAJOR
        else EnterpriseCreditKind.HAZARD_OVERDUE
    )


@dataclass(frozen=True)
class EnterpriseCreditStanding:
    enterprise_id: str
    enterprise_uscc: str
    score: int
    grade: str
    version: int
    records: list[EnterpriseCreditRecord] = field(default_factory=list)


async def _add(
    uow: UnitOfWork,
    *,
    uscc: str,
    kind: EnterpriseCreditKind,
    ref: str,
    reason: str,
    hazard_id: uuid.UUID | None = None,
) -> EnterpriseCreditRecord | None:
    """One record into the enterprise's file (locked), its new standing and its
    ``enterprise.credit_changed``; None when the cause is there already."""
    rules = uow.policy.credit
    delta = delta_of(kind, rules.enterprise)
    record_id = new_id()
    async with uow:
        files = EnterpriseCreditFiles(uow.session)
        start = initial_score(rules)
        file = await files.locked(uscc, score=start, grade=rules.grade_of(start), at=uow.now)
        version, previous = file.version + 1, file.grade
        added = await files.add_record(
            record_id=record_id,
            uscc=uscc,
            kind=kind,
            delta=delta,
            ref=ref,
            hazard_id=hazard_id,
            reason=reason,
            at=uow.now,
            version=version,
        )
        if not added:
            return None
        records = await files.records(uscc)
        now = standing([r.delta for r in records], rules)
        file.score, file.grade, file.version, file.updated_at = now.score, now.grade, version, uow.now
        enterprise = await Enterprises(uow.session).find(uscc)
        await uow.emit(
            EventType.ENTERPRISE_CREDIT_CHANGED,
            EnterpriseCreditChanged(
                id=enterprise.id if enterprise is not None else uscc,
                version=version,
                uscc=uscc,
                score=now.score,
                grade=now.grade,
                previous_grade=previous,
                delta=delta,
                cause=f"{kind}:{ref}",
            ),
        )
        record = next(r for r in records if r.id == record_id)
    log.info("audit.ecredit.changed", uscc=uscc, kind=str(kind), ref=ref, score=now.score, grade=now.grade)
    return record


async def record_hazard_overdue(uow: UnitOfWork, hazard: Hazard) -> EnterpriseCreditRecord | None:
    """The sweep marked ``hazard`` overdue: the enterprise's record, when it had not rectified it."""
    if hazard.rectified_at is not None:
        return None  # rectified in time, awaiting the agency's verification: not the enterprise's lateness
    kind = overdue_kind(hazard)
    reason = text(
        f"隐患逾期未整改（{'重大' if kind == EnterpriseCreditKind.MAJOR_HAZARD_OVERDUE else '一般'}隐患，"
        f"整改期限 {hazard.deadline.isoformat()}）：{hazard.description}",
        f"hazard not rectified by its deadline {hazard.deadline.isoformat()} "
        f"({'major' if kind == EnterpriseCreditKind.MAJOR_HAZARD_OVERDUE else 'general'}): {hazard.description}",
    )
    return await _add(
        uow, uscc=hazard.enterprise_uscc, kind=kind, ref=str(hazard.id), reason=_both(reason), hazard_id=hazard.id
    )


async def record_rectified_on_time(uow: UnitOfWork, hazard: Hazard) -> EnterpriseCreditRecord | None:
    """``hazard``'s rectification, which came by the deadline, was verified: +1 for the enterprise."""
    reason = text(
        f"隐患按期整改并通过验收（整改期限 {hazard.deadline.isoformat()}）：{hazard.description}",
        f"hazard rectified by its deadline {hazard.deadline.isoformat()} and verified: {hazard.description}",
    )
    return await _add(
        uow,
        uscc=hazard.enterprise_uscc,
        kind=EnterpriseCreditKind.RECTIFIED_ON_TIME,
        ref=str(hazard.id),
        reason=_both(reason),
        hazard_id=hazard.id,
    )


async def record_dispute_upheld(
    uow: UnitOfWork, *, enterprise_uscc: str, dispute_id: uuid.UUID, service_log_id: uuid.UUID
) -> EnterpriseCreditRecord | None:
    """THE PLUG-IN POINT for disputed visits (SPEC §19 "disputed visit upheld against the
    enterprise's claim −2"): the disputes feature calls this, in its own unit of work, when a
    dispute of a visit is decided against the enterprise. Recorded once per dispute."""
    reason = text(
        f"对服务记录 {service_log_id} 的异议经核查不成立", f"its dispute of visit {service_log_id} was not upheld"
    )
    return await _add(
        uow,
        uscc=enterprise_uscc,
        kind=EnterpriseCreditKind.DISPUTE_UPHELD,
        ref=str(dispute_id),
        reason=_both(reason),
    )


async def enterprise_credit_file(uow: UnitOfWork, *, enterprise_id: uuid.UUID) -> EnterpriseCreditStanding:
    """The file of an enterprise audit knows (by its id); one without records stands at the start."""
    async with uow.read() as session:
        files = EnterpriseCreditFiles(session)
        enterprise = await files.enterprise(enterprise_id, uow.principal)
        file = await files.find(enterprise.uscc)
        if file is not None:
            records = await files.records(enterprise.uscc)
            return EnterpriseCreditStanding(
                enterprise.id, enterprise.uscc, file.score, file.grade, file.version, records
            )
    start = initial_score(uow.policy.credit)
    return EnterpriseCreditStanding(enterprise.id, enterprise.uscc, start, uow.policy.credit.grade_of(start), 0)
