"""Routes of the notify service (SPEC §15): ``/api/v1/inbox*`` and ``/api/v1/webhooks*``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from services.notify import service
from services.notify.schemas import (
    DeliveryRead,
    InboxItemRead,
    InboxSummary,
    ReadAll,
    RetryQueued,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
)
from services.notify.webhooks import new_secret
from shared.app import UoW
from shared.auth import CurrentPrincipal
from shared.http import with_etag
from shared.pagination import Page, PageParams, page_params

inbox = APIRouter(prefix="/api/v1/inbox", tags=["inbox"])
webhooks = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
Paging = Annotated[PageParams, Depends(page_params)]
Kind = Annotated[str | None, Query(max_length=60, description="通知类型 / kind, e.g. hazard.reported")]


@inbox.get("", response_model=Page[InboxItemRead], summary="我的通知 / my notifications")
async def list_inbox(
    uow: UoW,
    _: CurrentPrincipal,
    page: Paging,
    kind: Kind = None,
    unread: Annotated[bool | None, Query(description="只看未读 / unread only")] = None,
) -> Page[InboxItemRead]:
    items, cursor = await service.inbox_listing(uow, params=page, unread=unread, kind=kind)
    return Page(items=[InboxItemRead.model_validate(i) for i in items], next_cursor=cursor)


@inbox.get("/summary", response_model=InboxSummary, summary="未读与紧急通知数 / unread and urgent counts")
async def inbox_summary(uow: UoW, _: CurrentPrincipal) -> InboxSummary:
    return InboxSummary(**await service.summary(uow))


@inbox.post("/read-all", response_model=ReadAll, summary="全部标为已读 / mark all read")
async def read_all(uow: UoW, _: CurrentPrincipal, kind: Kind = None) -> ReadAll:
    return ReadAll(updated=await service.read_all(uow, kind=kind))


@inbox.post("/{item_id}/read", response_model=InboxItemRead, summary="标为已读 / mark read")
async def mark_read(item_id: uuid.UUID, uow: UoW, _: CurrentPrincipal) -> InboxItemRead:
    return InboxItemRead.model_validate(await service.mark_read(uow, item_id=item_id))


@webhooks.post("", status_code=201, response_model=WebhookCreated, summary="订阅回调 / subscribe a webhook")
async def create_webhook(body: WebhookCreate, uow: UoW, _: CurrentPrincipal, response: Response) -> WebhookCreated:
    secret = new_secret()
    row = await service.create(uow, body=body, secret=secret)
    response.headers["Location"] = f"/api/v1/webhooks/{row.id}"
    with_etag(response, row)
    return WebhookCreated.model_validate({**WebhookRead.model_validate(row).model_dump(), "secret": secret})


@webhooks.get("", response_model=Page[WebhookRead], summary="我的回调订阅 / my webhooks")
async def list_webhooks(uow: UoW, _: CurrentPrincipal, page: Paging) -> Page[WebhookRead]:
    rows, cursor = await service.listing(uow, params=page)
    return Page(items=[WebhookRead.model_validate(r) for r in rows], next_cursor=cursor)


@webhooks.get("/{subscription_id}", response_model=WebhookRead, summary="回调订阅 / a webhook")
async def get_webhook(subscription_id: uuid.UUID, uow: UoW, _: CurrentPrincipal, response: Response) -> WebhookRead:
    return WebhookRead.model_validate(with_etag(response, await service.get(uow, subscription_id=subscription_id)))


@webhooks.delete("/{subscription_id}", status_code=204, summary="取消订阅 / delete a webhook")
async def delete_webhook(subscription_id: uuid.UUID, uow: UoW, _: CurrentPrincipal) -> Response:
    await service.delete(uow, subscription_id=subscription_id)
    return Response(status_code=204)


@webhooks.get(
    "/{subscription_id}/deliveries",
    response_model=Page[DeliveryRead],
    summary="投递记录（每次尝试一条）/ delivery attempts",
)
async def list_deliveries(
    subscription_id: uuid.UUID, uow: UoW, _: CurrentPrincipal, page: Paging
) -> Page[DeliveryRead]:
    rows, cursor = await service.deliveries(uow, subscription_id=subscription_id, params=page)
    return Page(items=[DeliveryRead.model_validate(r) for r in rows], next_cursor=cursor)


@webhooks.post(
    "/{subscription_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    response_model=RetryQueued,
    summary="重新投递 / retry a delivery",
)
async def retry_delivery(
    subscription_id: uuid.UUID, delivery_id: uuid.UUID, uow: UoW, _: CurrentPrincipal
) -> RetryQueued:
    delivery = await service.retry(uow, subscription_id=subscription_id, delivery_id=delivery_id)
    return RetryQueued(delivery_id=delivery.id, event_id=delivery.event_id)
