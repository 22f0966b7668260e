"""Every query of the notify service, and the only place where who-sees-what and who-is-told is
written down.

- ``InboxItems``: a reader sees only their own items (``readable``).
- ``Subscriptions``: an organisation's webhooks are managed by its accounts, a bureau account's by
  that account, and admin manages all (``readable``); who may own one at all is ``may_own``.
- ``Recipients``: an ``Audience`` (rules.py) as accounts and as the subscriptions whose owner it
  covers — one rule for both, so a subscriber receives only what its owner would be told.
- ``ReadModels``: the accounts, agencies, contracts, hazards and complaints notify has heard of.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from services.notify.models import (
    Account,
    AccountStatus,
    Agency,
    Complaint,
    Contract,
    Delivery,
    Hazard,
    InboxItem,
    Subscription,
    SubscriptionStatus,
    accounts,
    agencies,
    complaints,
    contracts,
    deliveries,
    hazards,
    inbox_items,
    reminders,
    subscriptions,
)
from services.notify.rules import Audience
from shared import scopes
from shared.auth import Principal
from shared.db import dialect_insert, insert_ignore, rowcount
from shared.events.catalog import AccountChanged
from shared.i18n import text
from shared.pagination import PageParams, keyset, page_of
from shared.readmodel import upsert_if_newer
from shared.reference import load_jurisdiction
from shared.repository import Repository
from shared.roles import ORG_ROLES, Role

ORG_ROLE_NAMES = tuple(str(r) for r in ORG_ROLES)


def city_code() -> str:
    return load_jurisdiction().city.code


# --- who is told ------------------------------------------------------------------------------
def _told(audience: Audience, *, role: Any, org: Any, area: Any, admin_too: bool) -> sa.ColumnElement[bool]:
    """The rows (accounts or subscription owners) an audience covers: members of its
    organisations, bureau accounts of its areas, and the city bureau whenever any bureau is told."""
    conditions: list[sa.ColumnElement[bool]] = []
    if admin_too:
        conditions.append(role == Role.ADMIN)
    if audience.orgs:
        conditions.append(sa.and_(role.in_(ORG_ROLE_NAMES), org.in_(sorted(audience.orgs))))
    if audience.areas:
        conditions.append(sa.and_(role == Role.BUREAU, area.in_(sorted(audience.areas))))
    if audience.tells_bureaus:
        conditions.append(sa.and_(role == Role.BUREAU, area == city_code()))
    return scopes.any_of(*conditions)


class Recipients:
    def __init__(self, session: Any) -> None:
        self.session = session

    async def accounts(self, audience: Audience) -> list[Account]:
        """The active accounts an audience covers now (a member who joins later is not among them)."""
        if not audience:
            return []
        condition = _told(
            audience, role=accounts.c.role, org=accounts.c.org_uscc, area=accounts.c.district, admin_too=False
        )
        stmt = sa.select(Account).where(accounts.c.status == AccountStatus.ACTIVE, condition).order_by(accounts.c.id)
        return list((await self.session.execute(stmt)).scalars())

    async def subscriptions(self, audience: Audience, event_type: str) -> list[Subscription]:
        """Active subscriptions to ``event_type`` whose owner the audience covers; admin's receive
        whatever anybody is told."""
        if not audience:
            return []
        s = subscriptions.c
        condition = _told(audience, role=s.owner_role, org=s.owner_org_uscc, area=s.owner_district, admin_too=True)
        stmt = sa.select(Subscription).where(s.status == SubscriptionStatus.ACTIVE, condition).order_by(s.id)
        rows = (await self.session.execute(stmt)).scalars()
        return [row for row in rows if event_type in row.events]


# --- the inbox --------------------------------------------------------------------------------
class InboxItems(Repository[InboxItem]):
    model, label = InboxItem, text("通知", "notification")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return inbox_items.c.account_id == principal.subject

    async def page(
        self, principal: Principal, params: PageParams, *, unread: bool | None, kind: str | None
    ) -> tuple[list[InboxItem], str | None]:
        stmt = self.select_readable(principal)
        if unread is True:
            stmt = stmt.where(inbox_items.c.read_at.is_(None))
        elif unread is False:
            stmt = stmt.where(inbox_items.c.read_at.is_not(None))
        if kind:
            stmt = stmt.where(inbox_items.c.kind == kind)
        stmt = keyset(stmt, [inbox_items.c.id], params, descending=True, convert=[uuid.UUID])
        rows = list((await self.session.execute(stmt)).scalars())
        return page_of(rows, params, lambda item: [item.id])

    async def summary(self, principal: Principal) -> dict[str, int]:
        unread = inbox_items.c.read_at.is_(None)
        stmt = sa.select(
            sa.func.count().filter(unread), sa.func.count().filter(sa.and_(unread, inbox_items.c.urgent.is_(True)))
        ).where(self.readable(principal))
        row = (await self.session.execute(stmt)).one()
        return {"unread": int(row[0] or 0), "urgent": int(row[1] or 0)}

    async def read_all(self, principal: Principal, *, at: datetime, kind: str | None) -> int:
        stmt = sa.update(inbox_items).where(self.readable(principal), inbox_items.c.read_at.is_(None))
        if kind:
            stmt = stmt.where(inbox_items.c.kind == kind)
        return rowcount(await self.session.execute(stmt.values(read_at=at)))

    async def add(self, rows: Sequence[dict[str, Any]]) -> dict[str, uuid.UUID]:
        """Items in one statement; the new ones by account (a recipient who has the item of this
        event or reminder already is left out)."""
        if not rows:
            return {}
        stmt = (
            dialect_insert(self.session)(inbox_items)
            .values(list(rows))
            .on_conflict_do_nothing()
            .returning(inbox_items.c.account_id, inbox_items.c.id)
        )
        return {str(account): item for account, item in (await self.session.execute(stmt)).all()}

    async def mark_emailed(self, item_ids: Sequence[uuid.UUID], at: datetime) -> None:
        if item_ids:
            stmt = sa.update(inbox_items).where(
                inbox_items.c.id.in_(list(item_ids)), inbox_items.c.emailed_at.is_(None)
            )
            await self.session.execute(stmt.values(emailed_at=at))

    async def digest_due(self, account_id: str, before: datetime) -> list[InboxItem]:
        """The items not yet e-mailed of one account, oldest first (a digest takes them all)."""
        stmt = (
            sa.select(InboxItem)
            .where(
                inbox_items.c.account_id == account_id,
                inbox_items.c.emailed_at.is_(None),
                inbox_items.c.created_at < before,
            )
            .order_by(inbox_items.c.id)
            .limit(200)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def accounts_with_digest(self, before: datetime) -> list[Account]:
        """Active accounts with an e-mail address and items not yet e-mailed."""
        pending = sa.select(inbox_items.c.account_id).where(
            inbox_items.c.emailed_at.is_(None), inbox_items.c.created_at < before
        )
        stmt = (
            sa.select(Account)
            .where(accounts.c.status == AccountStatus.ACTIVE, accounts.c.email.is_not(None), accounts.c.id.in_(pending))
            .order_by(accounts.c.id)
        )
        return list((await self.session.execute(stmt)).scalars())


class Reminders:
    def __init__(self, session: Any) -> None:
        self.session = session

    async def claim(self, key: str, *, kind: str, at: datetime) -> bool:
        """True for the one transaction that inserts ``key`` (others wait for it, then see it)."""
        return await insert_ignore(self.session, reminders, {"key": key, "kind": kind, "created_at": at})

    async def complaints_due(self, first: date, last: date) -> list[Complaint]:
        stmt = (
            sa.select(Complaint)
            .where(complaints.c.status == "forwarded", complaints.c.response_due.between(first, last))
            .order_by(complaints.c.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def hazards_due(self, first: date, last: date) -> list[Hazard]:
        stmt = (
            sa.select(Hazard)
            .where(hazards.c.status == "open", hazards.c.deadline.between(first, last))
            .order_by(hazards.c.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def approved_agencies(self) -> list[Agency]:
        stmt = sa.select(Agency).where(agencies.c.status == "approved").order_by(agencies.c.id)
        return list((await self.session.execute(stmt)).scalars())


# --- read models ------------------------------------------------------------------------------
class ReadModels:
    def __init__(self, session: Any) -> None:
        self.session = session

    async def apply_account(self, data: AccountChanged, *, status: AccountStatus | None, at: datetime) -> bool:
        """``status`` None (account.updated) leaves the account's status as it is."""
        values = {
            "id": data.id,
            "username": data.username,
            "role": data.role,
            "org_uscc": data.org_uscc,
            "district": data.district,
            "email": data.email,
            "language": data.language or "zh-CN",
            "display_name": data.display_name,
            "status": status or AccountStatus.ACTIVE,
            "version": data.version,
            "updated_at": at,
        }
        return await upsert_if_newer(self.session, accounts, values, key=["id"], keep=() if status else ("status",))

    async def apply(self, table: sa.Table, values: dict[str, Any]) -> bool:
        return await upsert_if_newer(self.session, table, values, key=["id"])

    async def agency(self, agency_id: str | None) -> Agency | None:
        if not agency_id:
            return None
        row: Agency | None = (
            await self.session.execute(sa.select(Agency).where(agencies.c.id == str(agency_id)))
        ).scalar_one_or_none()
        return row

    async def contract(self, contract_id: str | None) -> Contract | None:
        if not contract_id:
            return None
        stmt = sa.select(Contract).where(contracts.c.id == str(contract_id))
        row: Contract | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return row


