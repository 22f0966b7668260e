"""/api/v1/attachments (evidence, SPEC §16)"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from starlette.datastructures import UploadFile

from services.audit.models.attachments import Attachment
from services.audit.schemas.attachments import AttachmentRead
from services.audit.service import attachments as service
from shared import files
from shared.app import UoW
from shared.auth import CurrentPrincipal
from shared.errors import FieldError, UnsupportedMediaType, ValidationFailed
from shared.http import stored_file
from shared.i18n import text

router = APIRouter(prefix="/api/v1/attachments", tags=["attachments"])
BODY_LIMIT = files.MAX_FILE_BYTES + files.MULTIPART_OVERHEAD
MEDIA: dict[str, dict[str, object]] = {"application/pdf": {}, "image/png": {}, "image/jpeg": {}}


@router.post(
    "",
    status_code=201,
    response_model=AttachmentRead,
    summary="上传附件（照片或 PDF）/ upload an attachment (photo or PDF)",
    responses={
        413: {"description": "超过 10 MiB 或本单位配额 / over 10 MiB or the quota (quota_exceeded)"},
        415: {"description": "不是 JPEG、PNG 或 PDF（按内容）/ not a JPEG, PNG or PDF by content"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    },
                    "example": {"file": "(JPEG, PNG or PDF bytes, ≤ 10 MiB)"},
                }
            },
        }
    },
)
async def upload(request: Request, uow: UoW, _: CurrentPrincipal, response: Response) -> Attachment:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        raise UnsupportedMediaType(
            text("请以 multipart/form-data 上传（字段 file）", "Upload as multipart/form-data (field file)")
        )
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > BODY_LIMIT:
        raise files.too_large()
    service.authorize_upload(uow)
    form = await files.limited(request, BODY_LIMIT).form(max_files=1, max_fields=2)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed(
                text("缺少文件", "A file is required"),
                errors=[FieldError("file", text("缺少文件", "a file is required"))],
            )
        attachment = await service.upload_attachment(uow, content=upload)
    finally:
        await form.close()
    response.headers["Location"] = f"/api/v1/attachments/{attachment.id}"
    return attachment


@router.get("/{attachment_id}/meta", response_model=AttachmentRead, summary="附件信息 / an attachment's metadata")
async def meta(attachment_id: uuid.UUID, uow: UoW, _: CurrentPrincipal) -> Attachment:
    return await service.attachment_meta(uow, attachment_id=attachment_id)


@router.get("/{attachment_id}", summary="下载附件 / download an attachment", responses={200: {"content": MEDIA}})
async def download(attachment_id: uuid.UUID, uow: UoW, _: CurrentPrincipal) -> Response:
    content = await service.attachment_content(uow, attachment_id=attachment_id)
    attachment = content.attachment
    return stored_file(
        content.path,
        content_type=attachment.content_type,
        download_name=content.download_name,
        sha256=attachment.sha256,
    )
