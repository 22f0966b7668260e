"""HTTP API of the contracts service (SPEC §9): auth dependency → service function → response."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from shared.app import Ctx
from shared.auth import CurrentPrincipal
from shared.http import check_if_match, set_etag
from shared.pagination import PageParams, page_params
from shared.reference import USCC

from services.contracts import service
from services.contracts.schemas import (
    ContractAmend,
    ContractCreate,
    ContractPage,
    ContractRead,
    ContractStatus,
    FilingReview,
    OptionalReasonBody,
    ReasonBody,
)

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


def _reply(response: Response, body: dict[str, Any]) -> dict[str, Any]:
    set_etag(response, body["version"])
    return body


def _if_match(request: Request):  # noqa: ANN202
    return lambda version: check_if_match(request, version)


@router.post("", status_code=201, response_model=ContractRead, responses=ERRORS,
             summary="起草托管协议 / draft a custody contract")
async def create_contract(body: ContractCreate, request: Request, response: Response, ctx: Ctx,
                          principal: CurrentPrincipal) -> dict[str, Any]:
    result = await service.create_contract(ctx, principal=principal, body=body,
                                           authorization=request.headers.get("authorization"))
    response.headers["Location"] = f"/api/v1/contracts/{result['id']}"
    return _reply(response, result)


@router.get("", response_model=ContractPage, responses=ERRORS, summary="托管协议列表 / list contracts")
async def list_contracts(ctx: Ctx, principal: CurrentPrincipal, page: Annotated[PageParams, Depends(page_params)],
                         status: Annotated[ContractStatus | None, Query()] = None,
                         agency_id: Annotated[uuid.UUID | None, Query()] = None,
                         enterprise_uscc: Annotated[USCC | None, Query()] = None,
                         district: Annotated[str | None, Query(max_length=12, pattern=r"^\d{6}$")] = None,
                         risk_flagged: Annotated[bool | None, Query(description="只看被风险标记的协议 / flagged only")] = None,
                         ) -> dict[str, Any]:
    return await service.list_contracts(ctx, principal=principal, page=page, status=status, agency_id=agency_id,
                                        enterprise_uscc=enterprise_uscc, district=district, risk_flagged=risk_flagged)


@router.get("/{contract_id}", response_model=ContractRead, responses=ERRORS,
            summary="托管协议详情（含历史与签名）/ a contract with its history and signatures")
async def get_contract(contract_id: uuid.UUID, response: Response, ctx: Ctx, principal: CurrentPrincipal) -> dict[str, Any]:
    return _reply(response, await service.get_contract(ctx, principal=principal, contract_id=contract_id))


@router.patch("/{contract_id}", response_model=ContractRead, responses=ERRORS,
              summary="修改条款（草稿或被退回时；已有签名作废）/ amend the terms (draft or rejected; voids signatures)")
async def amend_contract(contract_id: uuid.UUID, body: ContractAmend, request: Request, response: Response, ctx: Ctx,
                         principal: CurrentPrincipal) -> dict[str, Any]:
    return _reply(response, await service.amend_contract(
        ctx, principal=principal, contract_id=contract_id, body=body, precondition=_if_match(request),
        authorization=request.headers.get("authorization")))


@router.post("/{contract_id}/sign", response_model=ContractRead, responses=ERRORS,
             summary="签署（每方一次）/ sign (once per party)")
async def sign_contract(contract_id: uuid.UUID, request: Request, response: Response, ctx: Ctx,
                        principal: CurrentPrincipal) -> dict[str, Any]:
    return _reply(response, await service.sign_contract(ctx, principal=principal, contract_id=contract_id,
                                                        precondition=_if_match(request)))


@router.post("/{contract_id}/file", response_model=ContractRead, responses=ERRORS,
             summary="提交备案 / submit for filing")
async def submit_for_filing(contract_id: uuid.UUID, request: Request, response: Response, ctx: Ctx,
                            principal: CurrentPrincipal) -> dict[str, Any]:
    return _reply(response, await service.submit_for_filing(ctx, principal=principal, contract_id=contract_id,
                                                            precondition=_if_match(request)))


@router.post("/{contract_id}/filing-review", response_model=ContractRead, responses=ERRORS,
             summary="备案审查（企业所在区县局或市局）/ review the filing (district or city bureau)")
async def review_filing(contract_id: uuid.UUID, body: FilingReview, request: Request, response: Response, ctx: Ctx,
                        principal: CurrentPrincipal) -> dict[str, Any]:
    return _reply(response, await service.review_filing(ctx, principal=principal, contract_id=contract_id, body=body,
                                                        precondition=_if_match(request)))


@router.post("/{contract_id}/terminate", response_model=ContractRead, responses=ERRORS,
             summary="终止协议（一方或主管局，须说明理由）/ terminate (a party or the bureau, with a reason)")
async def terminate_contract(contract_id: uuid.UUID, body: ReasonBody, request: Request, response: Response, ctx: Ctx,
                             principal: CurrentPrincipal) -> dict[str, Any]:
    return _reply(response, await service.terminate_contract(ctx, principal=principal, contract_id=contract_id,
                                                             reason=body.reason, precondition=_if_match(request)))


@router.post("/{contract_id}/cancel", response_model=ContractRead, responses=ERRORS,
             summary="撤销草稿 / cancel a draft")
async def cancel_contract(contract_id: uuid.UUID, request: Request, response: Response, ctx: Ctx,
                          principal: CurrentPrincipal, body: OptionalReasonBody | None = None) -> dict[str, Any]:
    return _reply(response, await service.cancel_contract(ctx, principal=principal, contract_id=contract_id,
                                                          reason=body.reason if body else None,
                                                          precondition=_if_match(request)))
