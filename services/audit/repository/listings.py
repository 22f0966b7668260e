"""Serious-dishonesty listings: every bureau (and admin) reads every listing; the organisation
listed reads and acts on its own (an agency's listing by the agency, an enterprise's by the
enterprise); the bureau of the organisation's district, or the city, decides. Anyone reads the
public list: entries on the list (``states.ON_THE_LIST``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from services.audit.models import CreditListing, ListingOrgKind
from services.audit.repository import AuditRepository, Listing
from services.audit.states import ON_THE_LIST, READS_LISTINGS, ListingStatus
from shared import scopes
from shared.auth import Principal
from shared.i18n import text
from shared.pagination import PageParams
from shared.roles import Role

ENDED = (ListingStatus.WITHDRAWN, ListingStatus.REPAIRED, ListingStatus.EXPIRED)


def _listed_org(principal: Principal) -> sa.ColumnElement[bool]:
    """The listings of the principal's own organisation, in the role the listing names."""
    return scopes.any_of(
        sa.and_(
            col(CreditListing.org_kind) == ListingOrgKind.AGENCY,
            scopes.org(principal, Role.AGENCY, col(CreditListing.uscc)),
        ),
        sa.and_(
            col(CreditListing.org_kind) == ListingOrgKind.ENTERPRISE,
            scopes.org(principal, Role.ENTERPRISE, col(CreditListing.uscc)),
        ),
    )


class CreditListings(AuditRepository[CreditListing]):
    model, label = CreditListing, text("严重失信名单记录", "dishonesty listing")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        regulators = scopes.everything() if principal.role in READS_LISTINGS else scopes.nothing()
        return scopes.any_of(regulators, _listed_org(principal))

    def writable(self, principal: Principal) -> sa.ColumnElement[bool]:
        """The bureau of the organisation's district, the city bureau, admin (decisions); the
        organisation itself (objection, repair request) — which step each may take: the machine."""
        return scopes.any_of(scopes.district(principal, col(CreditListing.district_code)), _listed_org(principal))

    async def under_way(self, uscc: str, org_kind: ListingOrgKind) -> CreditListing | None:
        """The organisation's listing that has not ended, if any (one at a time)."""
        stmt = sa.select(CreditListing).where(
            col(CreditListing.uscc) == uscc,
            col(CreditListing.org_kind) == org_kind,
            col(CreditListing.status).not_in(list(ENDED)),
        )
        return (await self.session.execute(stmt.limit(1))).scalars().first()

    async def on_the_list(self, org_kind: ListingOrgKind) -> list[str]:
        """The USCCs of the organisations of ``org_kind`` on the list now (``states.ON_THE_LIST``)."""
        stmt = sa.select(col(CreditListing.uscc)).where(
            col(CreditListing.org_kind) == org_kind, col(CreditListing.status).in_(list(ON_THE_LIST))
        )
        return sorted(set((await self.session.execute(stmt)).scalars()))

    async def listing(self, principal: Principal, *, status: ListingStatus | None, page: PageParams) -> Listing[Any]:
        stmt = self.select_readable(principal)
        if status:
            stmt = stmt.where(col(CreditListing.status) == status)
        return await self.page(stmt, page)

    async def public(self, page: PageParams) -> Listing[Any]:
        """The public list: every entry on it, whoever asks."""
        stmt = sa.select(CreditListing).where(col(CreditListing.status).in_(list(ON_THE_LIST)))
        return await self.page(stmt, page)

    async def due(
        self, statuses: Iterable[ListingStatus], when: str, as_of: date, *, after: bool = False
    ) -> list[CreditListing]:
        """Listings in ``statuses`` whose date ``when`` has come by ``as_of`` (is past it, with
        ``after``), locked: replicas sweeping at once move each once."""
        day = col(getattr(CreditListing, when))
        stmt = (
            sa.select(CreditListing)
            .where(col(CreditListing.status).in_(list(statuses)), day < as_of if after else day <= as_of)
            .order_by(col(CreditListing.id))
            .with_for_update()
        )
        return list((await self.session.execute(stmt)).scalars())
