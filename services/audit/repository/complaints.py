"""Complaints: the district's bureau sees and handles them; the agency complained about sees one
once the bureau forwarded it (and may act on it: respond); the complaining enterprise sees its
own. The timeline, and the sweep's overdue flags."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from services.audit.models import Complaint, ComplaintStep
from services.audit.repository import AuditRepository, Listing, complaint_town, of_agency
from services.audit.states import ComplaintStatus
from shared import scopes
from shared.auth import Principal
from shared.i18n import text
from shared.pagination import PageParams
from shared.roles import Role


def complainant_of(principal: Principal) -> str | None:
    """Whose complaint it is (what ``readable`` shows it to): the complaining enterprise's USCC;
    nobody's for the anonymous public."""
    return principal.org_uscc if principal.role == Role.ENTERPRISE else None


class Complaints(AuditRepository[Complaint]):
    model, label = Complaint, text("投诉", "complaint")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.any_of(
            scopes.district(
                principal,
                col(Complaint.district_code),
                town=complaint_town(),
            ),
            sa.and_(of_agency(principal, col(Complaint.agency_id)), col(Complaint.status) != ComplaintStatus.RECEIVED),
            scopes.org(principal, Role.ENTERPRISE, col(Complaint.complainant_uscc)),
        )

    def writable(self, principal: Principal) -> sa.ColumnElement[bool]:
        """The district's bureau, and the agency complained about (whose step the machine allows
        only once forwarded)."""
        return scopes.any_of(
            scopes.district(
                principal,
                col(Complaint.district_code),
                town=complaint_town(),
            ),
            of_agency(principal, col(Complaint.agency_id)),
        )

    async def add_step(
        self,
        complaint_id: uuid.UUID,
        *,
        status: ComplaintStatus,
        at: datetime,
        actor: str,
        action: str | None = None,
        note: str | None = None,
    ) -> None:
        """A line of the timeline: what happened (by default: the state reached) and the state it
        left the complaint in."""
        await self.add(
            ComplaintStep(
                complaint_id=complaint_id,
                at=at,
                action=action or str(status),
                status=str(status),
                actor=actor,
                note=note,
            )
        )

    async def timeline(self, complaint_id: uuid.UUID) -> list[ComplaintStep]:
        stmt = (
            sa.select(ComplaintStep)
            .where(col(ComplaintStep.complaint_id) == complaint_id)
            .order_by(col(ComplaintStep.seq))
        )
        return list((await self.session.execute(stmt)).scalars())

    async def listing(
        self,
        principal: Principal,
        *,
        status: ComplaintStatus | None,
        agency_id: uuid.UUID | None,
        overdue: bool | None,
        page: PageParams,
    ) -> Listing[Complaint]:
        stmt = self.select_readable(principal)
        if status:
            stmt = stmt.where(col(Complaint.status) == status)
        if agency_id:
            stmt = stmt.where(col(Complaint.agency_id) == agency_id)
        if overdue is not None:
            flag = sa.or_(col(Complaint.response_overdue), col(Complaint.resolution_overdue))
            stmt = stmt.where(flag if overdue else sa.not_(flag))
        return await self.page(stmt, page)

    async def flag_late_responses(self, as_of: date, *, awaiting: Iterable[ComplaintStatus]) -> list[Any]:
        """Set ``response_overdue`` on complaints awaiting a response past ``response_due`` (once:
        a conditional update); (id, status) of those flagged now."""
        return await self._flag("response_overdue", col(Complaint.response_due) < as_of, awaiting)

    async def flag_late_resolutions(self, as_of: date, *, open_: Iterable[ComplaintStatus]) -> list[Any]:
        """Set ``resolution_overdue`` on complaints not closed past ``resolve_due``."""
        return await self._flag("resolution_overdue", col(Complaint.resolve_due) < as_of, open_)

    async def _flag(self, flag: str, late: sa.ColumnElement[bool], statuses: Iterable[ComplaintStatus]) -> list[Any]:
        stmt = (
            sa.update(Complaint)
            .where(col(Complaint.status).in_(list(statuses)), late, col(getattr(Complaint, flag)).is_(False))
            .values({flag: True, "version": col(Complaint.version) + 1})
            .returning(col(Complaint.id), col(Complaint.status))
            .execution_options(synchronize_session=False)
        )
        return list((await self.session.execute(stmt)).all())
