"""Service logs (服务记录): the agency records a visit to an active contract's enterprise, with the
hazards it found; the enterprise countersigns."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import IntegrityError

from shared.app import ServiceContext
from shared.auth import Principal
from shared.canonical import sha256_hex
from shared.errors import ErrorCode, Conflict, FieldError, InvalidTransition, ValidationFailed
from shared.i18n import text
from shared.ids import new_id
from shared.pagination import PageParams, keyset, page_of

from services.audit.models import Hazard, ServiceLog
from services.audit.schemas import ServiceLogCreate
from services.audit.service.common import Scope, agency_ids_of, contract, forbid, not_found

log = structlog.get_logger("audit.servicelogs")


def natural_key(body: ServiceLogCreate) -> str:
    return sha256_hex({"contract_id": str(body.contract_id), "visit_date": body.visit_date.isoformat(),
                       "engineer_name": body.engineer_name, "items": sorted(str(i) for i in body.items),
                       "summary": body.summary})


def log_event(entry: ServiceLog) -> dict[str, Any]:
    return {"id": str(entry.id), "version": entry.version, "contract_id": str(entry.contract_id),
            "agency_id": str(entry.agency_id), "enterprise_uscc": entry.enterprise_uscc,
            "visit_date": entry.visit_date.isoformat(), "items": list(entry.items),
            "confirmed": entry.status == "confirmed", "district_code": entry.district_code}


def hazard_event(h: Hazard) -> dict[str, Any]:
    return {"id": str(h.id), "version": h.version, "contract_id": str(h.contract_id), "agency_id": str(h.agency_id),
            "enterprise_uscc": h.enterprise_uscc, "district_code": h.district_code, "level": h.level,
            "status": h.status, "deadline": h.deadline.isoformat(), "verified_late": h.verified_late,
            "service_log_id": str(h.service_log_id)}


def _check_rules(ctx: ServiceContext, body: ServiceLogCreate, c: Any, today: date) -> None:
    errors: list[FieldError] = []
    code = None
    if body.visit_date > today:
        errors.append(FieldError("visit_date", text("走访日期不能晚于今天", "must not be in the future")))
        code = code or "visit_date_in_future"
    if not c.start_date <= body.visit_date <= c.end_date:
        errors.append(FieldError("visit_date", text("走访日期须在合同期限内", "must be within the contract term")))
        code = code or "visit_date_outside_term"
    contracted = {s["item"] for s in c.services}
    for i, item in enumerate(body.items):
        if str(item) not in contracted:
            errors.append(FieldError(f"items.{i}", text(f"合同未约定服务项目 {item}", f"{item} is not a service of the contract")))
            code = code or "item_not_in_contract"
    limits = ctx.policy.hazard_deadline_days
    for i, hazard in enumerate(body.hazards):
        days = getattr(limits, hazard.level)
        if not 0 < (hazard.deadline - body.visit_date).days <= days:  # (no date arithmetic that can overflow)
            errors.append(FieldError(f"hazards.{i}.deadline", text(
                f"整改期限须晚于走访日期且不超过 {days} 天", f"must be after the visit and within {days} days of it")))
            code = code or "hazard_deadline_out_of_policy"
    if errors:
        raise ValidationFailed(text("服务记录不符合规则", "The service log breaks a rule"), code=code, errors=errors)


async def record(ctx: ServiceContext, *, principal: Principal, body: ServiceLogCreate) -> tuple[ServiceLog, list[Hazard]]:
    principal.require_role("agency")
    now, today = ctx.clock.now(), ctx.clock.today()
    key = natural_key(body)
    try:
        async with ctx.db.transaction() as session:
            c = await contract(session, body.contract_id)
            if c.agency_id not in await agency_ids_of(session, principal.org_uscc):
                raise forbid("只有合同的受托机构可以填报服务记录", "Only the contract's agency may record its visits")
            if c.status != "active":
                raise ValidationFailed(text(f"合同状态为 {c.status}，不是履行中", f"The contract is {c.status}, not active"),
                                       code=ErrorCode.CONTRACT_NOT_ACTIVE,
                                       errors=[FieldError("contract_id", text("合同未在履行中", "contract not active"))])
            _check_rules(ctx, body, c, today)
            existing = (await session.execute(sa.select(ServiceLog.id).where(ServiceLog.natural_key == key))).scalar()
            if existing is not None:
                raise _duplicate(existing)
            entry = ServiceLog(id=new_id(), contract_id=c.id, agency_id=c.agency_id, enterprise_uscc=c.enterprise_uscc,
                               district_code=c.district_code, visit_date=body.visit_date, engineer_name=body.engineer_name,
                               items=[str(i) for i in body.items], summary=body.summary, natural_key=key,
                               status="recorded", recorded_by=principal.actor, recorded_at=now)
            session.add(entry)
            await session.flush()
            hazards = []
            for h in body.hazards:
                hazard = Hazard(id=new_id(), service_log_id=entry.id, contract_id=c.id, agency_id=c.agency_id,
                                enterprise_uscc=c.enterprise_uscc, district_code=c.district_code,
                                description=h.description, level=h.level, location=h.location, deadline=h.deadline,
                                status="open", created_at=now)
                session.add(hazard)
                hazards.append(hazard)
            await session.flush()
            await ctx.outbox.emit(session, "servicelog.recorded", log_event(entry))
            # Every hazard is reported at once (SPEC: a major one must be; enterprises escalate risk on it).
            for hazard in hazards:
                await ctx.outbox.emit(session, "hazard.reported", hazard_event(hazard))
    except IntegrityError as exc:  # a concurrent twin won the natural-key race
        async with ctx.db.reader() as session:
            existing = (await session.execute(sa.select(ServiceLog.id).where(ServiceLog.natural_key == key))).scalar()
        if existing is None:
            raise
        raise _duplicate(existing) from exc
    log.info("audit.servicelog.recorded", service_log_id=str(entry.id), hazards=len(hazards))
    return entry, hazards


def _duplicate(existing: uuid.UUID) -> Conflict:
    return Conflict(text("同一次走访已经记录过", "This visit is already recorded"), code=ErrorCode.DUPLICATE_SERVICE_LOG,
                    extra={"existing_id": str(existing)})


async def confirm(ctx: ServiceContext, *, principal: Principal, log_id: uuid.UUID, if_match: Any = None) -> tuple[ServiceLog, list[Hazard]]:
    principal.require_role("enterprise")
    async with ctx.db.transaction() as session:
        entry = (await session.execute(sa.select(ServiceLog).where(ServiceLog.id == log_id).with_for_update())).scalar_one_or_none()
        if entry is None:
            raise not_found("服务记录")
        if not principal.is_org(entry.enterprise_uscc):
            raise forbid("只有被服务企业可以确认服务记录", "Only the enterprise served may countersign the visit")
        if if_match:
            if_match(entry.version)
        if entry.status != "recorded":
            raise InvalidTransition(text(f"服务记录当前状态为 {entry.status}，不能执行 confirm", f"The service log is {entry.status}; cannot confirm"), current=entry.status, action="confirm")
        entry.status, entry.confirmed_by, entry.confirmed_at = "confirmed", principal.actor, ctx.clock.now()
        entry.version += 1
        await session.flush()
        await ctx.outbox.emit(session, "servicelog.confirmed", log_event(entry))
        hazards = await _hazards_of(session, [entry.id])
    return entry, hazards.get(entry.id, [])


async def _hazards_of(session: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Hazard]]:
    if not ids:
        return {}
    rows = (await session.execute(sa.select(Hazard).where(Hazard.service_log_id.in_(ids)).order_by(Hazard.id))).scalars()
    out: dict[uuid.UUID, list[Hazard]] = {}
    for h in rows:
        out.setdefault(h.service_log_id, []).append(h)
    return out


async def get(ctx: ServiceContext, *, principal: Principal, log_id: uuid.UUID) -> tuple[ServiceLog, list[Hazard]]:
    async with ctx.db.reader() as session:
        entry = (await session.execute(sa.select(ServiceLog).where(ServiceLog.id == log_id))).scalar_one_or_none()
        if entry is None:
            raise not_found("服务记录")
        scope = await Scope.of(session, principal)
        if not scope.sees(agency_id=entry.agency_id, enterprise_uscc=entry.enterprise_uscc, district_code=entry.district_code):
            raise forbid("无权查看该服务记录", "You may not see this service log")
        hazards = await _hazards_of(session, [entry.id])
    return entry, hazards.get(entry.id, [])


async def listing(ctx: ServiceContext, *, principal: Principal, contract_id: uuid.UUID | None, date_from: date | None,
                  date_to: date | None, page: PageParams) -> tuple[list[tuple[ServiceLog, list[Hazard]]], str | None]:
    async with ctx.db.reader() as session:
        scope = await Scope.of(session, principal)
        stmt = sa.select(ServiceLog).where(scope.condition(agency_col=ServiceLog.agency_id, uscc_col=ServiceLog.enterprise_uscc,
                                                           district_col=ServiceLog.district_code))
        if contract_id:
            stmt = stmt.where(ServiceLog.contract_id == contract_id)
        if date_from:
            stmt = stmt.where(ServiceLog.visit_date >= date_from)
        if date_to:
            stmt = stmt.where(ServiceLog.visit_date <= date_to)
        stmt = keyset(stmt, [ServiceLog.id], page, convert=[uuid.UUID])
        rows = (await session.execute(stmt)).scalars().all()
        items, cursor = page_of(rows, page, lambda r: [r.id])
        hazards = await _hazards_of(session, [r.id for r in items])
    return [(r, hazards.get(r.id, [])) for r in items], cursor
