"""The public directory (公示名单) and its history: the entries anyone may query, written in the
transactions of the transitions that cause them, and one ``directory_change`` row for every
change of the list, written by the same calls (``Directory.enter`` / ``leave`` / ``regraded``
all end in ``Directory.record``: the only place a change row is written)."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.registry.models import (
    Agency,
    AgencyCredit,
    ContractTally,
    CreditListed,
    DirectoryChange,
    DirectoryDistrict,
    DirectoryEntry,
    DirectoryIndustry,
    directory_search,
)
from services.registry.repository.agencies import cursor_uuid
from services.registry.states import AgencyStatus, ListChange
from shared import counts, search
from shared.counts import Counts
from shared.events.catalog import CreditListingChanged
from shared.ids import new_id
from shared.pagination import PageParams, keyset, page_of
from shared.readmodel import upsert_if_newer

ON_THE_LIST = frozenset({"listed", "repairable", "repair_requested"})  # audit's listing states in force


def cursor_time(value: object) -> datetime:
    """A cursor's time back to an aware UTC datetime; anything else is a ValueError (422)."""
    parsed = datetime.fromisoformat(str(value))
    try:
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("time out of range") from exc


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

    async def enter(
        self, agency: Agency, *, at: datetime, change: ListChange | None = None, reason: str | None = None
    ) -> ListChange:
        """Insert or refresh the agency's entry (with its staff loaded) and record the change:
        ``change`` when given, else ``listed`` if it was not listed and ``changed`` if it was."""
        was_listed = await self._delete(agency.id)
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
        await search.reindex(self.session, directory_search, {agency.id: self.searched(agency)}, new=True)
        self.session.add_all(
            [DirectoryDistrict(agency_id=agency.id, district_code=code) for code in agency.service_districts]
        )
        self.session.add_all(
            [DirectoryIndustry(agency_id=agency.id, industry=industry) for industry in agency.service_industries]
        )
        kind = change or (ListChange.CHANGED if was_listed else ListChange.LISTED)
        await self.record(agency.id, kind, name=agency.name, filing_no=agency.filing_no, reason=reason, at=at)
        return kind

    async def leave(
        self,
        agency_id: uuid.UUID,
        change: ListChange,
        *,
        at: datetime,
        reason: str | None,
        agency: Agency | None = None,
    ) -> bool:
        """Take the agency off the list and record ``change``; True when this transaction removed
        its entry. An agency that was not listed has no change recorded, unless ``agency`` is
        given (a suspended agency revoked: the list's readers learn it will not come back)."""
        e = DirectoryEntry.__table__
        entry = (
            await self.session.execute(sa.select(e.c.name, e.c.filing_no).where(e.c.agency_id == agency_id))
        ).first()
        removed = await self._delete(agency_id)
        if removed and entry is not None:
            await self.record(agency_id, change, name=entry.name, filing_no=entry.filing_no, reason=reason, at=at)
        elif agency is not None:
            await self.record(agency_id, change, name=agency.name, filing_no=agency.filing_no, reason=reason, at=at)
        return removed

    async def follow_listing(self, listing: CreditListingChanged, *, at: datetime) -> bool:
        """Keep an agency's serious-dishonesty listing from its event (SPEC §19): ``listed`` while
        in force (listed, repairable, repair requested); the directory leaves it out meanwhile. A
        listed agency's leaving and coming back are changes of the list (``delisted`` /
        ``reinstated``, with the reason) when it has an entry."""
        before = await self.credit_listed(listing.org_uscc)
        applied = await upsert_if_newer(
            self.session,
            CreditListed.__table__,
            {
                "listing_id": uuid.UUID(listing.id),
                "uscc": listing.org_uscc,
                "listed": listing.status in ON_THE_LIST,
                "version": listing.version,
                "updated_at": at,
            },
            key=["listing_id"],
        )
        after = await self.credit_listed(listing.org_uscc)
        if applied and before != after:
            e = DirectoryEntry.__table__
            for entry in (await self.session.execute(sa.select(e).where(e.c.uscc == listing.org_uscc))).all():
                reason = (
                    f"列入严重失信名单：{listing.reason} / on the serious-dishonesty list: {listing.reason}"
                    if after
                    else f"移出严重失信名单（{listing.status}）/ off the serious-dishonesty list ({listing.status})"
                )
                change = ListChange.DELISTED if after else ListChange.REINSTATED
                await self.record(
                    entry.agency_id, change, name=entry.name, filing_no=entry.filing_no, reason=reason, at=at
                )
        return applied

    async def credit_listed(self, uscc: str) -> bool:
        """Whether an agency with this USCC has a serious-dishonesty listing in force."""
        t = CreditListed.__table__
        stmt = sa.select(t.c.listing_id).where(t.c.uscc == uscc, t.c.listed.is_(True)).limit(1)
        return (await self.session.execute(stmt)).first() is not None

    async def regraded(self, agency_id: uuid.UUID, *, previous: str, grade: str, at: datetime) -> bool:
        """Record a listed agency's new credit grade as a change of the list (not listed, or the
        same grade: nothing to record)."""
        e = DirectoryEntry.__table__
        entry = (
            await self.session.execute(sa.select(e.c.name, e.c.filing_no).where(e.c.agency_id == agency_id))
        ).first()
        if entry is None or previous == grade:
            return False
        reason = f"信用等级由 {previous} 变为 {grade} / credit grade {previous} → {grade}"
        await self.record(
            agency_id, ListChange.CHANGED, name=entry.name, filing_no=entry.filing_no, reason=reason, at=at
        )
        return True

    async def record(
        self,
        agency_id: uuid.UUID,
        change: ListChange,
        *,
        name: str,
        filing_no: str | None,
        reason: str | None,
        at: datetime,
    ) -> None:
        """Append one change to the list's history (the caller's transaction)."""
        self.session.add(
            DirectoryChange(
                id=new_id(), agency_id=agency_id, change=change, name=name, filing_no=filing_no, reason=reason, at=at
            )
        )
        await self.session.flush()

    async def _delete(self, agency_id: uuid.UUID) -> bool:
        """Remove the agency's entry; True when this transaction removed one."""
        await search.forget(self.session, directory_search, [agency_id])
        for model in (DirectoryDistrict, DirectoryIndustry):
            await self.session.execute(sa.delete(model.__table__).where(model.__table__.c.agency_id == agency_id))
        entry = DirectoryEntry.__table__
        removed = cast(
            CursorResult[Any], await self.session.execute(sa.delete(entry).where(entry.c.agency_id == agency_id))
        )
        return removed.rowcount == 1

    async def grade_of(self, agency_id: uuid.UUID, *, start_grade: str) -> str:
        """The grade the list shows for the agency (the credit file's start before any event)."""
        c = AgencyCredit.__table__
        held = (await self.session.execute(sa.select(c.c.grade).where(c.c.agency_id == agency_id))).scalar_one_or_none()
        return held or start_grade

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

    async def _indexed(self, filters: DirectoryFilters) -> sa.ColumnElement[bool] | None:
        """The n-gram index's clause for ``q`` (shared.search), read before the query is built."""
        if not filters.q:
            return None
        e = DirectoryEntry.__table__
        return await search.matches(self.session, directory_search, e.c.agency_id, search.query_text(filters.q))

    def _query(
        self,
        filters: DirectoryFilters,
        *,
        start_score: int,
        start_grade: str,
        indexed: sa.ColumnElement[bool] | None = None,
    ) -> sa.Select[Any]:
        if indexed is None:  # built once per shape: a statement is immutable (D62)
            return _built_query(filters, start_score, start_grade)
        return _build_query(filters, start_score=start_score, start_grade=start_grade, indexed=indexed)

    @staticmethod
    def searched(agency: Agency) -> tuple[str | None, ...]:
        """The fields ``q=`` searches, in the order the index and its backfill cut them."""
        return (agency.name, agency.filing_no, agency.uscc)

    async def page(
        self, filters: DirectoryFilters, params: PageParams, *, start_score: int, start_grade: str
    ) -> tuple[list[sa.Row[Any]], str | None]:
        e = DirectoryEntry.__table__
        stmt = keyset(
            self._query(
                filters, start_score=start_score, start_grade=start_grade, indexed=await self._indexed(filters)
            ),
            [e.c.agency_id],
            params,
            convert=[cursor_uuid],
        )
        rows = (await self.session.execute(stmt)).all()
        return page_of(rows, params, key=lambda r: [r.agency_id])

    async def counts(
        self, filters: DirectoryFilters, by: list[str], *, as_of: datetime, start_score: int, start_grade: str
    ) -> Counts:
        """The listed agencies matching ``filters`` (served district, industry), counted by ``by``
        (``district``: the agency's own district, as the directory's rows) — one ``GROUP BY``."""
        indexed = await self._indexed(filters)
        q = self._query(filters, start_score=start_score, start_grade=start_grade, indexed=indexed).subquery("listed")
        stmt = counts.grouped({"district": q.c.district_code, "grade": q.c.grade}, by)
        return await counts.counted(self.session, stmt, by, as_of=as_of)

    async def everything(self, filters: DirectoryFilters, *, start_score: int, start_grade: str) -> list[sa.Row[Any]]:
        e = DirectoryEntry.__table__
        indexed = await self._indexed(filters)
        stmt = self._query(filters, start_score=start_score, start_grade=start_grade, indexed=indexed)
        stmt = stmt.order_by(e.c.agency_id)
        return list((await self.session.execute(stmt)).all())

    async def detail(self, agency_id: uuid.UUID, *, start_score: int, start_grade: str) -> sa.Row[Any] | None:
        """One listed agency with its public contact (phone, address); None when not listed."""
        stmt = _detail_query(start_score, start_grade)
        row: sa.Row[Any] | None = (await self.session.execute(stmt, {"agency_id": agency_id})).first()
        return row

    # --- the list's history ------------------------------------------------------------------
    async def changes(
        self,
        params: PageParams,
        *,
        since: datetime | None = None,
        agency_id: uuid.UUID | None = None,
        newest_first: bool = False,
    ) -> tuple[list[DirectoryChange], str | None]:
        """Changes at or after ``since`` (of one agency if given), in time order, keyset-paginated
        on (at, id)."""
        c = DirectoryChange.__table__
        stmt = sa.select(DirectoryChange)
        if since is not None:
            stmt = stmt.where(c.c.at >= since)
        if agency_id is not None:
            stmt = stmt.where(c.c.agency_id == agency_id)
        stmt = keyset(stmt, [c.c.at, c.c.id], params, descending=newest_first, convert=[cursor_time, cursor_uuid])
        rows = (await self.session.execute(stmt)).scalars().all()
        return page_of(rows, params, key=lambda r: [r.at.isoformat(), r.id])


