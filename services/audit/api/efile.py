"""/api/v1/enterprises/{id}/file: 一企一档 (SPEC §22), served by audit (the gateway routes this one
path here; docs/DECISIONS.md D52) as JSON, XLSX or PDF by ``Accept``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Response

from services.audit.schemas.efile import EnterpriseFileRead
from services.audit.service import efile as service
from shared import exports
from shared.app import UoW
from shared.auth import CurrentPrincipal
from shared.errors import NotAcceptable
from shared.i18n import text

router = APIRouter(prefix="/api/v1/enterprises", tags=["enterprise-file"])
OFFERED = ("application/json", exports.XLSX_MEDIA_TYPE, exports.PDF_MEDIA_TYPE)


@router.get(
    "/{enterprise_id}/file",
    response_model=EnterpriseFileRead,
    responses={
        200: {"content": {exports.XLSX_MEDIA_TYPE: {}, exports.PDF_MEDIA_TYPE: {}}},
        406: {"description": "Accept 不含 JSON、XLSX 或 PDF / Accept takes none of JSON, XLSX, PDF"},
    },
    summary="一企一档：企业的全部记录（JSON、XLSX 或 PDF）/ the enterprise's file (JSON, XLSX or PDF)",
)
async def enterprise_file(
    enterprise_id: uuid.UUID, uow: UoW, _: CurrentPrincipal, accept: Annotated[str | None, Header()] = None
) -> service.EnterpriseFile | Response:
    media = exports.negotiate(accept, OFFERED)
    if media is None:
        raise NotAcceptable(
            text(
                "一企一档可提供 application/json、XLSX 或 application/pdf",
                "The enterprise file comes as application/json, XLSX or application/pdf",
            )
        )
    if media == "application/json":
        return await service.build(uow, enterprise_id=enterprise_id)
    build = service.as_xlsx if media == exports.XLSX_MEDIA_TYPE else service.as_pdf
    _built, body = await build(uow, enterprise_id=enterprise_id)
    suffix = "xlsx" if media == exports.XLSX_MEDIA_TYPE else "pdf"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="enterprise-{enterprise_id}-file.{suffix}"'},
    )
