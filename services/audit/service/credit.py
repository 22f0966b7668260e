"""The credit file (诚信档案): records traceable to their causes, the score and grade from the
policy, and ``agency.credit_changed`` in the same transaction as the cause."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shared.app import ServiceContext
from shared.db import insert_ignore
from shared.ids import new_id

from services.audit import credit as arithmetic
from services.audit.models import AgencyView, CreditFile, CreditRecord
from services.audit.service.common import not_found

log = structlog.get_logger("audit.credit")


async def record(session: AsyncSession, ctx: ServiceContext, *, agency_id: uuid.UUID, kind: str, ref: str,
                 at: datetime) -> bool:
    """Add a record of ``kind`` caused by ``ref`` (a complaint, audit or hazard id, or
    ``contract:item#n`` for the n-th missed visit); recompute the score; emit
    ``agency.credit_changed``. A record already present for the same cause is not added twice."""
    rules = ctx.policy.credit
    delta = arithmetic.delta_of(kind, rules)
    await insert_ignore(session, CreditFile.__table__, {
        "agency_id": agency_id, "score": min(rules.start, rules.cap), "grade": rules.grade_of(min(rules.start, rules.cap)),
        "version": 0, "updated_at": at})
    file = (await session.execute(sa.select(CreditFile).where(CreditFile.agency_id == agency_id).with_for_update())).scalar_one()
    version = file.version + 1
    inserted = await insert_ignore(session, CreditRecord.__table__, {
        "id": new_id(), "agency_id": agency_id, "kind": kind, "delta": delta, "ref": ref, "at": at,
        "version": version})
    if not inserted:
        return False
    deltas = (await session.execute(sa.select(CreditRecord.delta).where(CreditRecord.agency_id == agency_id)
                                    .order_by(CreditRecord.seq))).scalars().all()
    standing = arithmetic.standing(deltas, rules)
    file.score, file.grade, file.version, file.updated_at = standing.score, standing.grade, version, at
    await session.flush()
    await ctx.outbox.emit(session, "agency.credit_changed", {
        "id": str(agency_id), "version": version, "score": standing.score, "grade": standing.grade,
        "delta": delta, "cause": f"{kind}:{ref}"})
    log.info("audit.credit.changed", agency_id=str(agency_id), kind=kind, ref=ref, score=standing.score)
    return True


async def credit_file(session: AsyncSession, ctx: ServiceContext, agency_id: uuid.UUID) -> dict:
    rules = ctx.policy.credit
    file = (await session.execute(sa.select(CreditFile).where(CreditFile.agency_id == agency_id))).scalar_one_or_none()
    if file is None:
        known = (await session.execute(sa.select(AgencyView.id).where(AgencyView.id == agency_id))).scalar_one_or_none()
        if known is None:
            raise not_found("机构")
        start = min(rules.start, rules.cap)
        return {"agency_id": agency_id, "score": start, "grade": rules.grade_of(start), "version": 0, "records": []}
    records = (await session.execute(sa.select(CreditRecord).where(CreditRecord.agency_id == agency_id)
                                     .order_by(CreditRecord.seq))).scalars().all()
    return {"agency_id": agency_id, "score": file.score, "grade": file.grade, "version": file.version,
            "records": records}
