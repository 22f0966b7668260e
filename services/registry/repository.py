"""Every query of the registry, and the only place where who may see or change a filing is written.

- ``Agencies``: the full record (staff, certificates, phone, checks, documents) is for the agency
  itself, the bureau of its ``district_code``, the city bureau and admin — ``readable``, and
  ``writable`` too (which of them may take which action is the state machine's ``by``). Any
  other authenticated caller sees the public profile of a listed agency (``get_visible``).
  Listing filings is for agencies (their own), bureaus (their district) and admin; enterprises
  are refused. Filing is for an agency, under its own USCC.
- ``EngineerClaims``: staff exclusivity (a certificate counts for one agency at a time).
- ``FilingNumbers``: one counter per approval year.
- ``Directory``: the public directory, a read model anyone may query (its own query, no caller).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlmodel import col

from services.registry.models import (
    Agency,
    AgencyCredit,
    AgencyDocument,
    ContractTally,
    DirectoryDistrict,
    DirectoryEntry,
    DirectoryIndustry,
    EngineerClaim,
    FilingSequence,
)
from services.registry.states import AgencyStatus
from shared import scopes
from shared.auth import Principal
from shared.db import insert_ignore, next_in_sequence
from shared.errors import ErrorCode, Forbidden, NotFound
from shared.i18n import text
from shared.pagination import PageParams, keyset, page_of
from shared.repository import Repository
from shared.roles import Role

RELATED = ("staff", "documents")  # what a filing's record shows besides the row
LISTERS = frozenset({Role.AGENCY, Role.BUREAU, Role.ADMIN})


def cursor_uuid(value: object) -> uuid.UUID:
    """A cursor value back to a UUID; anything else is a ValueError (422), never a 500."""
    return uuid.UUID(str(value))


class Agencies(Repository[Agency]):
    model, label = Agency, text("机构备案", "agency filing")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.any_of(
            scopes.org(principal, Role.AGENCY, Agency.__table__.c.uscc),
            scopes.district(principal, Agency.__table__.c.district_code),
        )

    @staticmethod
    def publicly_listed() -> sa.ColumnElement[bool]:
        """Approved, or in the directory (an approved agency applying for renewal stays listed
        while its current filing is in force)."""
        listed = sa.exists().where(col(DirectoryEntry.agency_id) == col(Agency.id))
        return sa.or_(col(Agency.status) == AgencyStatus.APPROVED, listed)

    # --- one filing ------------------------------------------------------------------------
    async def complete(self, agency: Agency) -> Agency:
        """A filing's record is the row with its staff and documents."""
        await self.session.refresh(agency, RELATED)
        return agency

    async def get_visible(self, agency_id: uuid.UUID, principal: Principal) -> tuple[Agency, bool]:
        """The filing and whether ``principal`` sees its full record (else its public profile);
        404 when there is none, 403 when the caller may see neither. One statement decides."""
        stmt = sa.select(Agency, self.readable(principal).label("full"), self.publicly_listed().label("public")).where(
            col(Agency.id) == agency_id
        )
        row = (await self.session.execute(stmt)).first()
        if row is None:
            raise NotFound(text("机构不存在", "No such agency"))
        if not (row.full or row.public):
            raise Forbidden(text("无权查看该机构的备案资料", "You may not see this agency's filing"))
        return await self.complete(row[0]), bool(row.full)

    @staticmethod
    def check_may_file(principal: Principal, uscc: str) -> None:
        """An agency files for itself: role ``agency`` and the token's USCC (403 otherwise)."""
        principal.require_role(Role.AGENCY)
        if principal.org_uscc != uscc:
            raise Forbidden(
                text("只能为本机构（令牌中的统一社会信用代码）备案", "An agency may file only for its own USCC"),
                code=ErrorCode.USCC_MISMATCH,
            )

    async def uscc_taken(self, uscc: str) -> bool:
        return (
            await self.session.execute(sa.select(col(Agency.id)).where(col(Agency.uscc) == uscc))
        ).first() is not None

    # --- lists -----------------------------------------------------------------------------
    async def page(
        self, principal: Principal, params: PageParams, *, status: AgencyStatus | None, district: str | None
    ) -> tuple[list[Agency], str | None]:
        """The filings ``principal`` may read, newest last, with their staff and documents."""
        if principal.role not in LISTERS:
            raise Forbidden(text("无权查看机构备案列表", "You may not list agency filings"))
        stmt = self.select_readable(principal).options(
            selectinload(Agency.staff),  # type: ignore[arg-type]  # SQLModel types a relationship as its list
            selectinload(Agency.documents),  # type: ignore[arg-type]
        )
        if status:
            stmt = stmt.where(col(Agency.status) == status)
        if district:
            stmt = stmt.where(col(Agency.district_code) == district)
        rows = (
            (await self.session.execute(keyset(stmt, [Agency.__table__.c.id], params, convert=[cursor_uuid])))
            .scalars()
            .all()
        )
        return page_of(rows, params, key=lambda a: [a.id])

    async def due_to_expire(self, as_of: date) -> list[uuid.UUID]:
        """Approved filings whose validity ended before ``as_of``."""
        stmt = (
            sa.select(col(Agency.id))
            .where(col(Agency.status) == AgencyStatus.APPROVED, col(Agency.valid_until) < as_of)
            .order_by(col(Agency.id))
        )
        return list((await self.session.execute(stmt)).scalars().all())

    # --- documents -------------------------------------------------------------------------
    async def document(self, agency: Agency, document_id: uuid.UUID) -> AgencyDocument:
        stmt = sa.select(AgencyDocument).where(
            col(AgencyDocument.id) == document_id, col(AgencyDocument.agency_id) == agency.id
        )
        document = (await self.session.execute(stmt)).scalar_one_or_none()
        if document is None:
            raise NotFound(text("材料不存在", "No such document"))
        return document


