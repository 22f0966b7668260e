"""Every query of the enterprises service, and the only place where who may see or change an
enterprise is written (shared.repository, shared.scopes).

Who sees an enterprise's record:

- in full (``readable``): admin, the city bureau and the service itself; the bureau of its
  district; the enterprise itself. The same rows may be changed (``writable``).
- looked up by USCC (``look_up``), an agency sees the **full** record only while it is a party of
  a non-terminal contract that the enterprise took part in (drafted, or signed — a contract past
  ``draft`` carries both signatures), and the **minimal view** otherwise (SPEC §14; an agency
  cannot unlock a record by drafting a contract alone). The contracts come from ``contract.*``
  events (``custody_contracts``); the rule is ``party_of_live_contract``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.enterprises.models import (
    CUSTODY_STATUSES,
    OPEN_HAZARD_STATUSES,
    RECORD_FIELDS,
    ContractParty,
    ContractStatus,
    Enterprise,
    custody_contracts,
    enterprise_search,
    enterprises,
    major_hazards,
)
from shared import bulk, scopes, search
from shared.auth import Principal
from shared.errors import Forbidden, NotFound
from shared.i18n import text
from shared.pagination import PageParams, keyset, page_of
from shared.repository import Repository
from shared.roles import Role

# A contract in one of these states binds nobody any more.
TERMINAL_CONTRACT_STATUSES = (
    ContractStatus.EXPIRED,
    ContractStatus.TERMINATED,
    ContractStatus.CANCELLED,
    ContractStatus.REJECTED,
)
# The columns an import's update writes.
UPDATED_COLUMNS = (*RECORD_FIELDS, "risk_level", "base_level", "version", "updated_at")
NO_CUSTODIAN: dict[str, Any] = {
    "custodian_contract_id": None,
    "custodian_agency_id": None,
    "custodian_agency_name": None,
    "custodian_until": None,
    "custodian_status": None,
}


class View(StrEnum):
    """What a caller sees of an enterprise looked up by USCC."""

    FULL = "full"
    MINIMAL = "minimal"


@dataclass(frozen=True)
class ListFilters:
    district: str | None = None  # a district code (checked: the city's means all of them → None)
    town: str | None = None  # a town code of the jurisdiction data (SPEC §22)
    industry: str | None = None
    risk_level: str | None = None
    has_custodian: bool | None = None
    risk_inputs_pending: bool | None = None  # the bureau's queue of changes to review
    q: str | None = None


def _forbidden() -> Forbidden:
    return Forbidden(text("无权访问该企业的记录", "You may not access this enterprise's record"))


class Enterprises(Repository[Enterprise]):
    model, label = Enterprise, text("企业", "enterprise")

    # --- who sees what, as SQL -------------------------------------------------------------
    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.any_of(
            scopes.district(principal, enterprises.c.district_code, town=enterprises.c.town),
            scopes.org(principal, Role.ENTERPRISE, enterprises.c.uscc),
        )

    def party_of_live_contract(self, principal: Principal) -> sa.ColumnElement[bool]:
        """The enterprise has a non-terminal contract with the principal's agency that the
        enterprise took part in: it drafted it or signed it (past ``draft`` both parties have)."""
        if principal.role != Role.AGENCY or not principal.org_uscc:
            return scopes.nothing()
        c = custody_contracts.c
        took_part = sa.or_(
            c.drafted_by == ContractParty.ENTERPRISE, c.enterprise_signed, c.status != ContractStatus.DRAFT
        )
        return sa.exists().where(
            c.enterprise_uscc == enterprises.c.uscc,
            scopes.org(principal, Role.AGENCY, c.agency_uscc),
            c.status.not_in(TERMINAL_CONTRACT_STATUSES),
            took_part,
        )

    def full_view(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.any_of(self.readable(principal), self.party_of_live_contract(principal))

    # --- who may, for values not stored yet ----------------------------------------------------
    @staticmethod
    def may_register(principal: Principal, *, uscc: str, district_code: str, town: str | None = None) -> bool:
        """An enterprise registers itself; a bureau (or admin) any enterprise of its district (a
        town bureau: of its town; ``town`` None asks about the district before the town is resolved)."""
        return principal.governs(district_code, town=town, district_wide=town is None) or (
            principal.role == Role.ENTERPRISE and principal.is_org(uscc)
        )

    @staticmethod
    def may_move_to(principal: Principal, district_code: str, town: str) -> bool:
        """Whether a PATCH by ``principal`` may put an enterprise in ``district_code`` / ``town``:
        a bureau keeps it in its jurisdiction; the enterprise itself may say where it moved."""
        return principal.role == Role.ENTERPRISE or principal.governs(district_code, town=town)

    @staticmethod
    def changes_wait_for_review(principal: Principal) -> bool:
        """The enterprise's own move or lowering of its risk waits for its bureau (service/risk_inputs);
        a bureau's (and the admin's) changes apply at once."""
        return principal.role == Role.ENTERPRISE

    @staticmethod
    def may_review_risk_inputs(principal: Principal, district_code: str, town: str) -> bool:
        """The bureau of the enterprise's current district (or town), or the city bureau (or the admin)."""
        return principal.role in (Role.BUREAU, Role.ADMIN) and principal.governs(district_code, town=town)

    @staticmethod
    def may_import(principal: Principal) -> bool:
        return principal.role in (Role.ADMIN, Role.BUREAU)

    @staticmethod
    def may_import_into(principal: Principal, district_code: str, town: str) -> bool:
        """An importing bureau's rows must lie in its jurisdiction (and so must the records they change)."""
        return principal.governs(district_code, town=town)

    # --- loading -------------------------------------------------------------------------------
    async def by_uscc(self, uscc: str, *, lock: bool = False) -> Enterprise | None:
        """The enterprise whatever the caller (the service's own checks, and event handlers acting for it)."""
        stmt = sa.select(Enterprise).where(enterprises.c.uscc == uscc)
        if lock:
            stmt = stmt.with_for_update()
        found: Enterprise | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return found

    async def look_up(self, uscc: str, principal: Principal) -> tuple[Enterprise, View]:
        """The enterprise with ``uscc`` and what ``principal`` may see of it, in one statement:
        404 when none is registered, 403 when the caller may see nothing of it."""
        stmt = sa.select(Enterprise, self.full_view(principal).label("full")).where(enterprises.c.uscc == uscc)
        row = (await self.session.execute(stmt)).first()
        if row is None:
            if principal.role == Role.ENTERPRISE and principal.org_uscc != uscc:
                raise _forbidden()  # an enterprise learns nothing about other USCCs, not even "not registered"
            raise NotFound(text("该统一社会信用代码的企业未登记", "No enterprise registered with this USCC"))
        if row.full:
            return row[0], View.FULL
        if principal.role == Role.AGENCY:  # an agency drafting a custody contract looks its prospective client up
            return row[0], View.MINIMAL
        raise _forbidden()

    async def page(
        self, principal: Principal, filters: ListFilters, params: PageParams
    ) -> tuple[list[Enterprise], str | None]:
        self._check_listing(principal, filters.district, filters.town)
        c = enterprises.c
        stmt = self.select_readable(principal)
        stmt = stmt.where(scopes.in_area(c.district_code, c.town, district=filters.district, town=filters.town))
        if filters.industry:
            stmt = stmt.where(c.industry == filters.industry)
        if filters.risk_level:
            stmt = stmt.where(c.risk_level == filters.risk_level)
        if filters.has_custodian is not None:
            holder = c.custodian_contract_id
            stmt = stmt.where(holder.is_not(None) if filters.has_custodian else holder.is_(None))
        if filters.risk_inputs_pending is not None:
            waiting = c.risk_inputs_pending
            stmt = stmt.where(waiting.is_not(None) if filters.risk_inputs_pending else waiting.is_(None))
        if filters.q:  # candidates from the n-gram index, then the exact substring test (D58)
            q = search.query_text(filters.q.strip())
            indexed = await search.matches(self.session, enterprise_search, c.id, q)
            if indexed is not None:
                stmt = stmt.where(indexed)
            stmt = stmt.where(
                sa.or_(
                    sa.func.lower(c.name).contains(q.lower(), autoescape=True),
                    c.uscc.contains(q.upper(), autoescape=True),
                )
            )
        stmt = keyset(stmt, [c.id], params, convert=[uuid.UUID])
        rows = list((await self.session.execute(stmt)).scalars())
        return page_of(rows, params, key=lambda e: [e.id])

    @staticmethod
    def _check_listing(principal: Principal, district: str | None, town: str | None) -> None:
        if principal.role == Role.AGENCY:
            raise Forbidden(text("机构请按统一社会信用代码查询企业", "Agencies look enterprises up by USCC"))
        if principal.role == Role.ENTERPRISE or principal.sees_everything:
            return
        if principal.role != Role.BUREAU or not principal.district_code:
            raise _forbidden()
        if not scopes.may_ask_for(principal, district, town):
            raise Forbidden(text("只能查看本辖区的企业", "You can list only enterprises in your district"))

    # --- writing -------------------------------------------------------------------------------
    async def add(self, enterprise: Enterprise) -> None:
        """Insert now, so that a concurrent registration of the same USCC fails here (IntegrityError)."""
        self.session.add(enterprise)
        await self.session.flush()
        await self.reindex([enterprise.columns()], new=True)

    async def reindex(self, rows: Sequence[Mapping[str, Any]], *, new: bool = False) -> None:
        """Write the ``q=`` tokens of these records (their name and USCC) in the caller's transaction."""
        await search.reindex(self.session, enterprise_search, {r["id"]: (r["name"], r["uscc"]) for r in rows}, new=new)

    # --- bulk (import): plain rows, no ORM objects, one statement per batch ----------------------
    async def rows_by_uscc(self, usccs: Sequence[str]) -> dict[str, dict[str, Any]]:
        stmt = sa.select(enterprises).where(enterprises.c.uscc.in_(usccs))
        return {r["uscc"]: dict(r) for r in (await self.session.execute(stmt)).mappings()}

    async def lock_rows(self, usccs: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Lock (and re-read) the rows a batch will change, so that a re-import of an unchanged
        file takes no row locks at all. SQLite: the transaction's BEGIN IMMEDIATE already holds
        the database, nothing to do."""
        if not usccs or self.session.get_bind().dialect.name == "sqlite":
            return {}
        stmt = sa.select(enterprises).where(enterprises.c.uscc.in_(usccs)).with_for_update()
        return {r["uscc"]: dict(r) for r in (await self.session.execute(stmt)).mappings()}

    async def insert_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        """New records (every key a column of theirs; the others NULL): one COPY on PostgreSQL."""
        if rows:
            columns = list(rows[0])
            await bulk.insert_records(self.session, enterprises, columns, ([r[c] for c in columns] for r in rows))
            await self.reindex(rows, new=True)

    async def update_rows(self, rows: Sequence[dict[str, Any]], *, renamed: Sequence[dict[str, Any]] = ()) -> None:
        """Changed records; ``renamed`` (of them) get their ``q=`` tokens rewritten (the USCC is the key)."""
        if not rows:
            return
        stmt = (
            sa.update(enterprises)
            .where(enterprises.c.id == sa.bindparam("b_id"))
            .values({c: sa.bindparam(f"b_{c}") for c in UPDATED_COLUMNS})
        )
        await self.session.execute(stmt, [{"b_id": r["id"], **{f"b_{c}": r[c] for c in UPDATED_COLUMNS}} for r in rows])
        await self.reindex(renamed)


# --- read models fed by events (what the record's risk and custodian are computed from) -----------
async def open_major_hazards(session: AsyncSession, usccs: Iterable[str]) -> dict[str, int]:
    """The number of unverified major hazards of each USCC that has any."""
    usccs = list(usccs)
    if not usccs:
        return {}
    h = major_hazards.c
    stmt = (
        sa.select(h.enterprise_uscc, sa.func.count())
        .where(h.enterprise_uscc.in_(usccs), h.status.in_(OPEN_HAZARD_STATUSES))
        .group_by(h.enterprise_uscc)
    )
    return dict((await session.execute(stmt)).all())


async def custodians(session: AsyncSession, usccs: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The custodian columns of each USCC that has a contract in custody: an ``active`` contract
    (the latest-ending if several), else a ``suspended`` one — a suspended contract still binds
    its agency and comes back to ``active`` on reinstatement."""
    usccs = list(usccs)
    if not usccs:
        return {}
    c = custody_contracts.c
    stmt = (
        sa.select(custody_contracts)
        .where(c.enterprise_uscc.in_(usccs), c.status.in_(CUSTODY_STATUSES))
        .order_by(
            c.enterprise_uscc,
            sa.case((c.status == ContractStatus.ACTIVE, 0), else_=1),
            c.end_date.desc(),
            c.contract_id,
        )
    )
    result: dict[str, dict[str, Any]] = {}
    for row in (await session.execute(stmt)).mappings():
        result.setdefault(
            row["enterprise_uscc"],
            {
                "custodian_contract_id": row["contract_id"],
                "custodian_agency_id": row["agency_id"],
                "custodian_agency_name": row["agency_name"],
                "custodian_until": row["end_date"],
                "custodian_status": row["status"],
            },
        )
    return result
