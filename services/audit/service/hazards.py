"""The hazard rectification loop (整改闭环): open → rectified (enterprise) → verified (agency);
open|rectified → overdue by sweep after the deadline.

An overdue hazard can still be closed: the enterprise rectifies it (overdue → rectified) and the
agency verifies a rectified one; a hazard that went overdue while awaiting verification
(it carries ``rectified_at``) may be verified directly. A verification after the deadline is
``verified_late`` and costs the agency credit.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Callable

import sqlalchemy as sa
import structlog

from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import Forbidden, InvalidTransition
from shared.i18n import text
from shared.pagination import PageParams, keyset, page_of

from services.audit.models import Hazard
from services.audit.service import credit
from services.audit.service.common import Scope, agency_ids_of, forbid, not_found
from services.audit.service.servicelogs import hazard_event

log = structlog.get_logger("audit.hazards")


async def _locked(session: Any, hazard_id: uuid.UUID) -> Hazard:
    hazard = (await session.execute(sa.select(Hazard).where(Hazard.id == hazard_id).with_for_update())).scalar_one_or_none()
    if hazard is None:
        raise not_found("隐患")
    return hazard


async def rectify(ctx: ServiceContext, *, principal: Principal, hazard_id: uuid.UUID, note: str,
                  if_match: Callable[[int], None] | None = None) -> Hazard:
    principal.require_role("enterprise")
    async with ctx.db.transaction() as session:
        hazard = await _locked(session, hazard_id)
        if not principal.is_org(hazard.enterprise_uscc):
            raise forbid("只有隐患所在企业可以提交整改", "Only the enterprise concerned may rectify the hazard")
        if if_match:
            if_match(hazard.version)
        if hazard.status not in ("open", "overdue"):
            raise InvalidTransition(text(f"隐患当前状态为 {hazard.status}，不能执行 rectify", f"The hazard is {hazard.status}; cannot rectify"), current=hazard.status, action="rectify")
        hazard.status, hazard.rectify_note = "rectified", note
        hazard.rectified_by, hazard.rectified_at = principal.actor, ctx.clock.now()
        hazard.version += 1
        await session.flush()
        await ctx.outbox.emit(session, "hazard.rectified", hazard_event(hazard))
    log.info("audit.hazard.rectified", hazard_id=str(hazard_id))
    return hazard


async def verify(ctx: ServiceContext, *, principal: Principal, hazard_id: uuid.UUID, note: str | None = None,
                 if_match: Callable[[int], None] | None = None) -> Hazard:
    principal.require_role("agency")
    now, today = ctx.clock.now(), ctx.clock.today()
    async with ctx.db.transaction() as session:
        hazard = await _locked(session, hazard_id)
        if hazard.agency_id not in await agency_ids_of(session, principal.org_uscc):
            raise forbid("只有合同的受托机构可以验收整改", "Only the contract's agency may verify the rectification")
        if if_match:
            if_match(hazard.version)
        awaiting = hazard.status == "rectified" or (hazard.status == "overdue" and hazard.rectified_at is not None)
        if not awaiting:
            raise InvalidTransition(text(f"隐患当前状态为 {hazard.status}，不能执行 verify", f"The hazard is {hazard.status}; cannot verify"), current=hazard.status, action="verify")
        hazard.status, hazard.verified_by, hazard.verified_at, hazard.verify_note = "verified", principal.actor, now, note
        hazard.verified_late = today > hazard.deadline
        hazard.version += 1
        await session.flush()
        await ctx.outbox.emit(session, "hazard.verified", hazard_event(hazard))
        if hazard.verified_late:
            await credit.record(session, ctx, agency_id=hazard.agency_id, kind="hazard_verified_late",
                                ref=str(hazard.id), at=now)
    log.info("audit.hazard.verified", hazard_id=str(hazard_id), late=hazard.verified_late)
    return hazard


async def get(ctx: ServiceContext, *, principal: Principal, hazard_id: uuid.UUID) -> Hazard:
    async with ctx.db.reader() as session:
        hazard = (await session.execute(sa.select(Hazard).where(Hazard.id == hazard_id))).scalar_one_or_none()
        if hazard is None:
            raise not_found("隐患")
        scope = await Scope.of(session, principal)
        if not scope.sees(agency_id=hazard.agency_id, enterprise_uscc=hazard.enterprise_uscc, district_code=hazard.district_code):
            raise forbid("无权查看该隐患", "You may not see this hazard")
    return hazard


async def listing(ctx: ServiceContext, *, principal: Principal, status: str | None, level: str | None,
                  district: str | None, contract_id: uuid.UUID | None, page: PageParams) -> tuple[list[Hazard], str | None]:
    if district and principal.is_bureau and not principal.governs(district):
        raise Forbidden(text("无权查看其他区县的隐患", "You may not see another district's hazards"))
    async with ctx.db.reader() as session:
        scope = await Scope.of(session, principal)
        stmt = sa.select(Hazard).where(scope.condition(agency_col=Hazard.agency_id, uscc_col=Hazard.enterprise_uscc,
                                                       district_col=Hazard.district_code))
        if status:
            stmt = stmt.where(Hazard.status == status)
        if level:
            stmt = stmt.where(Hazard.level == level)
        if district:
            stmt = stmt.where(Hazard.district_code == district)
        if contract_id:
            stmt = stmt.where(Hazard.contract_id == contract_id)
        stmt = keyset(stmt, [Hazard.id], page, convert=[uuid.UUID])
        rows = (await session.execute(stmt)).scalars().all()
    return page_of(rows, page, lambda r: [r.id])


async def sweep_overdue(ctx: ServiceContext, as_of: date) -> int:
    """open|rectified past the deadline → overdue; each hazard.overdue emitted once (conditional
    update, so two replicas sweeping together do it once)."""
    async with ctx.db.reader() as session:
        ids = (await session.execute(sa.select(Hazard.id).where(Hazard.status.in_(("open", "rectified")),
                                                                Hazard.deadline < as_of))).scalars().all()
    done = 0
    for hazard_id in ids:
        async with ctx.db.transaction() as session:
            result = await session.execute(
                sa.update(Hazard).where(Hazard.id == hazard_id, Hazard.status.in_(("open", "rectified")), Hazard.deadline < as_of)
                .values(status="overdue", overdue_at=ctx.clock.now(), version=Hazard.version + 1))
            if result.rowcount != 1:
                continue
            hazard = (await session.execute(sa.select(Hazard).where(Hazard.id == hazard_id))).scalar_one()
            await ctx.outbox.emit(session, "hazard.overdue", hazard_event(hazard))
            done += 1
    return done


