"""The bureau's monthly trends (SPEC §22): SQL aggregates grouped by month, each restricted to the
districts the caller governs (and to one district when asked). Months are ``YYYY-MM`` text, the
same on both backends (``strftime`` on SQLite, ``to_char`` on PostgreSQL)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.models import (
    Complaint,
    ComplaintStep,
    ContractView,
    EnterpriseView,
    Hazard,
    ServiceLog,
    SupervisionCase,
)
from services.audit.repository import complaint_town, enterprise_town
from services.audit.states import ComplaintStatus, HazardStatus, ServiceLogStatus
from shared import scopes
from shared.auth import Principal
from shared.errors import Forbidden
from shared.i18n import text
from shared.reference import ServiceItem
from shared.roles import Role

# the contract states that mean "in force over its term" (a terminated or suspended contract's date
# of leaving is not in audit's read model, so it is not counted in any month)
IN_FORCE = ("filed", "active", "expired")


class Trends:
    def __init__(
        self, session: AsyncSession, principal: Principal, district: str | None, town: str | None = None
    ) -> None:
        if principal.role == Role.BUREAU and not scopes.may_ask_for(principal, district, town):
            # asking for another district's (or town's) trends is refused, not answered with zeros
            raise Forbidden(text("无权查看其他区县的趋势", "You may not see another district's trends"))
        self.session, self.principal, self.district, self.town = session, principal, district, town
        self.postgres = session.get_bind().dialect.name == "postgresql"

    def month(self, column: Any) -> sa.ColumnElement[str]:
        if self.postgres:
            return sa.func.to_char(column, "YYYY-MM")
        return sa.func.strftime("%Y-%m", column)

    def _where(self, district_column: Any, town: Any) -> sa.ColumnElement[bool]:
        """In the caller's scope and the asked district / town (``town``: the record's town)."""
        return sa.and_(
            scopes.district(self.principal, district_column, town=town),
            scopes.in_area(district_column, town, district=self.district, town=self.town),
        )

    async def _rows(self, stmt: sa.Executable) -> list[Any]:
        return list((await self.session.execute(stmt)).all())

    async def enterprises(self) -> int:
        """Enterprises audit holds in scope (coverage's denominator, the same for every month)."""
        stmt = (
            sa.select(sa.func.count())
            .select_from(EnterpriseView)
            .where(self._where(col(EnterpriseView.district_code), col(EnterpriseView.town)))
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def covered(self, month_ends: dict[str, date]) -> list[Any]:
        """(month, enterprises with an in-force contract on the month's last day)."""
        months = sa.union_all(
            *(
                sa.select(sa.literal(m, sa.String).label("month"), sa.literal(end, sa.Date).label("month_end"))
                for m, end in month_ends.items()
            )
        ).subquery("months")
        stmt = (
            sa.select(months.c.month, sa.func.count(sa.distinct(col(ContractView.enterprise_uscc))))
            .select_from(months)
            .join(ContractView, col(ContractView.start_date) <= months.c.month_end)
            .join(EnterpriseView, col(EnterpriseView.uscc) == col(ContractView.enterprise_uscc))
            .where(
                col(ContractView.end_date) >= months.c.month_end,
                col(ContractView.status).in_(IN_FORCE),
                self._where(col(EnterpriseView.district_code), col(EnterpriseView.town)),
            )
            .group_by(months.c.month)
        )
        return await self._rows(stmt)

    async def contracts(self, first: date, last: date) -> list[ContractView]:
        """The in-force contracts whose term meets the range (their services give required visits)."""
        stmt = sa.select(ContractView).where(
            col(ContractView.status).in_(IN_FORCE),
            col(ContractView.start_date) <= last,
            col(ContractView.end_date) >= first,
            self._where(col(ContractView.district_code), enterprise_town(col(ContractView.enterprise_uscc))),
        )
        return list((await self.session.execute(stmt)).scalars())

    async def visits(self, last: date) -> list[Any]:
        """(contract, month, visits per service item…) of the in-force contracts' logs within their
        terms up to ``last``: one row per contract and month, items counted in SQL (a log includes an
        item when its JSON list holds the item's code)."""
        items_text = sa.cast(col(ServiceLog.items), sa.Text)
        per_item = [
            sa.func.sum(sa.case((items_text.like(f'%"{item.value}"%'), 1), else_=0)).label(item.value)
            for item in ServiceItem
        ]
        m = self.month(col(ServiceLog.visit_date))
        stmt = (
            sa.select(col(ServiceLog.contract_id), m.label("month"), *per_item)
            .join(ContractView, col(ContractView.id) == col(ServiceLog.contract_id))
            .where(
                col(ContractView.status).in_(IN_FORCE),
                col(ServiceLog.visit_date) >= col(ContractView.start_date),
                col(ServiceLog.visit_date) <= col(ContractView.end_date),
                col(ServiceLog.visit_date) <= last,
                col(ServiceLog.status) != ServiceLogStatus.VOID,  # a voided visit was not delivered (SPEC §16)
                self._where(col(ContractView.district_code), enterprise_town(col(ContractView.enterprise_uscc))),
            )
            .group_by(col(ServiceLog.contract_id), m)
        )
        return await self._rows(stmt)

    async def hazards(self, first: date, last: date) -> list[Any]:
        """(month of the deadline, verified by the deadline, hazards with a deadline in the month)."""
        m = self.month(col(Hazard.deadline))
        on_time = sa.and_(col(Hazard.status) == HazardStatus.VERIFIED, sa.not_(col(Hazard.verified_late)))
        stmt = (
            sa.select(m, sa.func.sum(sa.case((on_time, 1), else_=0)), sa.func.count())
            .where(
                col(Hazard.deadline).between(first, last),
                self._where(col(Hazard.district_code), enterprise_town(col(Hazard.enterprise_uscc))),
            )
            .group_by(m)
        )
        return await self._rows(stmt)

    async def major_acknowledged(self, first: date, last: date) -> list[Any]:
        """(month opened, acknowledged by ``ack_due_at``, supervision cases opened in the month)."""
        m = self.month(col(SupervisionCase.opened_at))
        in_time = sa.and_(
            col(SupervisionCase.acknowledged_at).is_not(None),
            col(SupervisionCase.acknowledged_at) <= col(SupervisionCase.ack_due_at),
        )
        opened_on = sa.func.date(col(SupervisionCase.opened_at))
        stmt = (
            sa.select(m, sa.func.sum(sa.case((in_time, 1), else_=0)), sa.func.count())
            .where(
                opened_on >= first,
                opened_on <= last,
                self._where(col(SupervisionCase.district_code), enterprise_town(col(SupervisionCase.enterprise_uscc))),
            )
            .group_by(m)
        )
        return await self._rows(stmt)

    async def complaints(self, first: date, last: date) -> list[Any]:
        """(month of ``response_due``, answered by then, complaints whose response fell due)."""
        answered = (
            sa.select(sa.func.min(col(ComplaintStep.at)))
            .where(
                col(ComplaintStep.complaint_id) == col(Complaint.id),
                col(ComplaintStep.status) == ComplaintStatus.RESPONDED,
            )
            .scalar_subquery()
        )
        on_time = sa.func.date(answered) <= col(Complaint.response_due)
        m = self.month(col(Complaint.response_due))
        stmt = (
            sa.select(m, sa.func.sum(sa.case((on_time, 1), else_=0)), sa.func.count())
            .where(
                col(Complaint.response_due).between(first, last),
                self._where(col(Complaint.district_code), complaint_town()),
            )
            .group_by(m)
        )
        return await self._rows(stmt)
