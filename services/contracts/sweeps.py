"""Time-based transitions, as of a date: activation on ``start_date``, ``contract.expiring`` once
``expiring_notice_days`` before the end, expiry after ``end_date``.

Safe with several replicas: candidates are read without locks, then each one is re-read in its own
transaction with its row locked *and the condition repeated* (``FOR UPDATE`` on PostgreSQL waits
for a concurrent replica and re-evaluates the condition on the committed row; SQLite serialises
writers with ``BEGIN IMMEDIATE``), so each step happens once whichever replica gets there first.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Awaitable, Callable

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


async def _each(ctx: ServiceContext, condition: Any, step: Callable[[Any, Contract], Awaitable[None]],
                counts: dict[str, int], key: str) -> None:
    """Run ``step`` on every contract meeting ``condition``, each in its own transaction with the row
    locked and the condition repeated; a failing contract is logged and retried on the next sweep
    without stopping the others."""
    for contract_id in await _candidates(ctx, condition):
        try:
            async with ctx.db.transaction() as session:
                contract = await _locked(session, contract_id, condition)
                if contract is None:
                    continue  # another replica got there first
                await step(session, contract)
            counts[key] += 1
        except Exception as exc:  # noqa: BLE001 - one bad row must not stop the sweep
            counts["failed"] += 1
            log.warning("contracts.sweep.failed", step=key, contract_id=str(contract_id), error=str(exc))


async def sweep(ctx: ServiceContext, as_of: date) -> dict[str, Any]:
    counts = {"activated": 0, "expiring": 0, "expired": 0, "failed": 0}
    now = ctx.clock.now()

    async def activate(session: Any, contract: Contract) -> None:
        await transition(session, ctx.outbox, contract, "active", actor=ACTOR, at=now,
                         reason=f"开始日期 {contract.start_date} 已到 / start date reached")

    async def expire(session: Any, contract: Contract) -> None:
        contract.previous_status = None
        contract.end_reason = "期满 / term ended"
        await transition(session, ctx.outbox, contract, "expired", actor=ACTOR, at=now,
                         reason=f"协议于 {contract.end_date} 期满 / term ended on {contract.end_date}")

    async def notify(session: Any, contract: Contract) -> None:
        contract.expiring_notified_at = now
        contract.version += 1
        contract.updated_at = now
        await session.flush()
        days = (contract.end_date - as_of).days
        await emit(ctx.outbox, session, "contract.expiring", contract,
                   reason=f"协议将于 {contract.end_date} 到期（剩 {days} 天） / ends on {contract.end_date} ({days} days)")

    await _each(ctx, sa.and_(Contract.status == "filed", Contract.start_date <= as_of), activate, counts, "activated")
    # Ended contracts expire; a suspended one whose term ran out expires too (it cannot resume).
    await _each(ctx, sa.and_(Contract.status.in_(("active", "suspended")), Contract.end_date < as_of), expire, counts, "expired")
    notice = as_of + timedelta(days=ctx.policy.expiring_notice_days)
    await _each(ctx, sa.and_(Contract.status == "active", Contract.expiring_notified_at.is_(None),
                             Contract.end_date <= notice, Contract.end_date >= as_of), notify, counts, "expiring")

    if any(counts.values()):
        log.info("contracts.sweep.done", as_of=as_of.isoformat(), **counts)
    return counts
