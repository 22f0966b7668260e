"""Attachments (evidence, SPEC §16): photos and PDFs an agency or an enterprise uploads and names
on service logs, hazards and rectifications.

Order of writes (no orphan files, no rows without content): the upload is streamed to a temporary
file in the store and checked (``shared.files``); then, in one transaction, the quota is checked,
the file is moved to its content address and the row is written; should anything fail after the
move (the insert, the commit), the file is removed again unless another row names the same
content or it was there before. The temporary file is always removed.

Visibility: the uploader's organisation, and whoever may read a record that names the attachment;
anyone else gets 404 (existence is not told). A record names only its own organisation's uploads.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from services.audit.models import ServiceLog
from services.audit.models.attachments import Attachment, AttachmentRecord, storage_usage
from services.audit.repository.attachments import Attachments
from services.audit.schemas import ServiceLogCreate
from services.audit.states import UPLOADS_ATTACHMENTS
from shared import files, storage
from shared.errors import ErrorCode, FieldError, NotFound, ValidationFailed
from shared.i18n import text
from shared.ids import new_id
from shared.uow import UnitOfWork

log = structlog.get_logger("audit.attachments")


@dataclass(frozen=True)
class AttachmentContent:
    attachment: Attachment
    path: Path

    @property
    def download_name(self) -> str:
        return f"{self.attachment.id}{files.EXTENSIONS.get(self.attachment.content_type, '')}"


def store_root(uow: UnitOfWork) -> Path:
    return uow.runtime.settings.attachments_root


def authorize_upload(uow: UnitOfWork) -> None:
    """Checked before the body is read."""
    uow.principal.require_role(*UPLOADS_ATTACHMENTS)
    Attachments.owner(uow.principal)


async def upload_attachment(uow: UnitOfWork, *, content: files.Readable) -> Attachment:
    authorize_upload(uow)
    org_role, org_uscc = Attachments.owner(uow.principal)
    root = store_root(uow)
    staged = await files.stage(content, root)
    placed, existed = False, False
    try:
        async with uow:
            repo = Attachments(uow.session)
            here = await repo.used_bytes(uow.principal)
            await storage.check_and_announce(  # this service's bytes and the registry's (SPEC §16)
                uow, storage_usage, org_role=org_role, org_uscc=org_uscc, here=here, size=staged.size
            )
            existed = await files.place(staged, root)
            placed = True
            attachment = Attachment(
                id=new_id(),
                sha256=staged.sha256,
                size=staged.size,
                content_type=staged.content_type,
                org_role=org_role,
                org_uscc=org_uscc,
                uploaded_by=uow.principal.actor,
                created_at=uow.now,
            )
            await repo.add(attachment)
    except BaseException:
        if placed and not existed:
            await _remove_unnamed(uow, root, staged.sha256)
        raise
    finally:
        await files.discard(staged)
    log.info("audit.attachment.uploaded", attachment_id=str(attachment.id), size=staged.size)
    return attachment


async def _remove_unnamed(uow: UnitOfWork, root: Path, sha256: str) -> None:
    """A placed file whose row did not commit: removed unless a row (committed since) names it."""
    try:
        async with uow.read() as session:
            if await Attachments(session).sha_in_use(sha256):
                return
    except Exception:  # the database is what failed: the file is not named by any row we wrote
        log.warning("audit.attachment.cleanup_unchecked", sha256=sha256)
    await files.unplace(root, sha256)


async def attachment_meta(uow: UnitOfWork, *, attachment_id: uuid.UUID) -> Attachment:
    async with uow.read() as session:
        found = await Attachments(session).visible(attachment_id, uow.principal)
    if found is None:
        raise NotFound(text("附件不存在", "No such attachment"))
    return found


async def attachment_content(uow: UnitOfWork, *, attachment_id: uuid.UUID) -> AttachmentContent:
    attachment = await attachment_meta(uow, attachment_id=attachment_id)
    path = files.content_path(store_root(uow), attachment.sha256)
    if not path.is_file():
        raise NotFound(text("附件文件缺失，请联系运维", "The attachment's content is missing; contact operations"))
    return AttachmentContent(attachment, path)


async def name_attachments(
    uow: UnitOfWork, kind: AttachmentRecord, record_id: uuid.UUID, named: Sequence[tuple[str, Sequence[uuid.UUID]]]
) -> None:
    """Record that ``record_id`` names the attachments of each ``(field, ids)``: each must exist
    and be the caller's organisation's (422 ``unknown_attachment`` on the field otherwise)."""
    repo = Attachments(uow.session)
    wanted = [a for _, ids in named for a in ids]
    if not wanted:
        return
    own = await repo.owned(wanted, uow.principal)
    errors = [
        FieldError(f"{field}.{i}", text("附件不存在或不属于本单位", "unknown attachment, or not your organisation's"))
        for field, ids in named
        for i, a in enumerate(ids)
        if a not in own
    ]
    if errors:
        raise ValidationFailed(
            text("附件不存在或不属于本单位", "An attachment is unknown or not your organisation's"),
            code=ErrorCode.UNKNOWN_ATTACHMENT,
            errors=errors,
        )
    await repo.name(kind, record_id, wanted)


async def name_on_visit(uow: UnitOfWork, body: ServiceLogCreate, entry: ServiceLog) -> None:
    """A new service log's attachments and its hazards' photos (the hazards in the body's order)."""
    await name_attachments(uow, AttachmentRecord.SERVICE_LOG, entry.id, [("attachments", body.attachments)])
    for i, (reported, hazard) in enumerate(zip(body.hazards, entry.hazards, strict=True)):
        await name_attachments(uow, AttachmentRecord.HAZARD, hazard.id, [(f"hazards.{i}.photos", reported.photos)])
