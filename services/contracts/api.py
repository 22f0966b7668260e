"""HTTP API of the contracts service (SPEC §9): each route parses, calls one use case and answers
its ``response_model`` with the ETag."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from services.contracts import service
from services.contracts.models import Contract
from services.contracts.schemas import (
    ContractAmend,
    ContractCreate,
    ContractPage,
    ContractRead,
    FilingReview,
    OptionalReasonBody,
    ReasonBody,
    SignBody,
)
from services.contracts.service import ContractList
from services.contracts.states import ContractStatus
from shared.app import UoW
from shared.auth import CurrentPrincipal
from shared.counts import Counts, by_param
from shared.http import IfMatch, TownQuery, with_etag
from shared.pagination import PageParams, page_params
from shared.reference import USCC

router = APIRouter(prefix="/api/v1/contracts", tags=["contracts"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "未认证 / not authenticated"},
    403: {"description": "无权操作 / role or ownership"},
    404: {"description": "协议不存在 / no such contract"},
    409: {"description": "状态不允许该操作 / illegal transition"},
    412: {"description": "If-Match 版本不匹配 / version mismatch"},
    422: {"description": "校验失败，`code` 指明规则 / validation; `code` names the rule"},
    503: {"description": "依赖服务不可用 / a peer service is down"},
}


def forwarded_token(request: Request) -> str | None:
    """The caller's ``Authorization``, forwarded when a party must be fetched from its service."""
    return request.headers.get("authorization")


Token = Annotated[str | None, Depends(forwarded_token)]


@router.post(
    "",
    status_code=201,
    response_model=ContractRead,
    responses=ERRORS,
    summary="起草托管协议 / draft a custody contract",
)
async def create_contract(
    body: ContractCreate, response: Response, uow: UoW, _: CurrentPrincipal, token: Token
) -> Contract:
    contract = await service.create_contract(uow, body=body, token=token)
    response.headers["Location"] = f"/api/v1/contracts/{contract.id}"
    return with_etag(response, contract)


@router.get("", response_model=ContractPage, responses=ERRORS, summary="托管协议列表 / list contracts")
async def list_contracts(
    uow: UoW,
    _: CurrentPrincipal,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[ContractStatus | None, Query()] = None,
    agency_id: Annotated[uuid.UUID | None, Query()] = None,
    enterprise_uscc: Annotated[USCC | None, Query()] = None,
    district: Annotated[str | None, Query(max_length=12, pattern=r"^\d{6}$")] = None,
    town: TownQuery = None,
    risk_flagged: Annotated[bool | None, Query(description="只看被风险标记的协议 / flagged only")] = None,
) -> ContractList:
    return await service.list_contracts(
        uow,
        page=page,
        status=status,
        agency_id=agency_id,
        enterprise_uscc=enterprise_uscc,
        district=district,
        town=town,
        risk_flagged=risk_flagged,
    )


@router.get("/counts", response_model=Counts, responses=ERRORS, summary="托管协议计数 / count contracts")
async def count_contracts(
    uow: UoW,
    _: CurrentPrincipal,
    by: Annotated[list[str], Depends(by_param("district", "town", "status", default="district,status"))],
    status: Annotated[ContractStatus | None, Query()] = None,
    district: Annotated[str | None, Query(max_length=12, pattern=r"^\d{6}$")] = None,
    town: TownQuery = None,
    ending_before: Annotated[date | None, Query(description="终止日期早于 / ending before")] = None,
    risk_flagged: Annotated[bool | None, Query(description="只数被风险标记的协议 / flagged only")] = None,
) -> Counts:
    return await service.count_contracts(
        uow,
        by=by,
        status=status,
        district=district,
        town=town,
        ending_before=ending_before,
        risk_flagged=risk_flagged,
    )


@router.get(
    "/{contract_id}",
    response_model=ContractRead,
    responses=ERRORS,
    summary="托管协议详情（含历史与签名）/ a contract with its history and signatures",
)
async def get_contract(contract_id: uuid.UUID, response: Response, uow: UoW, _: CurrentPrincipal) -> Contract:
    return with_etag(response, await service.get_contract(uow, contract_id=contract_id))


@router.patch(
    "/{contract_id}",
    response_model=ContractRead,
    responses=ERRORS,
    summary="修改条款（草稿或被退回时；已有签名作废）/ amend the terms (draft or rejected; voids signatures)",
)
async def amend_contract(
    contract_id: uuid.UUID,
    body: ContractAmend,
    response: Response,
    uow: UoW,
    _: CurrentPrincipal,
    if_match: IfMatch,
    token: Token,
) -> Contract:
    return with_etag(
        response, await service.amend_contract(uow, contract_id=contract_id, body=body, if_match=if_match, token=token)
    )


@router.post(
    "/{contract_id}/sign",
    response_model=ContractRead,
    responses={
        **ERRORS,
        412: {"description": "所签条款或版本已变 / the terms or the version changed since read"},
        428: {"description": "须以 If-Match 或 content_sha256 指明所签条款 / a signature must name its terms"},
    },
    summary="签署（每方一次，须以 If-Match 或 content_sha256 指明所签条款）/ sign (once per party, naming the terms)",
)
async def sign_contract(
    contract_id: uuid.UUID,
    response: Response,
    uow: UoW,
    _: CurrentPrincipal,
    if_match: IfMatch,
    body: SignBody | None = None,
) -> Contract:
    return with_etag(
        response,
        await service.sign_contract(
            uow, contract_id=contract_id, if_match=if_match, content_sha256=body.content_sha256 if body else None
        ),
    )


@router.post(
    "/{contract_id}/file", response_model=ContractRead, responses=ERRORS, summary="提交备案 / submit for filing"
)
async def submit_for_filing(
    contract_id: uuid.UUID, response: Response, uow: UoW, _: CurrentPrincipal, if_match: IfMatch
) -> Contract:
    return with_etag(response, await service.submit_for_filing(uow, contract_id=contract_id, if_match=if_match))


@router.post(
    "/{contract_id}/filing-review",
    response_model=ContractRead,
    responses=ERRORS,
    summary="备案审查（企业所在区县局或市局）/ review the filing (district or city bureau)",
)
async def review_filing(
    contract_id: uuid.UUID, body: FilingReview, response: Response, uow: UoW, _: CurrentPrincipal, if_match: IfMatch
) -> Contract:
    return with_etag(
        response,
        await service.review_filing(
            uow, contract_id=contract_id, decision=body.decision, comments=body.comments, if_match=if_match
        ),
    )


@router.post(
    "/{contract_id}/terminate",
    response_model=ContractRead,
    responses=ERRORS,
    summary="终止协议（一方或主管局，须说明理由）/ terminate (a party or the bureau, with a reason)",
)
async def terminate_contract(
    contract_id: uuid.UUID, body: ReasonBody, response: Response, uow: UoW, _: CurrentPrincipal, if_match: IfMatch
) -> Contract:
    return with_etag(
        response, await service.terminate_contract(uow, contract_id=contract_id, reason=body.reason, if_match=if_match)
    )


@router.post(
    "/{contract_id}/cancel", response_model=ContractRead, responses=ERRORS, summary="撤销草稿 / cancel a draft"
)
async def cancel_contract(
    contract_id: uuid.UUID,
    response: Response,
    uow: UoW,
    _: CurrentPrincipal,
    if_match: IfMatch,
    body: OptionalReasonBody | None = None,
) -> Contract:
    return with_etag(
        response,
        await service.cancel_contract(
            uow, contract_id=contract_id, reason=body.reason if body else None, if_match=if_match
        ),
    )
