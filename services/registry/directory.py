"""The public directory of filed agencies (公示名单): a read model kept in step with agency
transitions (same transaction) and with the credit and contract events (consumers.py).

- Listed: an agency enters on approval or reinstatement and leaves on suspension, revocation,
  expiry or rejection. An approved agency that applies for renewal (``submit`` from ``approved``)
  stays listed while its current filing is in force (``valid_until`` not passed); the sweep
  delists it if that lapses before the bureau decides.
- Grade and score: from ``agency.credit_changed`` (stale versions ignored); before any credit event
  an agency has the policy's starting score (100) and its grade ("A").
- ``active_contracts``: contracts whose latest event is ``contract.activated``;
  ``remaining_capacity`` = registered engineers × ``max_enterprises_per_engineer`` − active
  contracts, never below 0.
- Filters: ``district``/``industry`` match what the agency serves, through the indexed
  ``directory_district``/``directory_industry`` tables; ``q`` is a substring of the name, filing
  number or USCC (LIKE with escaping — the list is hundreds of rows, an index would not pay).
"""

from __future__ import annotations

import uuid
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.pagination import PageParams, keyset, page_of
from shared.policy import Policy

from services.registry.models import (Agency, AgencyCredit, AgencyStaff, ContractTally, DirectoryDistrict,
                                      DirectoryEntry, DirectoryIndustry)
from services.registry.events import engineer_names
from services.registry.schemas import DirectoryItem


async def list_agency(session: AsyncSession, agency: Agency, staff: Sequence[AgencyStaff]) -> None:
    """Insert or refresh the agency's directory entry."""
    await delist_agency(session, agency.id)
    session.add(DirectoryEntry(
        agency_id=agency.id, agency_version=agency.version, name=agency.name, uscc=agency.uscc,
        district_code=agency.district_code, filing_no=agency.filing_no, valid_until=agency.valid_until,
        service_districts=list(agency.service_districts), service_industries=list(agency.service_industries),
        registered_engineers=engineer_names(staff), listed_at=utcnow(),
    ))
    await session.flush()
    for code in agency.service_districts:
        session.add(DirectoryDistrict(agency_id=agency.id, district_code=code))
    for industry in agency.service_industries:
        session.add(DirectoryIndustry(agency_id=agency.id, industry=industry))
    await session.flush()


async def delist_agency(session: AsyncSession, agency_id: uuid.UUID) -> bool:
    """Remove the agency's entry; True when there was one (and this transaction removed it)."""
    removed = 0
    for model in (DirectoryDistrict, DirectoryIndustry, DirectoryEntry):
        t = model.__table__
        removed = (await session.execute(sa.delete(t).where(t.c.agency_id == agency_id))).rowcount
    return removed == 1


async def is_listed(session: AsyncSession, agency_id: uuid.UUID) -> bool:
    t = DirectoryEntry.__table__
    return (await session.execute(sa.select(t.c.agency_id).where(t.c.agency_id == agency_id))).first() is not None


def _query(policy: Policy, *, district: str | None, industry: str | None, grade: str | None, q: str | None) -> sa.Select:
    e, c, t = DirectoryEntry.__table__, AgencyCredit.__table__, ContractTally.__table__
    active = (sa.select(t.c.agency_id, sa.func.count().label("n")).where(t.c.active.is_(True))
              .group_by(t.c.agency_id).subquery("active"))
    start = min(policy.credit.start, policy.credit.cap)  # as the audit service's credit file starts
    grade_col = sa.func.coalesce(c.c.grade, policy.credit.grade_of(start))
    stmt = (sa.select(e, sa.func.coalesce(c.c.score, start).label("credit_score"),
                      grade_col.label("grade"), sa.func.coalesce(active.c.n, 0).label("active_contracts"))
            .select_from(e.outerjoin(c, c.c.agency_id == e.c.agency_id).outerjoin(active, active.c.agency_id == e.c.agency_id)))
    if district:
        d = DirectoryDistrict.__table__
        stmt = stmt.where(sa.exists().where(d.c.agency_id == e.c.agency_id, d.c.district_code == district))
    if industry:
        i = DirectoryIndustry.__table__
        stmt = stmt.where(sa.exists().where(i.c.agency_id == e.c.agency_id, i.c.industry == industry))
    if grade:
        stmt = stmt.where(grade_col == grade)
    if q:
        stmt = stmt.where(sa.or_(e.c.name.contains(q, autoescape=True), e.c.filing_no.contains(q, autoescape=True),
                                 e.c.uscc == q.upper()))
    return stmt


def _item(row: Any, policy: Policy) -> DirectoryItem:
    engineers = list(row.registered_engineers or [])
    capacity = len(engineers) * policy.max_enterprises_per_engineer - int(row.active_contracts)
    return DirectoryItem(
        id=row.agency_id, name=row.name, uscc=row.uscc, district_code=row.district_code, filing_no=row.filing_no,
        valid_until=row.valid_until, grade=row.grade, credit_score=int(row.credit_score),
        service_districts=list(row.service_districts), service_industries=list(row.service_industries),
        registered_engineers=engineers, active_contracts=int(row.active_contracts), remaining_capacity=max(0, capacity),
    )


async def page(session: AsyncSession, policy: Policy, params: PageParams, **filters: Any) -> tuple[list[DirectoryItem], str | None]:
    e = DirectoryEntry.__table__
    stmt = keyset(_query(policy, **filters), [e.c.agency_id], params, convert=[lambda v: uuid.UUID(str(v))])
    rows = (await session.execute(stmt)).all()
    items, cursor = page_of(rows, params, key=lambda r: [r.agency_id])
    return [_item(r, policy) for r in items], cursor


async def everything(session: AsyncSession, policy: Policy, **filters: Any) -> list[DirectoryItem]:
    e = DirectoryEntry.__table__
    rows = (await session.execute(_query(policy, **filters).order_by(e.c.agency_id))).all()
    return [_item(r, policy) for r in rows]
