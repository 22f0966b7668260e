"""Service logs: who sees a visit (its agency, its enterprise, the district's bureau) and who may
act on it (the enterprise served countersigns); a log is loaded with its hazards."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from services.audit.models import Hazard, ServiceLog
from services.audit.repository import AuditRepository, Listing, column, of_agency
from shared import scopes
from shared.auth import Principal
from shared.i18n import text
from shared.pagination import PageParams
from shared.roles import Role


class ServiceLogs(AuditRepository[ServiceLog]):
    model, label = ServiceLog, text("服务记录", "service log")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.any_of(
            scopes.district(principal, column(ServiceLog.district_code)),
            of_agency(principal, column(ServiceLog.agency_id)),
            scopes.org(principal, Role.ENTERPRISE, column(ServiceLog.enterprise_uscc)),
        )

    def writable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.org(principal, Role.ENTERPRISE, column(ServiceLog.enterprise_uscc))

    async def get(
        self, entity_id: uuid.UUID | str, principal: Principal, *, write: bool = False, lock: bool | None = None
    ) -> ServiceLog:
        entry = await super().get(entity_id, principal, write=write, lock=lock)
        await self._with_hazards([entry])
        return entry

    async def id_of_visit(self, natural_key: str) -> uuid.UUID | None:
        """The log already recording the same visit, if any."""
        stmt = sa.select(column(ServiceLog.id)).where(column(ServiceLog.natural_key) == natural_key)
        found: uuid.UUID | None = (await self.session.execute(stmt)).scalar()
        return found

    async def listing(
        self,
        principal: Principal,
        *,
        contract_id: uuid.UUID | None,
        date_from: date | None,
        date_to: date | None,
        page: PageParams,
    ) -> Listing[ServiceLog]:
        stmt = self.select_readable(principal)
        if contract_id:
            stmt = stmt.where(column(ServiceLog.contract_id) == contract_id)
        if date_from:
            stmt = stmt.where(column(ServiceLog.visit_date) >= date_from)
        if date_to:
            stmt = stmt.where(column(ServiceLog.visit_date) <= date_to)
        listing = await self.page(stmt, page)
        await self._with_hazards(listing.items)
        return listing

    async def _with_hazards(self, entries: Sequence[ServiceLog]) -> None:
        """Load the hazards of ``entries`` in one query (the relationship never loads lazily)."""
        if not entries:
            return
        stmt = (
            sa.select(Hazard)
            .where(column(Hazard.service_log_id).in_([e.id for e in entries]))
            .order_by(column(Hazard.id))
        )
        found: dict[Any, list[Hazard]] = {}
        for hazard in (await self.session.execute(stmt)).scalars():
            found.setdefault(hazard.service_log_id, []).append(hazard)
        for entry in entries:
            set_committed_value(entry, "hazards", found.get(entry.id, []))
