"""The reader's inbox (SPEC §15): their own items only (repository), newest first."""

from __future__ import annotations

import uuid

from services.notify.models import InboxItem
from services.notify.repository import InboxItems
from shared.pagination import PageParams
from shared.uow import UnitOfWork


async def listing(
    uow: UnitOfWork, *, params: PageParams, unread: bool | None, kind: str | None
) -> tuple[list[InboxItem], str | None]:
    async with uow.read() as session:
        return await InboxItems(session).page(uow.principal, params, unread=unread, kind=kind)


async def summary(uow: UnitOfWork) -> dict[str, int]:
    async with uow.read() as session:
        return await InboxItems(session).summary(uow.principal)


async def mark_read(uow: UnitOfWork, *, item_id: uuid.UUID) -> InboxItem:
    async with uow:
        item = await InboxItems(uow.session).get(item_id, uow.principal, write=True)
        if item.read_at is None:
            item.read_at = uow.now
    return item


async def read_all(uow: UnitOfWork, *, kind: str | None) -> int:
    async with uow:
        return await InboxItems(uow.session).read_all(uow.principal, at=uow.now, kind=kind)
