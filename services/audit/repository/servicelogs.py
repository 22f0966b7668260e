"""Service logs: who sees a visit (its agency, its enterprise, the district's bureau) and who may
act on it (the enterprise served countersigns or disputes, the district's bureau resolves); a log is always loaded with its hazards."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.interfaces import ORMOption
from sqlmodel import col

from services.audit.models import ServiceLog
from services.audit.repository import AuditRepository, Listing, area, of_agency
from services.audit.states import ServiceLogStatus
from shared import scopes
from shared.auth import Principal
from shared.i18n import text
from shared.pagination import PageParams
from shared.roles import Role

WITH_HAZARDS = selectinload(sa.inspect(ServiceLog).relationships["hazards"].class_attribute)


class ServiceLogs(AuditRepository[ServiceLog]):
    model, label = ServiceLog, text("服务记录", "service log")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.any_of(
            area(principal, col(ServiceLog.district_code), col(ServiceLog.enterprise_uscc)),
            of_agency(principal, col(ServiceLog.agency_id)),
            scopes.org(principal, Role.ENTERPRISE, col(ServiceLog.enterprise_uscc)),
        )

    def writable(self, principal: Principal) -> sa.ColumnElement[bool]:
        """The enterprise served confirms or disputes; the district's bureau (or the city) resolves
        a dispute (which role takes which step: ``states.SERVICE_LOG``)."""
        return scopes.any_of(
            scopes.org(principal, Role.ENTERPRISE, col(ServiceLog.enterprise_uscc)),
            area(principal, col(ServiceLog.district_code), col(ServiceLog.enterprise_uscc)),
        )

    async def get(
        self,
        entity_id: uuid.UUID | str,
        principal: Principal,
        *,
        write: bool = False,
        lock: bool | None = None,
        options: Sequence[ORMOption] = (),
    ) -> ServiceLog:
        """The log with its hazards (404 / 403 as ``Repository.get``)."""
        return await super().get(entity_id, principal, write=write, lock=lock, options=(*options, WITH_HAZARDS))

    async def id_of_visit(self, natural_key: str) -> uuid.UUID | None:
        """The log already recording the same visit, if any."""
        stmt = sa.select(col(ServiceLog.id)).where(col(ServiceLog.natural_key) == natural_key)
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
        status: ServiceLogStatus | None = None,
    ) -> Listing[ServiceLog]:
        stmt = self.select_readable(principal)
        if contract_id:
            stmt = stmt.where(col(ServiceLog.contract_id) == contract_id)
        if date_from:
            stmt = stmt.where(col(ServiceLog.visit_date) >= date_from)
        if date_to:
            stmt = stmt.where(col(ServiceLog.visit_date) <= date_to)
        if status:
            stmt = stmt.where(col(ServiceLog.status) == status)
        return await self.page(stmt.options(WITH_HAZARDS), page)
