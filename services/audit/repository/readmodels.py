"""The read models other services' events keep (contracts, agencies, enterprises): who may see a
contract, and the lookups the use cases make in them. ``consumers.py`` writes them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from services.audit.models import AgencyView, ContractView, EnterpriseView
from services.audit.repository import AuditRepository, area, of_agency
from shared import scopes
from shared.auth import Principal
from shared.i18n import text
from shared.roles import Role


class Contracts(AuditRepository[ContractView]):
    model, label = ContractView, text("合同", "contract")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.any_of(
            area(principal, col(ContractView.district_code), col(ContractView.enterprise_uscc)),
            of_agency(principal, col(ContractView.agency_id)),
            scopes.org(principal, Role.ENTERPRISE, col(ContractView.enterprise_uscc)),
        )

    def writable(self, principal: Principal) -> sa.ColumnElement[bool]:
        """The contract's agency records its visits."""
        return of_agency(principal, col(ContractView.agency_id))

    def of_complainant(self, principal: Principal) -> sa.ColumnElement[bool]:
        """An enterprise complains about its own contracts only."""
        return scopes.org(principal, Role.ENTERPRISE, col(ContractView.enterprise_uscc))

    async def in_states(self, statuses: Iterable[str]) -> list[ContractView]:
        rows = await self.session.execute(sa.select(ContractView).where(col(ContractView.status).in_(list(statuses))))
        return list(rows.scalars())

    async def population(
        self, *, statuses: Iterable[str], district: str | None
    ) -> list[tuple[ContractView, str | None]]:
        """The contracts a quality audit samples, with their enterprise's risk level (None while the
        enterprise is not known here yet), in ``district`` or in the whole city."""
        stmt = (
            sa.select(ContractView, col(EnterpriseView.risk_level))
            .join(EnterpriseView, col(EnterpriseView.uscc) == col(ContractView.enterprise_uscc), isouter=True)
            .where(col(ContractView.status).in_(list(statuses)))
        )
        if district:
            stmt = stmt.where(col(ContractView.district_code) == district)
        return [(contract, risk) for contract, risk in (await self.session.execute(stmt)).all()]


class Agencies(AuditRepository[AgencyView]):
    model, label = AgencyView, text("机构", "agency")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.everything()  # the directory is public

    def writable(self, principal: Principal) -> sa.ColumnElement[bool]:
        """Who may act on the agency here — record a credit fact (SPEC §19): the bureau of its
        district, the city bureau, admin."""
        return scopes.district(principal, col(AgencyView.district_code))

    async def roster(self, agency_id: uuid.UUID) -> list[str] | None:
        """The agency's current roster (normalised names of engineers with a valid certificate);
        None while the agency is not known here."""
        stmt = sa.select(col(AgencyView.engineers)).where(col(AgencyView.id) == agency_id)
        found: list[str] | None = (await self.session.execute(stmt)).scalar()
        return found

    async def by_uscc(self, uscc: str) -> list[AgencyView]:
        """The agencies held for one USCC (normally one), the most recently changed first."""
        stmt = sa.select(AgencyView).where(col(AgencyView.uscc) == uscc).order_by(col(AgencyView.updated_at).desc())
        return list((await self.session.execute(stmt)).scalars())


class Enterprises(AuditRepository[EnterpriseView]):
    model, label = EnterpriseView, text("企业", "enterprise")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.any_of(
            scopes.district(principal, col(EnterpriseView.district_code), town=col(EnterpriseView.town)),
            scopes.org(principal, Role.ENTERPRISE, col(EnterpriseView.uscc)),
        )

    def _key(self) -> sa.ColumnElement[Any]:
        return EnterpriseView.__table__.c.uscc

    async def of(self, principal: Principal) -> EnterpriseView | None:
        """The principal's own enterprise, when it is one."""
        if principal.role != Role.ENTERPRISE or not principal.org_uscc:
            return None
        return await self.find(principal.org_uscc)
