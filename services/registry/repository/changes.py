"""Change filings (SPEC §18) and what they are weighed against.

- ``Changes``: an agency's change filings (who may see them is ``Agencies``: the caller reads the
  agency first).
- ``ContractEngineers``: which engineer each live contract names (read model of ``contract.*``).
- ``lapsing``: approved agencies with an engineer whose certificate expired before a day and who
  still counts (a submission's certificates are judged by its checks; a suspended agency's
  engineers lapse once it is reinstated, at the next sweep).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.registry.models import ENGINEER, Agency, AgencyChange, AgencyStaff, ContractEngineer, EngineerClaim
from services.registry.states import AgencyStatus
from shared.errors import NotFound
from shared.i18n import text


class Changes:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_agency(self, agency_id: uuid.UUID) -> list[AgencyChange]:
        stmt = (
            sa.select(AgencyChange)
            .where(col(AgencyChange.agency_id) == agency_id)
            .order_by(col(AgencyChange.created_at), col(AgencyChange.id))
        )
        return list((await self.session.execute(stmt)).scalars())

    async def get(self, agency_id: uuid.UUID, change_id: uuid.UUID) -> AgencyChange:
        stmt = (
            sa.select(AgencyChange)
            .where(col(AgencyChange.id) == change_id, col(AgencyChange.agency_id) == agency_id)
            .with_for_update()
        )
        change = (await self.session.execute(stmt)).scalar_one_or_none()
        if change is None:
            raise NotFound(text("变更备案不存在", "No such change filing"))
        return change


class ContractEngineers:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def live_naming(self, agency_id: uuid.UUID, names: Iterable[str]) -> dict[str, list[str]]:
        """The agency's non-terminal contracts naming each of ``names`` (engineer → contract ids)."""
        wanted = sorted(set(names))
        if not wanted:
            return {}
        t = ContractEngineer.__table__
        rows = await self.session.execute(
            sa.select(t.c.engineer_name, t.c.contract_id)
            .where(t.c.agency_id == agency_id, t.c.live.is_(True), t.c.engineer_name.in_(wanted))
            .order_by(t.c.engineer_name, t.c.contract_id)
        )
        named: dict[str, list[str]] = {}
        for name, contract_id in rows:
            named.setdefault(name, []).append(str(contract_id))
        return named


async def held_elsewhere(session: AsyncSession, agency_id: uuid.UUID, certificates: list[str]) -> list[str]:
    """Which of ``certificates`` (normalised keys) count for another agency."""
    if not certificates:
        return []
    t = EngineerClaim.__table__
    rows = await session.execute(
        sa.select(t.c.certificate_no).where(t.c.certificate_no.in_(certificates), t.c.agency_id != agency_id)
    )
    return list(rows.scalars())


async def lapsing(session: AsyncSession, as_of: date) -> list[uuid.UUID]:
    """Agencies with an engineer whose certificate ended before ``as_of`` and who still counts."""
    stmt = (
        sa.select(col(AgencyStaff.agency_id))
        .join(Agency, col(Agency.id) == col(AgencyStaff.agency_id))
        .where(
            col(AgencyStaff.role) == ENGINEER,
            col(AgencyStaff.lapsed).is_(False),
            col(AgencyStaff.certificate_valid_until) < as_of,
            col(Agency.status) == AgencyStatus.APPROVED,  # a submission's checks judge certificates
        )
        .distinct()
        .order_by(col(AgencyStaff.agency_id))
    )
    return list((await session.execute(stmt)).scalars())
