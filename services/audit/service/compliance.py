"""Compliance: required against recorded visits per service item of a contract; missed visits
counted by sweep (``visit.missed``, credit −2 each).

``required_so_far = floor(times_per_year × elapsed days / term days)`` where the term counts both
its first and last day and elapsed days run from the start date to ``as_of`` inclusive (capped at
the term). ``recorded`` counts the contract's service logs that include the item and fall within
the term (confirmed or not: the agency's record counts; the countersignature is evidence).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
import structlog

from shared.app import ServiceContext
from shared.auth import Principal
from shared.db import insert_ignore

from services.audit.models import ContractView, MissedVisitTally, ServiceLog
from services.audit.service import credit
from services.audit.service.common import Scope, forbid, not_found

log = structlog.get_logger("audit.compliance")


def required_so_far(times_per_year: int, start: date, end: date, as_of: date) -> int:
    term = (end - start).days + 1
    if term <= 0 or as_of < start:
        return 0
    elapsed = min((as_of - start).days + 1, term)
    return (times_per_year * elapsed) // term


async def _recorded(session: Any, c: ContractView) -> dict[str, int]:
    rows = (await session.execute(sa.select(ServiceLog.items).where(
        ServiceLog.contract_id == c.id, ServiceLog.visit_date >= c.start_date, ServiceLog.visit_date <= c.end_date))).scalars()
    counts: dict[str, int] = {}
    for items in rows:
        for item in set(items or []):
            counts[item] = counts.get(item, 0) + 1
    return counts


async def report(ctx: ServiceContext, *, principal: Principal, contract_id: uuid.UUID) -> dict[str, Any]:
    as_of = ctx.clock.today()
    async with ctx.db.reader() as session:
        c = (await session.execute(sa.select(ContractView).where(ContractView.id == contract_id))).scalar_one_or_none()
        if c is None:
            raise not_found("合同")
        scope = await Scope.of(session, principal)
        if not scope.sees(agency_id=c.agency_id, enterprise_uscc=c.enterprise_uscc, district_code=c.district_code):
            raise forbid("无权查看该合同的履约情况", "You may not see this contract's compliance")
        recorded = await _recorded(session, c)
        tallies = {t.item: t.missed for t in (await session.execute(
            sa.select(MissedVisitTally).where(MissedVisitTally.contract_id == c.id))).scalars()}
    items = [{"item": s["item"], "times_per_year": s["times_per_year"],
              "required_so_far": required_so_far(s["times_per_year"], c.start_date, c.end_date, as_of),
              "recorded": recorded.get(s["item"], 0), "missed": tallies.get(s["item"], 0)} for s in c.services]
    return {"contract_id": c.id, "agency_id": c.agency_id, "status": c.status, "as_of": as_of,
            "start_date": c.start_date, "end_date": c.end_date, "items": items}


async def sweep_missed(ctx: ServiceContext, as_of: date) -> int:
    """For each active contract and item, count the visits missed so far; for each newly missed
    visit emit one ``visit.missed`` (``missed`` = that item's count including it, also its
    ``version``) and add one credit record. A conditional update on the tally makes two sweeping
    replicas count it once."""
    async with ctx.db.reader() as session:
        contracts = (await session.execute(sa.select(ContractView).where(ContractView.status == "active"))).scalars().all()
    newly = 0
    for c in contracts:
        async with ctx.db.reader() as session:
            recorded = await _recorded(session, c)
        for service in c.services:
            item = service["item"]
            missed_now = max(0, required_so_far(service["times_per_year"], c.start_date, c.end_date, as_of)
                             - recorded.get(item, 0))
            if missed_now == 0:
                continue
            async with ctx.db.transaction() as session:
                await insert_ignore(session, MissedVisitTally.__table__,
                                    {"contract_id": c.id, "item": item, "missed": 0, "updated_at": ctx.clock.now()})
                counted = (await session.execute(sa.select(MissedVisitTally.missed).where(
                    MissedVisitTally.contract_id == c.id, MissedVisitTally.item == item))).scalar_one()
                if missed_now <= counted:
                    continue
                result = await session.execute(sa.update(MissedVisitTally).where(
                    MissedVisitTally.contract_id == c.id, MissedVisitTally.item == item, MissedVisitTally.missed == counted)
                    .values(missed=missed_now, updated_at=ctx.clock.now()))
                if result.rowcount != 1:
                    continue  # another replica counted it
                for n in range(counted + 1, missed_now + 1):
                    await ctx.outbox.emit(session, "visit.missed", {
                        "id": str(c.id), "version": n, "contract_id": str(c.id), "agency_id": str(c.agency_id),
                        "item": item, "missed": n, "as_of": as_of.isoformat(), "district_code": c.district_code,
                        "enterprise_uscc": c.enterprise_uscc})
                    await credit.record(session, ctx, agency_id=c.agency_id, kind="missed_visit",
                                        ref=f"{c.id}:{item}#{n}", at=ctx.clock.now())
                newly += missed_now - counted
    return newly
