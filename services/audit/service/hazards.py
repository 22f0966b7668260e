"""The hazard rectification loop (整改闭环): open → rectified (the enterprise) → verified (the
agency), or back to open when the agency rejects the rectification; open|rectified → overdue by
sweep once the deadline has passed (states.HAZARD).

An overdue hazard can still be closed: the enterprise rectifies it, and the agency verifies (or
rejects) one that went overdue while awaiting verification (it carries ``rectified_at``). The
district's bureau (or the city) verifies a major hazard after its own inspection, rectified or not.
A verification after the deadline is ``verified_late``; it costs the agency credit only when the
agency was the late one: it verified, and the enterprise had rectified in time (D42). The
enterprise's credit file (``service.ecredit``) loses points when the sweep finds a hazard it never
rectified overdue, and gains one when a rectification it made in time is verified.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date

import structlog

from services.audit import events
from services.audit.models import CreditKind, Hazard, HazardLevel
from services.audit.models.attachments import AttachmentRecord
from services.audit.repository import Listing, every_row
from services.audit.repository.hazards import Hazards
from services.audit.service import ecredit
from services.audit.service.attachments import name_attachments
from services.audit.service.credit import record_credit
from services.audit.states import HAZARD, MARK_OVERDUE, RECTIFY, REJECT_RECTIFICATION, VERIFY, HazardStatus
from shared.clock import as_utc
from shared.errors import ErrorCode, FieldError, Forbidden, ValidationFailed
from shared.http import Precondition
from shared.i18n import text
from shared.pagination import PageParams
from shared.reference import checked_town
from shared.roles import Role
from shared.uow import UnitOfWork

log = structlog.get_logger("audit.hazards")


async def rectify_hazard(
    uow: UnitOfWork,
    *,
    hazard_id: uuid.UUID,
    note: str,
    if_match: Precondition,
    attachments: Sequence[uuid.UUID] = (),
) -> Hazard:
    """A major hazard's rectification needs evidence (SPEC §16): at least one of the enterprise's
    own attachments (422 ``evidence_required``)."""
    async with uow:
        hazard = await Hazards(uow.session).get(hazard_id, uow.principal, write=True)
        HAZARD.authorize(RECTIFY, uow.principal.role)  # 403 before 412 before 409
        if_match.check(hazard.version)
        step = HAZARD.step(RECTIFY, hazard.status, uow.principal.role)
        if hazard.level == HazardLevel.MAJOR and not attachments:
            raise evidence_required()
        await name_attachments(uow, AttachmentRecord.HAZARD, hazard.id, [("attachments", attachments)])
        hazard.status, hazard.rectify_note = step.target, note
        hazard.rectify_attachments = [str(a) for a in attachments]
        hazard.rectified_by, hazard.rectified_at = uow.principal.actor, uow.now
        hazard.version += 1
        await Hazards(uow.session).add_step(hazard, action=str(RECTIFY), at=uow.now)
        if step.emits:
            await uow.emit(step.emits, await events.located(uow.session, events.hazard_changed(hazard)))
    log.info("audit.hazard.rectified", hazard_id=str(hazard_id))
    return hazard


async def verify_hazard(uow: UnitOfWork, *, hazard_id: uuid.UUID, note: str | None, if_match: Precondition) -> Hazard:
    async with uow:
        hazard = await Hazards(uow.session).get(hazard_id, uow.principal, write=True)
        HAZARD.authorize(VERIFY, uow.principal.role)  # 403 before 412 before 409
        if_match.check(hazard.version)
        by_bureau = uow.principal.role == Role.BUREAU
        if by_bureau and hazard.level != HazardLevel.MAJOR:
            raise Forbidden(
                text("监管部门只能验收重大隐患", "A bureau may verify only a major hazard"),
            )
        if hazard.rectified_at is None and not by_bureau:
            # open, or overdue and never rectified: there is nothing for the agency to verify yet (409)
            raise HAZARD.refusal(VERIFY, hazard.status)
        step = HAZARD.step(VERIFY, hazard.status, uow.principal.role)
        hazard.status, hazard.verified_by, hazard.verified_at, hazard.verify_note = (
            step.target,
            uow.principal.actor,
            uow.now,
            note,
        )
        hazard.verified_late = uow.clock.today() > hazard.deadline
        hazard.version += 1
        await Hazards(uow.session).add_step(hazard, action=str(VERIFY), at=uow.now)
        if step.emits:
            await uow.emit(step.emits, await events.located(uow.session, events.hazard_changed(hazard)))
        if hazard.verified_late and not by_bureau and rectified_in_time(hazard):
            await record_credit(
                uow, agency_id=hazard.agency_id, kind=CreditKind.HAZARD_VERIFIED_LATE, ref=str(hazard.id)
            )
        if rectified_in_time(hazard):  # the enterprise's file: +1 (SPEC §19)
            await ecredit.record_rectified_on_time(uow, hazard)
    log.info("audit.hazard.verified", hazard_id=str(hazard_id), late=hazard.verified_late)
    return hazard


def evidence_required() -> ValidationFailed:
    return ValidationFailed(
        text("重大隐患的整改须附证据（照片或 PDF）", "A major hazard's rectification needs evidence (a photo or PDF)"),
        code=ErrorCode.EVIDENCE_REQUIRED,
        errors=[FieldError("attachments", text("至少附一份证据", "at least one attachment"))],
    )


def rectified_in_time(hazard: Hazard) -> bool:
    """The enterprise's (last) rectification came by the deadline day (a UTC date, as the sweep's)."""
    rectified_at = as_utc(hazard.rectified_at)
    return rectified_at is not None and rectified_at.date() <= hazard.deadline


async def reject_rectification(uow: UnitOfWork, *, hazard_id: uuid.UUID, reason: str, if_match: Precondition) -> Hazard:
    """The agency finds the rectification wanting: back to ``open`` for the enterprise, the reason
    kept (the last rejection's), the rectification cleared. The deadline stands: the sweep marks it
    overdue again once that has passed."""
    async with uow:
        hazard = await Hazards(uow.session).get(hazard_id, uow.principal, write=True)
        HAZARD.authorize(REJECT_RECTIFICATION, uow.principal.role)  # 403 before 412 before 409
        if_match.check(hazard.version)
        step = HAZARD.step(REJECT_RECTIFICATION, hazard.status, uow.principal.role)
        if hazard.rectified_at is None:  # overdue and never rectified: there is nothing to reject
            raise HAZARD.refusal(REJECT_RECTIFICATION, hazard.status)
        hazard.status = step.target
        hazard.rejection_reason, hazard.rejected_by, hazard.rejected_at = reason, uow.principal.actor, uow.now
        hazard.rectified_at = hazard.rectified_by = hazard.rectify_note = None
        hazard.rectify_attachments = []  # the rejected evidence stays readable to the hazard's readers
        hazard.version += 1
        await Hazards(uow.session).add_step(hazard, action=str(REJECT_RECTIFICATION), at=uow.now)
        if step.emits:
            await uow.emit(step.emits, await events.located(uow.session, events.hazard_changed(hazard)))
    log.info("audit.hazard.rectification_rejected", hazard_id=str(hazard_id))
    return hazard


async def get_hazard(uow: UnitOfWork, *, hazard_id: uuid.UUID) -> Hazard:
    async with uow.read() as session:
        return await Hazards(session).get(hazard_id, uow.principal)


async def list_hazards(
    uow: UnitOfWork,
    *,
    status: HazardStatus | None,
    level: HazardLevel | None,
    district: str | None,
    town: str | None = None,
    contract_id: uuid.UUID | None,
    page: PageParams,
) -> Listing[Hazard]:
    town = checked_town(district, town)
    async with uow.read() as session:
        return await Hazards(session).listing(
            uow.principal, status=status, level=level, district=district, town=town, contract_id=contract_id, page=page
        )


async def export_hazards(
    uow: UnitOfWork,
    *,
    status: HazardStatus | None,
    level: HazardLevel | None,
    district: str | None,
    town: str | None = None,
    contract_id: uuid.UUID | None,
) -> AsyncIterator[Hazard]:
    """Every hazard of the listing the caller may see (SPEC §12: the bureau exports them)."""
    return await every_row(
        lambda page: list_hazards(
            uow, status=status, level=level, district=district, town=town, contract_id=contract_id, page=page
        )
    )


async def mark_overdue_hazards(uow: UnitOfWork, *, as_of: date) -> int:
    """Hazards past their deadline → overdue, each ``hazard.overdue`` emitted once: every hazard is
    re-read locked in its own transaction, so replicas sweeping together mark it once."""
    async with uow.read() as session:
        due = await Hazards(session).past_deadline(as_of, statuses=HAZARD.sources_of(MARK_OVERDUE))
    marked = 0
    for hazard_id in due:
        async with uow:
            hazard = await Hazards(uow.session).find(hazard_id, lock=True)
            if hazard is None or hazard.deadline >= as_of or not HAZARD.can(MARK_OVERDUE, hazard.status):
                continue  # another replica marked it first
            step = HAZARD.step(MARK_OVERDUE, hazard.status, uow.principal.role)
            hazard.status, hazard.overdue_at = step.target, uow.now
            hazard.version += 1
            await Hazards(uow.session).add_step(hazard, action=str(MARK_OVERDUE), at=uow.now)
            if step.emits:
                await uow.emit(step.emits, await events.located(uow.session, events.hazard_changed(hazard)))
            await ecredit.record_hazard_overdue(uow, hazard)  # the enterprise's file (SPEC §19)
            marked += 1
    return marked
