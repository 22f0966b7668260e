"""Accidents (SPEC §20): the bureau of the enterprise's district, or the city, sees and records
them; and the dossier's reads — every record of the enterprise's custody that existed at a time.

"Existed at" is the row's own creation time (``recorded_at``, ``created_at``, ``at``): a visit
logged after the accident is not in its dossier, whatever its visit date. The states *as of* the
time are the service's rule (``services.audit.service.dossier``); these reads return the rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from services.audit.models import (
    Accident,
    AgencyView,
    AuditTask,
    Complaint,
    ComplaintStep,
    ContractView,
    CreditRecord,
    Hazard,
    HazardStep,
    ServiceLog,
)
from services.audit.repository import AuditRepository, Listing, area, enterprise_town
from services.audit.states import ENDED_EARLY, IN_FORCE
from shared import scopes
from shared.auth import Principal
from shared.i18n import text
from shared.pagination import PageParams


class Accidents(AuditRepository[Accident]):
    model, label = Accident, text("事故", "accident")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return area(principal, col(Accident.district_code), col(Accident.enterprise_uscc))

    def writable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return area(principal, col(Accident.district_code), col(Accident.enterprise_uscc))

    async def listing(
        self, principal: Principal, *, district: str | None, town: str | None = None, page: PageParams
    ) -> Listing[Accident]:
        stmt = self.select_readable(principal).where(
            scopes.in_area(
                col(Accident.district_code),
                enterprise_town(col(Accident.enterprise_uscc)),
                district=district,
                town=town,
            )
        )
        return await self.page(stmt, page)


class CustodyRecord:
    """The reads of one enterprise's custody record, each limited to the rows that existed at ``at``."""

    def __init__(self, session: Any, *, enterprise_uscc: str, at: datetime) -> None:
        self.session, self.uscc, self.at = session, enterprise_uscc, at

    async def _all(self, stmt: sa.Select[Any]) -> list[Any]:
        return list((await self.session.execute(stmt)).scalars())

    async def contracts(self, on: date) -> list[ContractView]:
        """The enterprise's contracts in force on ``on`` (at ``at``): their term covers the day, and
        they were filed or active then (``states.IN_FORCE``, or ``ENDED_EARLY`` only after ``at``)."""
        stmt = (
            sa.select(ContractView)
            .where(col(ContractView.enterprise_uscc) == self.uscc)
            .where(col(ContractView.start_date) <= on, col(ContractView.end_date) >= on)
            .where(
                sa.or_(
                    col(ContractView.status).in_([str(s) for s in IN_FORCE]),
                    sa.and_(
                        col(ContractView.status).in_([str(s) for s in ENDED_EARLY]),
                        col(ContractView.updated_at) > self.at,
                    ),
                )
            )
            .order_by(col(ContractView.start_date), col(ContractView.id))
        )
        return await self._all(stmt)

    async def agencies(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, AgencyView]:
        if not ids:
            return {}
        rows = await self._all(sa.select(AgencyView).where(col(AgencyView.id).in_(ids)))
        return {a.id: a for a in rows}

    async def visits(self, since: date) -> list[ServiceLog]:
        stmt = (
            sa.select(ServiceLog)
            .where(col(ServiceLog.enterprise_uscc) == self.uscc)
            .where(col(ServiceLog.visit_date) >= since, col(ServiceLog.recorded_at) <= self.at)
            .order_by(col(ServiceLog.visit_date), col(ServiceLog.id))
        )
        return await self._all(stmt)

    async def hazards(self) -> list[Hazard]:
        stmt = (
            sa.select(Hazard)
            .where(col(Hazard.enterprise_uscc) == self.uscc, col(Hazard.created_at) <= self.at)
            .order_by(col(Hazard.created_at), col(Hazard.id))
        )
        return await self._all(stmt)

    async def hazard_steps(self, hazard_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[HazardStep]]:
        """Each hazard's history up to ``at``, in order."""
        if not hazard_ids:
            return {}
        stmt = (
            sa.select(HazardStep)
            .where(col(HazardStep.hazard_id).in_(hazard_ids), col(HazardStep.at) <= self.at)
            .order_by(col(HazardStep.seq))
        )
        steps: dict[uuid.UUID, list[HazardStep]] = {}
        for step in await self._all(stmt):
            steps.setdefault(step.hazard_id, []).append(step)
        return steps

    async def complaints(self, agency_ids: Sequence[uuid.UUID], contract_ids: Sequence[uuid.UUID]) -> list[Complaint]:
        """The enterprise's own complaints, and those about its contracts' agencies."""
        about = [col(Complaint.complainant_uscc) == self.uscc]
        if contract_ids:
            about.append(col(Complaint.contract_id).in_(contract_ids))
        if agency_ids:
            about.append(col(Complaint.agency_id).in_(agency_ids))
        stmt = (
            sa.select(Complaint)
            .where(sa.or_(*about), col(Complaint.created_at) <= self.at)
            .order_by(col(Complaint.created_at), col(Complaint.id))
        )
        return await self._all(stmt)

    async def complaint_steps(self, complaint_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ComplaintStep]]:
        """Each complaint's timeline up to ``at``, in order."""
        if not complaint_ids:
            return {}
        stmt = (
            sa.select(ComplaintStep)
            .where(col(ComplaintStep.complaint_id).in_(complaint_ids), col(ComplaintStep.at) <= self.at)
            .order_by(col(ComplaintStep.seq))
        )
        steps: dict[uuid.UUID, list[ComplaintStep]] = {}
        for step in await self._all(stmt):
            steps.setdefault(step.complaint_id, []).append(step)
        return steps

    async def audits(self, contract_ids: Sequence[uuid.UUID]) -> list[AuditTask]:
        about = [col(AuditTask.enterprise_uscc) == self.uscc]
        if contract_ids:
            about.append(col(AuditTask.contract_id).in_(contract_ids))
        stmt = (
            sa.select(AuditTask)
            .where(sa.or_(*about), col(AuditTask.created_at) <= self.at)
            .order_by(col(AuditTask.created_at), col(AuditTask.id))
        )
        return await self._all(stmt)

    async def credit_records(self, agency_ids: Sequence[uuid.UUID]) -> list[CreditRecord]:
        if not agency_ids:
            return []
        stmt = (
            sa.select(CreditRecord)
            .where(col(CreditRecord.agency_id).in_(agency_ids), col(CreditRecord.at) <= self.at)
            .order_by(col(CreditRecord.seq))
        )
        return await self._all(stmt)
