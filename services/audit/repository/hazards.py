"""Hazards: seen by the visit's agency, its enterprise and the district's bureau; acted on by the
enterprise (rectify), the agency (verify, reject a rectification) and, for a major hazard, the
district's bureau (verify)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import col

from services.audit.models import Hazard, HazardLevel, HazardStep
from services.audit.repository import AuditRepository, Listing, area, asked_area, enterprise_town, of_agency
from services.audit.states import HazardStatus
from shared import scopes
from shared.auth import Principal
from shared.i18n import text
from shared.pagination import PageParams
from shared.roles import Role


class Hazards(AuditRepository[Hazard]):
    model, label = Hazard, text("隐患", "hazard")

    async def add_step(self, hazard: Hazard, *, action: str, at: datetime) -> None:
        """The hazard's history: the state this action left it in (``HazardStep``)."""
        await self.add(HazardStep(hazard_id=hazard.id, at=at, action=action, status=str(hazard.status)))

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.any_of(
            area(principal, col(Hazard.district_code), col(Hazard.enterprise_uscc)),
            of_agency(principal, col(Hazard.agency_id)),
            scopes.org(principal, Role.ENTERPRISE, col(Hazard.enterprise_uscc)),
        )

    def writable(self, principal: Principal) -> sa.ColumnElement[bool]:
        # the district's bureau (or the city) verifies a major hazard (the use case checks the level)
        return scopes.any_of(
            area(principal, col(Hazard.district_code), col(Hazard.enterprise_uscc)),
            of_agency(principal, col(Hazard.agency_id)),
            scopes.org(principal, Role.ENTERPRISE, col(Hazard.enterprise_uscc)),
        )

    async def listing(
        self,
        principal: Principal,
        *,
        status: HazardStatus | None,
        level: HazardLevel | None,
        district: str | None,
        town: str | None = None,
        contract_id: uuid.UUID | None,
        page: PageParams,
    ) -> Listing[Hazard]:
        area = asked_area(
            principal,
            col(Hazard.district_code),
            enterprise_town(col(Hazard.enterprise_uscc)),
            district=district,
            town_code=town,
            refusal=text("无权查看其他区县的隐患", "You may not see another district's hazards"),
        )
        stmt = self.select_readable(principal).where(area)
        if status:
            stmt = stmt.where(col(Hazard.status) == status)
        if level:
            stmt = stmt.where(col(Hazard.level) == level)
        if contract_id:
            stmt = stmt.where(col(Hazard.contract_id) == contract_id)
        return await self.page(stmt, page)

    async def past_deadline(self, as_of: date, *, statuses: Iterable[HazardStatus]) -> list[uuid.UUID]:
        """Hazards in ``statuses`` whose deadline is before ``as_of`` (the overdue sweep's work)."""
        stmt = sa.select(col(Hazard.id)).where(col(Hazard.status).in_(list(statuses)), col(Hazard.deadline) < as_of)
        return list((await self.session.execute(stmt)).scalars())
