"""Every query of the audit service, one module per area (the same names as ``service/`` and
``api/``), and the only place where who may see or change which row is written.

Each table a caller reaches has a ``Repository`` whose ``readable(principal)`` /
``writable(principal)`` say it as SQL (``shared.scopes``); lists start from
``select_readable`` and details and actions load through ``get``. An agency's token carries only
its USCC: ``of_agency`` turns it into the agency ids the agencies read model holds for it, inside
the same statement.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import col

from services.audit.models import AgencyView, ContractView, EnterpriseView
from shared import scopes
from shared.auth import Principal
from shared.errors import Forbidden
from shared.i18n import text
from shared.pagination import MAX_LIMIT, PageParams, keyset, page_of
from shared.repository import Repository
from shared.roles import Role

M = TypeVar("M")
T = TypeVar("T")
MAX_EXPORT_ROWS = 100_000  # an export is every row the caller may see, up to this many


@dataclass(frozen=True)
class Listing(Generic[T]):
    """One page of a list: its rows and the cursor of the next page (what ``shared.pagination.Page``
    reads)."""

    items: list[T] = field(default_factory=list)
    next_cursor: str | None = None


def of_agency(principal: Principal, agency_id: Any) -> sa.ColumnElement[bool]:
    """Rows of the agency the principal's token stands for (none until its first event arrived)."""
    if principal.role != Role.AGENCY:
        return scopes.nothing()
    ids = sa.select(col(AgencyView.id)).where(scopes.org(principal, Role.AGENCY, col(AgencyView.uscc)))
    condition: sa.ColumnElement[bool] = agency_id.in_(ids.scalar_subquery())
    return condition


class AuditRepository(Repository[M]):
    """``shared.repository.Repository`` with what every audit table needs besides: adding rows,
    a page of a listing, and a row with an ownership condition answered in the same statement."""

    async def add(self, *entities: Any) -> None:
        self.session.add_all(entities)
        await self.session.flush()

    async def page(self, stmt: sa.Select[Any], params: PageParams) -> Listing[M]:
        """One keyset page of ``stmt`` (ordered by id: ids are time-ordered UUIDs)."""
        rows = (await self.session.execute(keyset(stmt, [self.model.id], params, convert=[uuid.UUID]))).scalars().all()
        return Listing(*page_of(list(rows), params, lambda row: [row.id]))

    async def with_condition(self, entity_id: Any, condition: sa.ColumnElement[bool]) -> tuple[M, bool] | None:
        """The row and whether ``condition`` holds for it (None when there is no such row)."""
        row = (
            await self.session.execute(sa.select(self.model, condition.label("holds")).where(self._key() == entity_id))
        ).first()
        return None if row is None else (row[0], bool(row.holds))

    async def with_access(self, entity_id: Any, principal: Principal, *, write: bool = False) -> tuple[M, bool] | None:
        """The row and whether ``principal`` may read it (change it, with ``write``), for a use case
        that answers a missing row otherwise than 404."""
        return await self.with_condition(entity_id, self.writable(principal) if write else self.readable(principal))

    async def get_if_any(self, entity_id: Any, principal: Principal) -> M | None:
        """The row for ``principal`` to read, None when there is none (a row that may be missing
        without being an error); 403 when it exists but is not the principal's to see."""
        found = await self.with_condition(entity_id, self.readable(principal))
        if found is None:
            return None
        entity, allowed = found
        if not allowed:
            raise Forbidden(text(f"无权访问该{self.label.zh}", f"You may not access this {self.label.en}"))
        return entity


async def every_row(
    fetch: Callable[[PageParams], Awaitable[Listing[T]]], *, cap: int = MAX_EXPORT_ROWS
) -> AsyncIterator[T]:
    """Every row of a listing, page after page (an export). The first page is read now, so that a
    refusal is an error response rather than a broken download; the others as the response streams."""
    first = await fetch(PageParams(limit=MAX_LIMIT))

    async def rows() -> AsyncIterator[T]:
        listing, sent = first, 0
        while True:
            for item in listing.items:
                if sent >= cap:
                    return
                sent += 1
                yield item
            if listing.next_cursor is None:
                return
            listing = await fetch(PageParams(limit=MAX_LIMIT, cursor=listing.next_cursor))

    return rows()


def asked_area(
    principal: Principal, district_column: Any, town: Any, *, district: str | None, town_code: str | None, refusal: Any
) -> sa.ColumnElement[bool]:
    """A list's ``district=`` / ``town=`` as SQL; a bureau asking for another district's (or, a
    town bureau, another town's) list is refused (``refusal``), not answered with nothing."""
    if principal.role == Role.BUREAU and not scopes.may_ask_for(principal, district, town_code):
        raise Forbidden(refusal)
    return scopes.in_area(district_column, town, district=district, town=town_code)


# --- towns (SPEC §22): a record's town is its enterprise's, read from the enterprises read model ----
def enterprise_town(uscc: Any) -> Any:
    """The town of the enterprise with USCC ``uscc`` (a column), as a scalar subquery."""
    return sa.select(col(EnterpriseView.town)).where(col(EnterpriseView.uscc) == uscc).scalar_subquery()


def contract_town(contract_id: Any) -> Any:
    """The town of a contract's enterprise (a column of contract ids), as a scalar subquery."""
    return (
        sa.select(col(EnterpriseView.town))
        .join(ContractView, col(ContractView.enterprise_uscc) == col(EnterpriseView.uscc))
        .where(col(ContractView.id) == contract_id)
        .scalar_subquery()
    )


def area(principal: Principal, district: Any, uscc: Any) -> sa.ColumnElement[bool]:
    """``scopes.district`` for a record of the enterprise ``uscc``: a town bureau sees it when
    the enterprise is in its town (unknown here yet: not seen — fail closed)."""
    return scopes.district(principal, district, town=enterprise_town(uscc))


def complaint_town() -> Any:
    """A complaint's town: its contract's enterprise's, else the complaining enterprise's."""
    from services.audit.models import Complaint

    return sa.func.coalesce(contract_town(col(Complaint.contract_id)), enterprise_town(col(Complaint.complainant_uscc)))


async def event_town(
    session: Any, *, enterprise_uscc: str | None, contract_id: Any, complainant_uscc: str | None
) -> str | None:
    """The town an event about a record is in, for its payload (notify tells the town's bureau):
    the enterprise's, else its contract's enterprise's, else the complaining enterprise's — the
    same order as the town bureaus' scopes; None while the read model does not hold it."""
    candidates = []
    if enterprise_uscc:
        candidates.append(enterprise_town(sa.literal(enterprise_uscc)))
    if contract_id:
        candidates.append(contract_town(sa.literal(uuid.UUID(str(contract_id)))))
    if complainant_uscc:
        candidates.append(enterprise_town(sa.literal(complainant_uscc)))
    if not candidates:
        return None
    town: str | None = (await session.execute(sa.select(sa.func.coalesce(*candidates, None)))).scalar()
    return town
