"""Every query of the registry, and the only place where who may see or change a filing is written.

- ``Agencies``: the full record (staff, certificates, phone, checks, documents) is for the agency
  itself, the bureau of its ``district_code``, the city bureau and admin — ``readable``, and
  ``writable`` too (which of them may take which action is the state machine's ``by``). Any
  other authenticated caller sees the public profile of a listed agency (``get_visible``).
  Listing filings is for agencies (their own), bureaus (their district) and admin; enterprises
  are refused. Filing is for an agency, under its own USCC.
- ``EngineerClaims``: staff exclusivity (a certificate counts for one agency at a time).
- ``FilingNumbers``: one counter per approval year.
(``Directory``, the public directory and its history: ``repository.directory``.)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlmodel import col

from services.registry.models import (
    Agency,
    AgencyDocument,
    AgencyEngagement,
    DirectoryEntry,
    EngineerClaim,
    FilingSequence,
)
from services.registry.states import AgencyStatus
from shared import counts, scopes
from shared.auth import Principal
from shared.counts import Counts
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
        self,
        principal: Principal,
        params: PageParams,
        *,
        status: AgencyStatus | None,
        district: str | None,
        noncompliant: bool | None = None,
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
        if noncompliant is not None:
            stmt = stmt.where(col(Agency.noncompliant).is_(noncompliant))
        rows = (
            (await self.session.execute(keyset(stmt, [Agency.__table__.c.id], params, convert=[cursor_uuid])))
            .scalars()
            .all()
        )
        return page_of(rows, params, key=lambda a: [a.id])

    async def counts(
        self,
        principal: Principal,
        by: list[str],
        *,
        as_of: datetime,
        status: AgencyStatus | None = None,
        district: str | None = None,
        noncompliant: bool | None = None,
        valid_until_before: date | None = None,
    ) -> Counts:
        """The filings ``principal`` may list, counted by ``by`` (one ``GROUP BY``); the list's filters."""
        if principal.role not in LISTERS:
            raise Forbidden(text("无权查看机构备案列表", "You may not list agency filings"))
        t = Agency.__table__.c
        where = [self.readable(principal)]
        if status:
            where.append(t.status == status)
        if district:
            where.append(t.district_code == district)
        if noncompliant is not None:
            where.append(t.noncompliant.is_(noncompliant))
        if valid_until_before:
            where.append(t.valid_until < valid_until_before)
        stmt = counts.grouped({"district": t.district_code, "status": t.status}, by, *where)
        return await counts.counted(self.session, stmt, by, as_of=as_of)

    async def due_to_expire(self, as_of: date) -> list[uuid.UUID]:
        """Approved filings whose validity ended before ``as_of``."""
        stmt = (
            sa.select(col(Agency.id))
            .where(col(Agency.status) == AgencyStatus.APPROVED, col(Agency.valid_until) < as_of)
            .order_by(col(Agency.id))
        )
        return list((await self.session.execute(stmt)).scalars().all())

    # --- documents -------------------------------------------------------------------------
    async def document_bytes(self, uscc: str) -> int:
        """What the organisation's filings store (its storage quota counts them, SPEC §16)."""
        stmt = (
            sa.select(sa.func.coalesce(sa.func.sum(col(AgencyDocument.size)), 0))
            .join(Agency, col(Agency.id) == col(AgencyDocument.agency_id))
            .where(col(Agency.uscc) == uscc)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def content_in_use(self, sha256: str) -> bool:
        stmt = sa.select(col(AgencyDocument.id)).where(col(AgencyDocument.sha256) == sha256).limit(1)
        return (await self.session.execute(stmt)).first() is not None

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


class Engagements(Repository[AgencyEngagement]):
    model, label = AgencyEngagement, text("业务往来", "engagement")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.any_of(
            scopes.org(principal, Role.AGENCY, col(AgencyEngagement.agency_uscc)),
            scopes.district(principal, col(AgencyEngagement.district_code)),
        )

    async def of_agency(self, agency_id: uuid.UUID) -> list[AgencyEngagement]:
        stmt = (
            sa.select(AgencyEngagement)
            .where(col(AgencyEngagement.agency_id) == agency_id)
            .order_by(col(AgencyEngagement.starts_on), col(AgencyEngagement.id))
        )
        return list((await self.session.execute(stmt)).scalars())
