"""/api/v1/credit/listings — the serious-dishonesty list (严重失信名单, SPEC §19)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from services.audit import service
from services.audit.models import CreditListing
from services.audit.schemas import (
    CreditListingCreate,
    CreditListingPublic,
    CreditListingRead,
    ListingDecisionBody,
    ListingStatusIn,
    ObjectionBody,
    RepairBody,
)
from shared.app import UoW
from shared.auth import CurrentPrincipal, MaybePrincipal
from shared.http import IfMatch, with_etag
from shared.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1/credit/listings", tags=["credit"])


@router.post(
    "",
    status_code=201,
    response_model=CreditListingRead,
    summary="拟列入严重失信名单并告知（监管部门）/ notice a serious-dishonesty listing (bureau)",
)
async def notice(body: CreditListingCreate, uow: UoW, _: CurrentPrincipal, response: Response) -> CreditListing:
    listing = await service.notice_listing(uow, body=body)
    response.headers["Location"] = f"/api/v1/credit/listings/{listing.id}"
    return with_etag(response, listing)


@router.get(
    "",
    response_model=Page[CreditListingRead] | Page[CreditListingPublic],
    summary="严重失信名单（公开：?status=listed）/ the serious-dishonesty list (public: ?status=listed)",
)
async def listing(
    uow: UoW,
    _: MaybePrincipal,
    page: Annotated[PageParams, Depends(page_params)],
    status: ListingStatusIn | None = None,
) -> Page[CreditListingRead] | Page[CreditListingPublic]:
    """Bureaus and admin: every listing, by state. Anyone, without a token too: the entries on the
    list (listed, repairable, repair requested) — name, USCC, reason, listed_at, until."""
    full, found = await service.list_listings(uow, status=status, page=page)
    if full:
        return Page[CreditListingRead](
            items=[CreditListingRead.model_validate(x) for x in found.items], next_cursor=found.next_cursor
        )
    return Page[CreditListingPublic](
        items=[CreditListingPublic.model_validate(x) for x in found.items], next_cursor=found.next_cursor
    )


@router.get("/{listing_id}", response_model=CreditListingRead, summary="失信名单记录 / a listing")
async def get_one(listing_id: uuid.UUID, uow: UoW, _: CurrentPrincipal, response: Response) -> CreditListing:
    """The organisation listed, and the bureaus."""
    return with_etag(response, await service.get_listing(uow, listing_id=listing_id))


@router.post(
    "/{listing_id}/objection",
    response_model=CreditListingRead,
    summary="提出异议（被列入组织，异议期内）/ object (the organisation, within the objection period)",
)
async def objection(
    listing_id: uuid.UUID, body: ObjectionBody, uow: UoW, _: CurrentPrincipal, if_match: IfMatch, response: Response
) -> CreditListing:
    return with_etag(
        response,
        await service.object_to_listing(uow, listing_id=listing_id, statement=body.statement, if_match=if_match),
    )


@router.post(
    "/{listing_id}/decide",
    response_model=CreditListingRead,
    summary="作出决定：列入、撤销、修复或不予修复（监管部门）/ decide: list, withdraw, repair or refuse (bureau)",
)
async def decide(
    listing_id: uuid.UUID,
    body: ListingDecisionBody,
    uow: UoW,
    _: CurrentPrincipal,
    if_match: IfMatch,
    response: Response,
) -> CreditListing:
    return with_etag(
        response,
        await service.decide_listing(
            uow, listing_id=listing_id, decision=body.decision, reasons=body.reasons, if_match=if_match
        ),
    )


@router.post(
    "/{listing_id}/repair",
    response_model=CreditListingRead,
    summary="申请信用修复（被列入组织，可修复时）/ request repair (the organisation, while repairable)",
)
async def repair(
    listing_id: uuid.UUID, body: RepairBody, uow: UoW, _: CurrentPrincipal, if_match: IfMatch, response: Response
) -> CreditListing:
    return with_etag(
        response,
        await service.request_listing_repair(uow, listing_id=listing_id, statement=body.statement, if_match=if_match),
    )