class EngineerClaims:
    """Which agency a registered safety engineer's certificate counts for (one at a time)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, agency_id: uuid.UUID, certificates: Sequence[str], *, at: datetime) -> list[str]:
        """Make ``certificates`` (normalised keys) count for the agency, and only those: the ones
        another agency holds come back (the caller refuses the submission, so the transaction
        rolls back). The primary key settles concurrent claims: a concurrent claimant's
        committed row wins over an ignored insert, hence the re-read."""
        t = EngineerClaim.__table__
        for certificate in certificates:
            await insert_ignore(
                self.session, t, {"certificate_no": certificate, "agency_id": agency_id, "claimed_at": at}
            )
        if certificates:
            held = await self.session.execute(
                sa.select(t.c.certificate_no).where(
                    t.c.certificate_no.in_(list(certificates)), t.c.agency_id != agency_id
                )
            )
            taken = list(held.scalars().all())
        else:
            taken = []
        await self.session.execute(
            sa.delete(t).where(t.c.agency_id == agency_id, t.c.certificate_no.not_in(list(certificates) or [""]))
        )
        return taken

    async def release(self, agency_id: uuid.UUID) -> None:
        t = EngineerClaim.__table__
        await self.session.execute(sa.delete(t).where(t.c.agency_id == agency_id))


class FilingNumbers:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next(self, year: int) -> int:
        """The year's next number, taken in the caller's transaction (distinct under concurrency)."""
        return await next_in_sequence(
            self.session, FilingSequence.__table__, key="year", key_value=year, counter="last"
        )


@dataclass(frozen=True)
class DirectoryFilters:
    """``district``/``industry`` match what the agency serves; ``q`` is a substring of the name or
    the filing number, or the USCC."""

    district: str | None = None
    industry: str | None = None
    grade: str | None = None
    q: str | None = None


class Directory:
    """The public directory of filed agencies (公示名单): entries written in the transitions'
    transactions, joined with the credit and contract read models kept by the consumers. Grade
    and score default to the credit file's start until the first ``agency.credit_changed``."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enter(self, agency: Agency, *, at: datetime) -> None:
        """Insert or refresh the agency's entry (with its staff loaded)."""
        await self.remove(agency.id)
        self.session.add(
            DirectoryEntry(
                agency_id=agency.id,
                agency_version=agency.version,
                name=agency.name,
                uscc=agency.uscc,
                district_code=agency.district_code,
                filing_no=agency.filing_no,
                valid_until=agency.valid_until,
                service_districts=list(agency.service_districts),
                service_industries=list(agency.service_industries),
                registered_engineers=agency.registered_engineers,
                listed_at=at,
            )
        )
        await self.session.flush()
        self.session.add_all(
            [DirectoryDistrict(agency_id=agency.id, district_code=code) for code in agency.service_districts]
        )
        self.session.add_all(
            [DirectoryIndustry(agency_id=agency.id, industry=industry) for industry in agency.service_industries]
        )
        await self.session.flush()

    async def remove(self, agency_id: uuid.UUID) -> bool:
        """Remove the agency's entry; True when this transaction removed one."""
        for model in (DirectoryDistrict, DirectoryIndustry):
            await self.session.execute(sa.delete(model.__table__).where(model.__table__.c.agency_id == agency_id))
        entry = DirectoryEntry.__table__
        removed = cast(
            CursorResult[Any], await self.session.execute(sa.delete(entry).where(entry.c.agency_id == agency_id))
        )
        return removed.rowcount == 1

    async def lists(self, agency_id: uuid.UUID) -> bool:
        t = DirectoryEntry.__table__
        return (
            await self.session.execute(sa.select(t.c.agency_id).where(t.c.agency_id == agency_id))
        ).first() is not None

    async def lapsed_renewals(self, as_of: date) -> list[uuid.UUID]:
        """Entries of agencies under renewal (no longer ``approved``) whose filing ended before
        ``as_of``: the listing was kept only while it was in force."""
        e = DirectoryEntry.__table__
        stmt = (
            sa.select(e.c.agency_id)
            .join(Agency, col(Agency.id) == e.c.agency_id)
            .where(col(Agency.status) != AgencyStatus.APPROVED, e.c.valid_until < as_of)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    def _query(self, filters: DirectoryFilters, *, start_score: int, start_grade: str) -> sa.Select[Any]:
        e, c, t = DirectoryEntry.__table__, AgencyCredit.__table__, ContractTally.__table__
        active = (
            sa.select(t.c.agency_id, sa.func.count().label("n"))
            .where(t.c.active.is_(True))
            .group_by(t.c.agency_id)
            .subquery("active")
        )
        grade = sa.func.coalesce(c.c.grade, start_grade)
        stmt = sa.select(
            e,
            sa.func.coalesce(c.c.score, start_score).label("credit_score"),
            grade.label("grade"),
            sa.func.coalesce(active.c.n, 0).label("active_contracts"),
        ).select_from(
            e.outerjoin(c, c.c.agency_id == e.c.agency_id).outerjoin(active, active.c.agency_id == e.c.agency_id)
        )
        if filters.district:
            d = DirectoryDistrict.__table__
            stmt = stmt.where(sa.exists().where(d.c.agency_id == e.c.agency_id, d.c.district_code == filters.district))
        if filters.industry:
            i = DirectoryIndustry.__table__
            stmt = stmt.where(sa.exists().where(i.c.agency_id == e.c.agency_id, i.c.industry == filters.industry))
        if filters.grade:
            stmt = stmt.where(grade == filters.grade)
        if filters.q:  # LIKE with escaping: the list is hundreds of rows, an index would not pay
            stmt = stmt.where(
                sa.or_(
                    e.c.name.contains(filters.q, autoescape=True),
                    e.c.filing_no.contains(filters.q, autoescape=True),
                    e.c.uscc == filters.q.upper(),
                )
            )
        return stmt

    async def page(
        self, filters: DirectoryFilters, params: PageParams, *, start_score: int, start_grade: str
    ) -> tuple[list[sa.Row[Any]], str | None]:
        e = DirectoryEntry.__table__
        stmt = keyset(
            self._query(filters, start_score=start_score, start_grade=start_grade),
            [e.c.agency_id],
            params,
            convert=[cursor_uuid],
        )
        rows = (await self.session.execute(stmt)).all()
        return page_of(rows, params, key=lambda r: [r.agency_id])

    async def everything(self, filters: DirectoryFilters, *, start_score: int, start_grade: str) -> list[sa.Row[Any]]:
        e = DirectoryEntry.__table__
        stmt = self._query(filters, start_score=start_score, start_grade=start_grade).order_by(e.c.agency_id)
        return list((await self.session.execute(stmt)).all())
