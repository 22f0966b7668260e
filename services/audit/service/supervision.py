"""Major-hazard supervision (挂牌督办, SPEC §17): every major hazard opens a case ``reported`` in the
unit of work that records it; the bureau of the enterprise's district (or the city) acknowledges it
within ``major_hazard_ack_hours`` — a case still unacknowledged past ``ack_due_at`` is escalated to
the city once by sweep (``supervision.escalated``; it stays acknowledgeable) — lists it (挂牌: its
own deadline, measures and the person responsible) and closes it (销号) once the hazard is verified
(states.SUPERVISION)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import structlog

from services.audit import events
from services.audit.models import Hazard, HazardLevel, SupervisionCase
from services.audit.repository import Listing
from services.audit.repository.hazards import Hazards
from services.audit.repository.supervision import SupervisionCases
from services.audit.states import (
    ACKNOWLEDGE,
    CLOSE,
    ESCALATE,
    LIST,
    LISTS_SUPERVISION,
    SUPERVISION,
    HazardStatus,
    SupervisionStatus,
)
from shared.clock import as_utc
from shared.counts import Counts
from shared.errors import Conflict, ErrorCode, FieldError, Forbidden, ValidationFailed
from shared.events.catalog import EventType
from shared.http import Precondition
from shared.i18n import text
from shared.ids import new_id
from shared.pagination import PageParams
from shared.reference import checked_town
from shared.uow import UnitOfWork

log = structlog.get_logger("audit.supervision")


async def open_case(uow: UnitOfWork, *, hazard: Hazard) -> SupervisionCase | None:
    """The case of a major hazard just recorded, ``supervision.opened`` — inside the caller's unit
    of work (the one recording the hazard); None for a general hazard."""
    if hazard.level != HazardLevel.MAJOR:
        return None
    async with uow:
        opened = uow.now
        case = SupervisionCase(
            id=new_id(),
            hazard_id=hazard.id,
            contract_id=hazard.contract_id,
            agency_id=hazard.agency_id,
            enterprise_uscc=hazard.enterprise_uscc,
            district_code=hazard.district_code,
            status=SupervisionStatus.REPORTED,
            opened_at=opened,
            ack_due_at=opened + timedelta(hours=uow.policy.major_hazard_ack_hours),
        )
        await SupervisionCases(uow.session).add(case)
        await uow.emit(
            EventType.SUPERVISION_OPENED, await events.located(uow.session, events.supervision_changed(case))
        )
    log.info("audit.supervision.opened", case_id=str(case.id), hazard_id=str(hazard.id))
    return case


async def acknowledge_case(uow: UnitOfWork, *, case_id: uuid.UUID, if_match: Precondition) -> SupervisionCase:
    async with uow:
        case = await SupervisionCases(uow.session).get(case_id, uow.principal, write=True)
        SUPERVISION.authorize(ACKNOWLEDGE, uow.principal.role)  # 403 before 412 before 409
        if_match.check(case.version)
        step = SUPERVISION.step(ACKNOWLEDGE, case.status, uow.principal.role)
        case.status, case.acknowledged_by, case.acknowledged_at = step.target, uow.principal.actor, uow.now
        case.version += 1
        if step.emits:
            await uow.emit(step.emits, await events.located(uow.session, events.supervision_changed(case)))
    log.info("audit.supervision.acknowledged", case_id=str(case_id), escalated=case.escalated_at is not None)
    return case


async def list_case(
    uow: UnitOfWork,
    *,
    case_id: uuid.UUID,
    deadline: date,
    measures: str,
    responsible: str,
    if_match: Precondition,
) -> SupervisionCase:
    """挂牌: the bureau's own deadline (not in the past), measures and the person responsible."""
    async with uow:
        case = await SupervisionCases(uow.session).get(case_id, uow.principal, write=True)
        SUPERVISION.authorize(LIST, uow.principal.role)
        if_match.check(case.version)
        step = SUPERVISION.step(LIST, case.status, uow.principal.role)
        if deadline < uow.clock.today():
            raise ValidationFailed(
                code=ErrorCode.SUPERVISION_DEADLINE_PAST,
                errors=[FieldError("deadline", text("不能早于今天", "must not be in the past"))],
            )
        case.status, case.listed_by, case.listed_at = step.target, uow.principal.actor, uow.now
        case.deadline, case.measures, case.responsible = deadline, measures, responsible
        case.version += 1
        if step.emits:
            await uow.emit(step.emits, await events.located(uow.session, events.supervision_changed(case)))
    log.info("audit.supervision.listed", case_id=str(case_id))
    return case