TABLES = {"agency": agencies, "contract": contracts, "hazard": hazards, "complaint": complaints}


# --- webhooks ---------------------------------------------------------------------------------
def may_own(principal: Principal) -> bool:
    """Who may own webhooks (SPEC §15): admin, a bureau account, and an organisation's admin (its
    token says ``org_admin``); other members of the organisation may not."""
    return (
        principal.is_admin
        or principal.is_bureau
        or (principal.role in ORG_ROLE_NAMES and bool(principal.org_uscc) and principal.org_admin)
    )


class Subscriptions(Repository[Subscription]):
    model, label = Subscription, text("回调订阅", "webhook subscription")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        if principal.is_admin:
            return scopes.everything()
        if principal.role in ORG_ROLE_NAMES and principal.org_uscc:
            if not principal.org_admin:  # an organisation's webhooks are its admin's (SPEC §15)
                return scopes.nothing()
            return sa.and_(
                subscriptions.c.owner_role.in_(ORG_ROLE_NAMES), subscriptions.c.owner_org_uscc == principal.org_uscc
            )
        return subscriptions.c.owner_account_id == principal.subject

    def new(
        self, principal: Principal, *, url: str, events: list[str], description: str | None, secret: str, at: datetime
    ) -> Subscription:
        org_owned = principal.role in ORG_ROLE_NAMES
        row = Subscription(
            id=uuid.uuid4(),
            owner_account_id=principal.subject,
            owner_role=principal.role,
            owner_org_uscc=principal.org_uscc if org_owned else None,
            owner_district=principal.district if principal.is_bureau else None,
            url=url,
            events=events,
            description=description,
            secret=secret,
            status=SubscriptionStatus.ACTIVE,
            version=1,
            created_at=at,
            updated_at=at,
        )
        self.session.add(row)
        return row

    async def page(self, principal: Principal, params: PageParams) -> tuple[list[Subscription], str | None]:
        stmt = keyset(self.select_readable(principal), [subscriptions.c.id], params, convert=[uuid.UUID])
        rows = list((await self.session.execute(stmt)).scalars())
        return page_of(rows, params, lambda row: [row.id])

    async def delete(self, subscription: Subscription) -> None:
        await self.session.execute(sa.delete(deliveries).where(deliveries.c.subscription_id == subscription.id))
        await self.session.delete(subscription)


class Deliveries:
    def __init__(self, session: Any) -> None:
        self.session = session

    async def page(self, subscription_id: uuid.UUID, params: PageParams) -> tuple[list[Delivery], str | None]:
        stmt = sa.select(Delivery).where(deliveries.c.subscription_id == subscription_id)
        stmt = keyset(stmt, [deliveries.c.id], params, descending=True, convert=[uuid.UUID])
        rows = list((await self.session.execute(stmt)).scalars())
        return page_of(rows, params, lambda row: [row.id])

    async def get(self, subscription_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery | None:
        stmt = sa.select(Delivery).where(
            deliveries.c.id == delivery_id, deliveries.c.subscription_id == subscription_id
        )
        row: Delivery | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return row

    async def attempts_so_far(self, subscription_id: uuid.UUID, event_id: str) -> int:
        stmt = sa.select(sa.func.count()).where(
            deliveries.c.subscription_id == subscription_id, deliveries.c.event_id == event_id
        )
        return int((await self.session.execute(stmt)).scalar_one())

    def add(self, row: Delivery) -> None:
        self.session.add(row)