@functools.lru_cache(maxsize=256)
def _built_query(filters: DirectoryFilters, start_score: int, start_grade: str) -> sa.Select[Any]:
    return _build_query(filters, start_score=start_score, start_grade=start_grade)


@functools.lru_cache(maxsize=16)
def _detail_query(start_score: int, start_grade: str) -> sa.Select[Any]:
    """One listed agency with its public contact, the id a bound parameter (built once)."""
    e, a = DirectoryEntry.__table__, Agency.__table__
    return (
        _built_query(DirectoryFilters(), start_score, start_grade)
        .add_columns(a.c.contact_phone, a.c.address)
        .join(a, a.c.id == e.c.agency_id)
        .where(e.c.agency_id == sa.bindparam("agency_id", type_=sa.Uuid))
    )


def _build_query(
    filters: DirectoryFilters,
    *,
    start_score: int,
    start_grade: str,
    indexed: sa.ColumnElement[bool] | None = None,
) -> sa.Select[Any]:
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
    ).select_from(e.outerjoin(c, c.c.agency_id == e.c.agency_id).outerjoin(active, active.c.agency_id == e.c.agency_id))
    # an agency on the serious-dishonesty list is not shown (SPEC §19); its entry stays, so it is
    # back once the listing ends if its filing is still in force
    listed = CreditListed.__table__
    stmt = stmt.where(~sa.exists().where(listed.c.uscc == e.c.uscc, listed.c.listed.is_(True)))
    if filters.district:
        d = DirectoryDistrict.__table__
        stmt = stmt.where(sa.exists().where(d.c.agency_id == e.c.agency_id, d.c.district_code == filters.district))
    if filters.industry:
        i = DirectoryIndustry.__table__
        stmt = stmt.where(sa.exists().where(i.c.agency_id == e.c.agency_id, i.c.industry == filters.industry))
    if filters.grade:
        stmt = stmt.where(grade == filters.grade)
    if filters.q:  # candidates from the n-gram index, then the exact substring test (D58)
        q = search.query_text(filters.q)
        if indexed is not None:
            stmt = stmt.where(indexed)
        stmt = stmt.where(
            sa.or_(
                e.c.name.contains(q, autoescape=True),
                e.c.filing_no.contains(q, autoescape=True),
                e.c.uscc == q.upper(),
            )
        )
    return stmt
