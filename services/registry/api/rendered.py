"""The public directory's bodies as the conditional reads cache them (shared.conditional,
D62): the JSON the routes' ``response_model`` gives, rendered once per version."""

from __future__ import annotations

import uuid

from pydantic import TypeAdapter

from services.registry import service
from services.registry.repository import DirectoryFilters
from services.registry.schemas import DirectoryAgencyRead, DirectoryItem
from shared.pagination import Page, PageParams
from shared.uow import UnitOfWork

DIRECTORY_PAGE = TypeAdapter(Page[DirectoryItem])
DIRECTORY_DETAIL = TypeAdapter(DirectoryAgencyRead)


async def directory_page(uow: UnitOfWork, *, filters: DirectoryFilters, params: PageParams) -> bytes:
    items, cursor = await service.directory_page(uow, filters=filters, params=params)
    page = Page[DirectoryItem](items=[DirectoryItem.model_validate(i) for i in items], next_cursor=cursor)
    return DIRECTORY_PAGE.dump_json(page)


async def directory_detail(uow: UnitOfWork, *, agency_id: uuid.UUID) -> bytes:
    detail = await service.directory_detail(uow, agency_id=agency_id)
    return DIRECTORY_DETAIL.dump_json(DirectoryAgencyRead.model_validate(detail))
