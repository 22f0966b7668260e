"""The read models of the other services' facts (the parties, engagements, credit listings, the
enterprises' credit), kept by one upsert rule (shared.readmodel), and the per-year filing counter."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar

import sqlalchemy as sa
from sqlmodel import col

from services.contracts.models import (
    AgencyFacts,
    CreditListed,
    EngagementFacts,
    EnterpriseCredit,
    EnterpriseFacts,
    FilingCounter,
    metadata,
)
from services.contracts.repository.contracts import AGENCY_FACTS, CONTRACTS, LISTINGS, SAFETY_EVALUATION
from shared.db import next_in_sequence
from shared.events.catalog import CreditListingChanged
from shared.i18n import text
from shared.readmodel import upsert_if_newer
from shared.reference import load_jurisdiction
from shared.repository import Repository

M = TypeVar("M")


class ReadModel(Repository[M]):
    """A read model of another service's entity (the service's own knowledge, never served as
    such), keyed by ``key``: found by it, and kept by the one upsert rule."""

    key: ClassVar[str]

    def _key(self) -> sa.ColumnElement[Any]:
        column: sa.ColumnElement[Any] = getattr(self.model, self.key)
        return column

    async def apply(self, values: Mapping[str, Any]) -> bool:
        """Upsert the row when ``values`` are strictly newer than what is held; True if written."""
        return await upsert_if_newer(self.session, self.model.__table__, values, key=[self.key])


class Agencies(ReadModel[AgencyFacts]):
    model, label, key = AgencyFacts, text("中介机构", "agency"), "id"

    async def of_contract(self, contract_id: uuid.UUID, *, lock: bool) -> AgencyFacts | None:
        """The agency of a contract, found (and locked) in one statement: the contract's own
        row is read inside it, so no read of the contract has to come first."""
        of = sa.select(CONTRACTS.c.agency_id).where(CONTRACTS.c.id == contract_id).scalar_subquery()
        stmt = sa.select(AgencyFacts).where(AGENCY_FACTS.c.id == of)
        found: AgencyFacts | None = (
            await self.session.execute(stmt.with_for_update() if lock else stmt)
        ).scalar_one_or_none()
        return found


class Enterprises(ReadModel[EnterpriseFacts]):
    model, label, key = EnterpriseFacts, text("企业", "enterprise"), "uscc"

    async def town_of(self, uscc: str) -> str | None:
        """The enterprise's town (a code) as the read model holds it, for an event's payload: from
        the session's identity map when the write already holds the enterprise (create, sign), else
        one read per transaction (kept in ``session.info``: a review emits twice)."""
        towns: dict[str, str | None] = self.session.info.setdefault("enterprise_towns", {})
        if uscc not in towns:
            with self.session.no_autoflush:  # a flush here would write the contract twice (D61)
                facts = await self.session.get(EnterpriseFacts, uscc)
            towns[uscc] = facts.town if facts is not None else None
        return towns[uscc]

    async def of_contract(self, contract_id: uuid.UUID, *, lock: bool) -> EnterpriseFacts | None:
        """The enterprise of a contract, found (and locked) in one statement."""
        facts = sa.inspect(EnterpriseFacts).local_table
        of = sa.select(CONTRACTS.c.enterprise_uscc).where(CONTRACTS.c.id == contract_id).scalar_subquery()
        stmt = sa.select(EnterpriseFacts).where(facts.c.uscc == of)
        found: EnterpriseFacts | None = (
            await self.session.execute(stmt.with_for_update() if lock else stmt)
        ).scalar_one_or_none()
        return found


class Engagements(ReadModel[EngagementFacts]):
    model, label, key = EngagementFacts, text("业务往来", "engagement"), "id"

    async def last_evaluation(self, *, agency_id: uuid.UUID, enterprise_uscc: str) -> date | None:
        """The end of the latest safety evaluation the agency declared for the enterprise."""
        stmt = sa.select(sa.func.max(col(EngagementFacts.ends_on))).where(
            col(EngagementFacts.agency_id) == agency_id,
            col(EngagementFacts.enterprise_uscc) == enterprise_uscc,
            col(EngagementFacts.kind) == SAFETY_EVALUATION,
        )
        found: date | None = (await self.session.execute(stmt)).scalar()
        return found


ON_THE_LIST = frozenset({"listed", "repairable", "repair_requested"})  # audit's listing states in force


class CreditListings(ReadModel[CreditListed]):
    """The agencies' serious-dishonesty listings (SPEC §19), from audit's ``credit.*`` events."""

    model, label, key = CreditListed, text("失信名单", "dishonesty listing"), "listing_id"

    async def follow(self, listing: CreditListingChanged, *, at: datetime) -> bool:
        """Keep an agency's listing from its event: ``listed`` while in force (listed, repairable,
        repair requested)."""
        return await self.apply(
            {
                "listing_id": uuid.UUID(listing.id),
                "uscc": listing.org_uscc,
                "listed": listing.status in ON_THE_LIST,
                "version": listing.version,
                "updated_at": at,
            }
        )

    async def lists(self, uscc: str) -> bool:
        """Whether an agency with this USCC is on the list now."""
        t = LISTINGS
        stmt = sa.select(t.c.listing_id).where(t.c.uscc == uscc, t.c.listed.is_(True)).limit(1)
        return (await self.session.execute(stmt)).first() is not None


class EnterpriseCredits(ReadModel[EnterpriseCredit]):
    """The enterprises' credit grades (SPEC §19), from audit's ``enterprise.credit_changed``."""

    model, label, key = EnterpriseCredit, text("企业诚信等级", "enterprise credit grade"), "uscc"

    async def grade_of(self, uscc: str) -> str | None:
        """The enterprise's grade, None before its first credit event (it stands at the start)."""
        held = await self.find(uscc)
        return None if held is None else held.grade


class FilingNumbers:
    def __init__(self, session: Any) -> None:
        self.session = session

    async def next(self, year: int) -> str:
        """``JM-HT-<year>-<nnnnnn>`` (托管合同), from a per-year counter in this transaction."""
        table = metadata.tables[FilingCounter.__tablename__]
        number = await next_in_sequence(self.session, table, key="year", key_value=year, counter="value")
        return load_jurisdiction().filing_no("HT", year, number, width=6)
