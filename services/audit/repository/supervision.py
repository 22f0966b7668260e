"""Supervision cases (SPEC §17): the bureau of the enterprise's district and the city see and act
on them; the case's agency and enterprise read their own; the sweep finds those past their
acknowledgement deadline."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col

from services.audit.models import SupervisionCase
from services.audit.repository import AuditRepository, Listing, area, asked_area, enterprise_town, of_agency
from services.audit.states import SupervisionStatus
from shared import counts, scopes
from shared.auth import Principal
from shared.counts import Counts
from shared.i18n import text
from shared.pagination import PageParams
from shared.roles import Role


class SupervisionCases(AuditRepository[SupervisionCase]):
    model, label = SupervisionCase, text("重大隐患督办", "supervision case")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.any_of(
            area(principal, col(SupervisionCase.district_code), col(SupervisionCase.enterprise_uscc)),
            of_agency(principal, col(SupervisionCase.agency_id)),
            scopes.org(principal, Role.ENTERPRISE, col(SupervisionCase.enterprise_uscc)),
        )

    def writable(self, principal: Principal) -> sa.ColumnElement[bool]:
        """The bureau of the enterprise's district, the city bureau and admin."""
        return area(principal, col(SupervisionCase.district_code), col(SupervisionCase.enterprise_uscc))

    @staticmethod
    def _asked(principal: Principal, district: str | None, town: str | None) -> sa.ColumnElement[bool]:
        return asked_area(
            principal,
            col(SupervisionCase.district_code),
            enterprise_town(col(SupervisionCase.enterprise_uscc)),
            district=district,
            town_code=town,
            refusal=text("无权查看其他区县的督办案件", "You may not see another district's supervision cases"),
        )

    async def listing(
        self,
        principal: Principal,
        *,
        status: SupervisionStatus | None,
        district: str | None,
        town: str | None = None,
        page: PageParams,
    ) -> Listing[SupervisionCase]:
        stmt = self.select_readable(principal).where(self._asked(principal, district, town))
        if status:
            stmt = stmt.where(col(SupervisionCase.status) == status)
        return await self.page(stmt, page)

    async def counts(
        self,
        principal: Principal,
        by: list[str],
        *,
        as_of: datetime,
        status: SupervisionStatus | None,
        district: str | None,
        town: str | None = None,
        overdue_ack: list[SupervisionStatus] | None,
    ) -> Counts:
        """The list's cases counted by ``by`` (one ``GROUP BY``); ``overdue_ack``: only those still in
        these statuses (not acknowledged) past ``ack_due_at``."""
        asked = self._asked(principal, district, town)
        c = sa.inspect(SupervisionCase).local_table.c
        where = [self.readable(principal), asked]
        if status:
            where.append(c.status == status)
        if overdue_ack is not None:
            where += [c.status.in_(overdue_ack), c.ack_due_at < as_of]
        dimensions = {"district": c.district_code, "town": enterprise_town(c.enterprise_uscc), "status": c.status}
        stmt = counts.grouped(dimensions, by, *where)
        return await counts.counted(self.session, stmt, by, as_of=as_of)

    async def unacknowledged_past_due(self, as_of: datetime, *, statuses: list[SupervisionStatus]) -> list[uuid.UUID]:
        """Cases in ``statuses`` (the escalation's sources), not escalated yet, past ``ack_due_at``."""
        stmt = sa.select(col(SupervisionCase.id)).where(
            col(SupervisionCase.status).in_(statuses),
            col(SupervisionCase.escalated_at).is_(None),
            col(SupervisionCase.ack_due_at) < as_of,
        )
        return list((await self.session.execute(stmt)).scalars())
