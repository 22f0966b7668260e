"""Public reports: the bureau of the report's district, and the city (and admin), see and handle
them; nobody else reads them but with the tracking code and phone. The timeline."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from services.audit.models import Report, ReportStep
from services.audit.repository import AuditRepository, Listing, enterprise_town
from services.audit.states import ReportStatus
from shared import scopes
from shared.auth import Principal
from shared.i18n import text
from shared.pagination import PageParams


def _town() -> Any:
    """A report's town: the one it names (or the bureau assigned), else its enterprise's."""
    return sa.func.coalesce(col(Report.town), enterprise_town(col(Report.enterprise_uscc)))


class Reports(AuditRepository[Report]):
    model, label = Report, text("举报", "report")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.district(
            principal,
            col(Report.district_code),
            town=_town(),
        )

    def writable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.district(
            principal,
            col(Report.district_code),
            town=_town(),
        )

    async def by_tracking(self, digest: str) -> Report | None:
        stmt = sa.select(Report).where(col(Report.tracking_sha256) == digest)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add_step(
        self,
        report_id: uuid.UUID,
        *,
        status: ReportStatus,
        at: datetime,
        actor: str,
        action: str | None = None,
        note: str | None = None,
    ) -> None:
        await self.add(
            ReportStep(
                report_id=report_id, at=at, action=action or str(status), status=str(status), actor=actor, note=note
            )
        )

    async def timeline(self, report_id: uuid.UUID) -> list[ReportStep]:
        stmt = sa.select(ReportStep).where(col(ReportStep.report_id) == report_id).order_by(col(ReportStep.seq))
        return list((await self.session.execute(stmt)).scalars())

    async def listing(
        self,
        principal: Principal,
        *,
        status: ReportStatus | None,
        district: str | None,
        town: str | None = None,
        page: PageParams,
    ) -> Listing[Report]:
        stmt = self.select_readable(principal).where(
            scopes.in_area(col(Report.district_code), _town(), district=district, town=town)
        )
        if status:
            stmt = stmt.where(col(Report.status) == status)
        if district:
            stmt = stmt.where(col(Report.district_code) == district)
        return await self.page(stmt, page)
