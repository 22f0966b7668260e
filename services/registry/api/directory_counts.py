"""GET /api/v1/directory/counts — the public directory counted by district and grade (public, like
the list; docs/PORTAL.md, DECISIONS D53)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.registry import service
from services.registry.repository import DirectoryFilters
from shared.app import UoW
from shared.counts import Counts, by_param
from shared.reference import Industry

router = APIRouter(prefix="/api/v1/directory", tags=["directory"])


@router.get("/counts", response_model=Counts, summary="公示名单计数（公开）/ count the public directory")
async def count_directory(
    uow: UoW,
    by: Annotated[list[str], Depends(by_param("district", "grade"))],
    district: Annotated[str | None, Query(max_length=12, pattern=r"^\d{6}$", description="服务区县代码")] = None,
    industry: Industry | None = None,
) -> Counts:
    return await service.count_directory(uow, filters=DirectoryFilters(district=district, industry=industry), by=by)