async def close_case(uow: UnitOfWork, *, case_id: uuid.UUID, notes: str, if_match: Precondition) -> SupervisionCase:
    """销号: only once the hazard is verified (409 ``supervision_hazard_not_verified`` otherwise)."""
    async with uow:
        case = await SupervisionCases(uow.session).get(case_id, uow.principal, write=True)
        SUPERVISION.authorize(CLOSE, uow.principal.role)
        if_match.check(case.version)
        step = SUPERVISION.step(CLOSE, case.status, uow.principal.role)
        hazard = await Hazards(uow.session).find(case.hazard_id)
        if hazard is None or hazard.status != HazardStatus.VERIFIED:
            raise Conflict(
                code=ErrorCode.SUPERVISION_HAZARD_NOT_VERIFIED,
                extra={"hazard_id": str(case.hazard_id), "hazard_status": str(hazard.status) if hazard else None},
            )
        case.status, case.closed_by, case.closed_at, case.close_notes = (
            step.target,
            uow.principal.actor,
            uow.now,
            notes,
        )
        case.version += 1
        if step.emits:
            await uow.emit(step.emits, await events.located(uow.session, events.supervision_changed(case)))
    log.info("audit.supervision.closed", case_id=str(case_id))
    return case


async def get_case(uow: UnitOfWork, *, case_id: uuid.UUID) -> SupervisionCase:
    async with uow.read() as session:
        return await SupervisionCases(session).get(case_id, uow.principal)


async def list_cases(
    uow: UnitOfWork,
    *,
    status: SupervisionStatus | None,
    district: str | None,
    town: str | None = None,
    page: PageParams,
) -> Listing[SupervisionCase]:
    """The bureaus' list (a district bureau: its district; the city and admin: all)."""
    if uow.principal.role not in LISTS_SUPERVISION:
        raise Forbidden(text("督办案件列表仅供监管部门查看", "The list of supervision cases is for the bureaus"))
    async with uow.read() as session:
        return await SupervisionCases(session).listing(
            uow.principal, status=status, district=district, town=checked_town(district, town), page=page
        )


async def count_cases(
    uow: UnitOfWork,
    *,
    by: list[str],
    status: SupervisionStatus | None,
    district: str | None,
    town: str | None = None,
    overdue_ack: bool,
) -> Counts:
    """The bureaus' list counted (docs/PORTAL.md); ``overdue_ack``: the cases the sweep escalates —
    not acknowledged by ``ack_due_at``."""
    if uow.principal.role not in LISTS_SUPERVISION:
        raise Forbidden(text("督办案件列表仅供监管部门查看", "The list of supervision cases is for the bureaus"))
    unacknowledged = sorted(SUPERVISION.sources_of(ESCALATE)) if overdue_ack else None
    async with uow.read() as session:
        return await SupervisionCases(session).counts(
            uow.principal,
            by,
            as_of=uow.now,
            status=status,
            district=district,
            town=checked_town(district, town),
            overdue_ack=unacknowledged,
        )


async def escalate_unacknowledged(uow: UnitOfWork, *, as_of: datetime) -> int:
    """Cases not acknowledged by ``ack_due_at`` → ``supervision.escalated`` (to the city), once
    each: every case is re-read locked in its own transaction and ``escalated_at`` set, so replicas
    sweeping together, and later sweeps, escalate it once. ``escalated_at`` is ``as_of``."""
    sources = sorted(SUPERVISION.sources_of(ESCALATE))
    async with uow.read() as session:
        due = await SupervisionCases(session).unacknowledged_past_due(as_of, statuses=sources)
    escalated = 0
    for case_id in due:
        async with uow:
            case = await SupervisionCases(uow.session).find(case_id, lock=True)
            if (
                case is None
                or case.escalated_at is not None
                or as_utc(case.ack_due_at) >= as_of
                or not SUPERVISION.can(ESCALATE, case.status)
            ):
                continue  # acknowledged meanwhile, or another replica escalated it first
            step = SUPERVISION.step(ESCALATE, case.status, uow.principal.role)
            case.escalated_at = as_of
            case.version += 1
            if step.emits:
                await uow.emit(step.emits, await events.located(uow.session, events.supervision_changed(case)))
            escalated += 1
    if escalated:
        log.info("audit.supervision.escalated", cases=escalated)
    return escalated
