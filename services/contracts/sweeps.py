"""Time-based transitions, as of a date: activation on ``start_date``, ``contract.expiring`` once
``expiring_notice_days`` before the end, expiry after ``end_date``.

Safe with several replicas: candidates are read without locks, then each one is re-read in its own
transaction with its row locked *and the condition repeated* (``FOR UPDATE`` on PostgreSQL waits
for a concurrent replica and re-evaluates the condition on the committed row; SQLite serialises
writers with ``BEGIN IMMEDIATE``), so each step happens once whichever replica gets there first.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
import structlog

from shared.app import ServiceContext

from services.contracts.events import emit
from services.contracts.models import Contract
from services.contracts.service import transition

log = structlog.get_logger("contracts.sweeps")
ACTOR = "system:sweep"


async def _candidates(ctx: ServiceContext, condition: Any) -> list[Any]:
    async with ctx.db.reader() as session:
        return list((await session.execute(sa.select(Contract.id).where(condition).order_by(Contract.id))).scalars().all())


async def _locked(session: Any, contract_id: Any, condition: Any) -> Contract | None:
    stmt = sa.select(Contract).where(Contract.id == contract_id, condition).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def sweep(ctx: ServiceContext, as_of: date) -> dict[str, Any]:
    counts = {"activated": 0, "expiring": 0, "expired": 0}
    now = ctx.clock.now()

    activate = sa.and_(Contract.status == "filed", Contract.start_date <= as_of)
    for contract_id in await _candidates(ctx, activate):
        async with ctx.db.transaction() as session:
            contract = await _locked(session, contract_id, activate)
            if contract is None:
                continue
            await transition(session, ctx.outbox, contract, "active", actor=ACTOR, at=now,
                             reason=f"开始日期 {contract.start_date} 已到 / start date reached")
            counts["activated"] += 1

    # Ended contracts expire; a suspended one whose term ran out expires too (it cannot resume).
    expire = sa.and_(Contract.status.in_(("active", "suspended")), Contract.end_date < as_of)
    for contract_id in await _candidates(ctx, expire):
        async with ctx.db.transaction() as session:
            contract = await _locked(session, contract_id, expire)
            if contract is None:
                continue
            contract.previous_status = None
            contract.end_reason = "期满 / term ended"
            await transition(session, ctx.outbox, contract, "expired", actor=ACTOR, at=now,
                             reason=f"协议于 {contract.end_date} 期满 / term ended on {contract.end_date}")
            counts["expired"] += 1

    notice = as_of + timedelta(days=ctx.policy.expiring_notice_days)
    expiring = sa.and_(Contract.status == "active", Contract.expiring_notified_at.is_(None),
                       Contract.end_date <= notice, Contract.end_date >= as_of)
    for contract_id in await _candidates(ctx, expiring):
        async with ctx.db.transaction() as session:
            contract = await _locked(session, contract_id, expiring)
            if contract is None:
                continue
            contract.expiring_notified_at = now
            contract.version += 1
            contract.updated_at = now
            await session.flush()
            days = (contract.end_date - as_of).days
            await emit(ctx.outbox, session, "contract.expiring", contract,
                       reason=f"协议将于 {contract.end_date} 到期（剩 {days} 天） / ends on {contract.end_date} ({days} days)")
            counts["expiring"] += 1

    if any(counts.values()):
        log.info("contracts.sweep.done", as_of=as_of.isoformat(), **counts)
    return counts
