"""Quality audits: which district a caller may sample, who sees a sample's log and its tasks, who
records a result. Agencies never see a pending task (they would know which of their clients is
about to be audited); they see it once completed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.interfaces import ORMOption
from sqlmodel import col

from services.audit.models import AuditSample, AuditTask
from services.audit.repository import AuditRepository, Listing, area, of_agency
from services.audit.states import AuditTaskStatus
from shared import scopes
from shared.auth import Principal
from shared.errors import Forbidden
from shared.i18n import text
from shared.pagination import PageParams
from shared.reference import load_jurisdiction
from shared.roles import Role


def sampling_scope(principal: Principal, requested: str | None) -> str | None:
    """The district ``principal`` samples when it asks for ``requested`` (a district, the city or
    nothing), None for the whole city: admin and the city bureau sample anywhere, a district bureau
    its own district only."""
    if principal.sees_everything:
        return None if requested is None or load_jurisdiction().is_city(requested) else requested
    if principal.is_town_bureau:  # quality audits sample a district's contracts: the district bureau's work
        raise Forbidden(text("镇街不组织质量抽查", "A town bureau does not sample (its district bureau does)"))
    if not principal.district or (requested is not None and requested != principal.district):
        raise Forbidden(text("区县应急管理局只能抽查本辖区", "A district bureau samples its own district only"))
    return principal.district


def months_of(period: str) -> range:
    """The months (1–12) a sampling period covers: 2026, 2026-H2, 2026-Q4, 2026-03."""
    part = period[5:]
    if not part:
        return range(1, 13)
    if part[0] == "H":
        return range(1, 7) if part == "H1" else range(7, 13)
    if part[0] == "Q":
        first = 3 * (int(part[1]) - 1) + 1
        return range(first, first + 3)
    return range(int(part), int(part) + 1)


def periods_overlap(a: str, b: str) -> bool:
    return a[:4] == b[:4] and bool(set(months_of(a)) & set(months_of(b)))


class AuditSamples(AuditRepository[AuditSample]):
    model, label = AuditSample, text("抽样记录", "sample")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        """A district's sample: its bureau, the city bureau and admin; a city-wide one (no
        district): the city bureau and admin only."""
        return scopes.district(principal, col(AuditSample.district))

    async def get(
        self,
        entity_id: uuid.UUID | str,
        principal: Principal,
        *,
        write: bool = False,
        lock: bool | None = None,
        options: Sequence[ORMOption] = (),
    ) -> AuditSample:
        """The sample with its tasks in the order drawn (404 / 403 as ``Repository.get``)."""
        sample = await super().get(entity_id, principal, write=write, lock=lock, options=options)
        stmt = sa.select(AuditTask).where(col(AuditTask.sample_id) == sample.id)
        tasks = list((await self.session.execute(stmt)).scalars())
        order = {chosen["contract_id"]: n for n, chosen in enumerate(sample.chosen)}
        set_committed_value(sample, "tasks", sorted(tasks, key=lambda t: order.get(str(t.contract_id), len(order))))
        return sample

    async def id_for(self, *, period: str, scope: str) -> uuid.UUID | None:
        stmt = sa.select(col(AuditSample.id)).where(col(AuditSample.period) == period, col(AuditSample.scope) == scope)
        found: uuid.UUID | None = (await self.session.execute(stmt)).scalar()
        return found

    async def overlapping(self, *, period: str, scope: str) -> uuid.UUID | None:
        """A sample of ``scope`` whose period overlaps ``period`` (periods lie within one year)."""
        stmt = sa.select(col(AuditSample.id), col(AuditSample.period)).where(
            col(AuditSample.scope) == scope, col(AuditSample.period).startswith(period[:4])
        )
        for sample_id, other in (await self.session.execute(stmt)).all():
            if periods_overlap(period, other):
                found: uuid.UUID = sample_id
                return found
        return None


class AuditTasks(AuditRepository[AuditTask]):
    model, label = AuditTask, text("审计任务", "audit task")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.any_of(
            area(principal, col(AuditTask.district_code), col(AuditTask.enterprise_uscc)),
            sa.and_(of_agency(principal, col(AuditTask.agency_id)), col(AuditTask.status) != AuditTaskStatus.PENDING),
            scopes.org(principal, Role.ENTERPRISE, col(AuditTask.enterprise_uscc)),
        )

    def writable(self, principal: Principal) -> sa.ColumnElement[bool]:
        """The bureau of the contract's district (or the city bureau, or admin) records the result."""
        return area(principal, col(AuditTask.district_code), col(AuditTask.enterprise_uscc))

    async def contracts_under_audit(self, period: str) -> set[uuid.UUID]:
        stmt = sa.select(col(AuditTask.contract_id)).where(col(AuditTask.period) == period)
        return set((await self.session.execute(stmt)).scalars())

    async def listing(
        self,
        principal: Principal,
        *,
        status: AuditTaskStatus | None,
        agency_id: uuid.UUID | None,
        period: str | None,
        page: PageParams,
    ) -> Listing[AuditTask]:
        stmt = self.select_readable(principal)
        if status:
            stmt = stmt.where(col(AuditTask.status) == status)
        if agency_id:
            stmt = stmt.where(col(AuditTask.agency_id) == agency_id)
        if period:
            stmt = stmt.where(col(AuditTask.period) == period)
        return await self.page(stmt, page)
