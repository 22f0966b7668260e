"""Compliance: the visits recorded for a contract's items, the missed-visit tallies the sweep keeps,
and the dashboard's counts by district (a district bureau's district; every district for the city
bureau and admin)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.models import AuditTask, Complaint, ContractView, Hazard, MissedVisitTally, ServiceLog
from services.audit.repository import complaint_town, enterprise_town
from shared import scopes
from shared.auth import Principal
from shared.db import insert_ignore, rowcount


class Visits:
    """What was done and what was missed on a contract's service items."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def visits_of(self, contract: ContractView) -> list[tuple[list[str], str, datetime]]:
        """The contract's service logs within its term: their items, status and when recorded
        (which count is the compliance rule's: services.audit.service.compliance)."""
        stmt = sa.select(col(ServiceLog.items), col(ServiceLog.status), col(ServiceLog.recorded_at)).where(
            col(ServiceLog.contract_id) == contract.id,
            col(ServiceLog.visit_date) >= contract.start_date,
            col(ServiceLog.visit_date) <= contract.end_date,
        )
        return [(list(items or []), str(status), at) for items, status, at in (await self.session.execute(stmt)).all()]

    async def missed_by_item(self, contract_id: uuid.UUID) -> dict[str, int]:
        stmt = sa.select(MissedVisitTally).where(col(MissedVisitTally.contract_id) == contract_id)
        return {t.item: t.missed for t in (await self.session.execute(stmt)).scalars()}

    async def counted_missed(self, contract_id: uuid.UUID, item: str, *, at: datetime) -> int:
        """The missed visits of the item counted so far (a tally row is created at 0)."""
        await insert_ignore(
            self.session,
            MissedVisitTally.__table__,
            {
                "contract_id": contract_id,
                "item": item,
                "missed": 0,
                "updated_at": at,
            },
        )
        stmt = sa.select(col(MissedVisitTally.missed)).where(
            col(MissedVisitTally.contract_id) == contract_id, col(MissedVisitTally.item) == item
        )
        counted: int = (await self.session.execute(stmt)).scalar_one()
        return counted

    async def count_missed(
        self, contract_id: uuid.UUID, item: str, *, counted: int, now_missed: int, at: datetime
    ) -> bool:
        """Move the tally from ``counted`` to ``now_missed``; False when another replica moved it
        first (a conditional update: each missed visit is counted once)."""
        stmt = (
            sa.update(MissedVisitTally)
            .where(
                col(MissedVisitTally.contract_id) == contract_id,
                col(MissedVisitTally.item) == item,
                col(MissedVisitTally.missed) == counted,
            )
            .values(missed=now_missed, updated_at=at)
        )
        return rowcount(await self.session.execute(stmt)) == 1


class Dashboard:
    """The bureau's counts by district, each query restricted to the districts it governs."""

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    def _governs(self, district: Any, town: Any) -> sa.ColumnElement[bool]:
        """The districts it governs; a town bureau its town (``town``: the record's, SPEC §22)."""
        return scopes.district(self.principal, district, town=town)

    async def hazards(self) -> list[Any]:
        """(district, status, level, count)."""
        d = col(Hazard.district_code)
        stmt = sa.select(d, col(Hazard.status), col(Hazard.level), sa.func.count()).group_by(
            d, col(Hazard.status), col(Hazard.level)
        )
        return list(
            (
                await self.session.execute(stmt.where(self._governs(d, enterprise_town(col(Hazard.enterprise_uscc)))))
            ).all()
        )

    async def complaints(self) -> list[Any]:
        """(district, status, count, how many are overdue)."""
        d = col(Complaint.district_code)
        overdue = sa.or_(col(Complaint.response_overdue), col(Complaint.resolution_overdue))
        stmt = sa.select(
            d, col(Complaint.status), sa.func.count(), sa.func.sum(sa.case((overdue, 1), else_=0))
        ).group_by(d, col(Complaint.status))
        return list((await self.session.execute(stmt.where(self._governs(d, complaint_town())))).all())

    async def missed_visits(self) -> list[Any]:
        """(district, missed visits counted)."""
        d = col(ContractView.district_code)
        stmt = (
            sa.select(d, sa.func.sum(col(MissedVisitTally.missed)))
            .join(ContractView, col(ContractView.id) == col(MissedVisitTally.contract_id))
            .group_by(d)
        )
        return list(
            (
                await self.session.execute(
                    stmt.where(self._governs(d, enterprise_town(col(ContractView.enterprise_uscc))))
                )
            ).all()
        )

    async def audits(self) -> list[Any]:
        """(district, status, count) of audit tasks."""
        d = col(AuditTask.district_code)
        stmt = sa.select(d, col(AuditTask.status), sa.func.count()).group_by(d, col(AuditTask.status))
        return list(
            (
                await self.session.execute(
                    stmt.where(self._governs(d, enterprise_town(col(AuditTask.enterprise_uscc))))
                )
            ).all()
        )
