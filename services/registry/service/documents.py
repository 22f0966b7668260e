"""Filing documents: uploads while the filing may still be submitted (states.UPLOAD_DOCUMENT, for
the agency itself), downloads for those who read the full record.

The type is decided by content (magic bytes), never by the file name or the declared content
type: 415 for anything but PDF/PNG/JPEG, 413 past 10 MiB (read in chunks: an oversized upload is
refused as soon as it passes the limit, never held in memory), 422 when empty. ``kind`` is free
text matching ``[a-z][a-z0-9_]{0,39}`` (e.g. ``business_license``). Content is stored once per
content under ``<data_dir>/documents/<sha256[:2]>/<sha256>``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anyio

from services.registry.models import AgencyDocument, storage_usage
from services.registry.repository import Agencies
from services.registry.states import AGENCY, UPLOAD_DOCUMENT
from shared import storage
from shared.errors import ErrorCode, FieldError, NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from shared.http import Precondition
from shared.i18n import text
from shared.ids import new_id
from shared.roles import Role
from shared.uow import UnitOfWork

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the kind field
CHUNK = 256 * 1024

SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}


class Readable(Protocol):
    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    content_type: str
    path: Path


@dataclass(frozen=True)
class DocumentContent:
    """A document and where its content is, for a download."""

    document: AgencyDocument
    path: Path

    @property
    def download_name(self) -> str:
        return f"{self.document.id}{EXTENSIONS.get(self.document.content_type, '')}"


def sniff(head: bytes) -> str | None:
    for magic, content_type in SIGNATURES:
        if head.startswith(magic):
            return content_type
    return None


def too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        text("文件超过 10 MiB 上限", "The document exceeds the 10 MiB limit"),
        code=ErrorCode.DOCUMENT_TOO_LARGE,
        extra={"max_bytes": MAX_DOCUMENT_BYTES},
    )


def document_path(root: Path, sha256: str) -> Path:
    return root / "documents" / sha256[:2] / sha256


async def store(source: Readable, root: Path) -> StoredFile:
    """Stream ``source`` into the content store; 415 if it is not a PDF, PNG or JPEG by content,
    413 past the size limit, 422 when empty."""
    folder = root / "documents"
    await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    content_type: str | None = None
    fd, tmp_name = tempfile.mkstemp(prefix=".upload-", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            while True:
                chunk = await source.read(CHUNK)
                if not chunk:
                    break
                if content_type is None:
                    content_type = sniff(chunk)
                    if content_type is None:
                        raise UnsupportedMediaType(
                            text(
                                "文件内容不是 PDF、PNG 或 JPEG（按文件内容判断，与文件名无关）",
                                "The content is not a PDF, PNG or JPEG (decided by content, not by the file name)",
                            ),
                            code=ErrorCode.DOCUMENT_TYPE,
                            errors=[FieldError("file", text("不支持的文件类型", "unsupported file type"))],
                        )
                size += len(chunk)
                if size > MAX_DOCUMENT_BYTES:
                    raise too_large()
                digest.update(chunk)
                await anyio.to_thread.run_sync(fh.write, chunk)
        if size == 0 or content_type is None:
            raise ValidationFailed(
                text("文件为空", "The file is empty"),
                code=ErrorCode.DOCUMENT_EMPTY,
                errors=[FieldError("file", text("文件为空", "empty file"))],
            )
        sha = digest.hexdigest()
        final = document_path(root, sha)
        await anyio.Path(final.parent).mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)  # same content, same name: a second upload simply replaces it
        return StoredFile(sha256=sha, size=size, content_type=content_type, path=final)
    finally:
        await anyio.Path(tmp).unlink(missing_ok=True)  # gone once moved into place


async def authorize_upload(uow: UnitOfWork, *, agency_id: uuid.UUID) -> None:
    """Checked before the body is read, so that nobody else's upload is ever stored."""
    async with uow.read():
        agency = await Agencies(uow.session).get(agency_id, uow.principal, write=True, lock=False)
    AGENCY.step(UPLOAD_DOCUMENT, agency.status, uow.principal.role)


async def add_document(
    uow: UnitOfWork, *, agency_id: uuid.UUID, kind: str, filename: str | None, content: Readable, if_match: Precondition
) -> AgencyDocument:
    """Store the content, then record it on the filing (checked again under the row's lock)."""
    root = uow.runtime.settings.data_dir
    stored = await store(content, root)
    try:
        return await _record_document(
            uow, agency_id=agency_id, kind=kind, filename=filename, stored=stored, if_match=if_match
        )
    except BaseException:
        # nothing committed: the stored content goes unless another document names it (no orphan files)
        async with uow.read() as session:
            named = await Agencies(session).content_in_use(stored.sha256)
        if not named:
            await anyio.Path(stored.path).unlink(missing_ok=True)
        raise


async def _record_document(
    uow: UnitOfWork,
    *,
    agency_id: uuid.UUID,
    kind: str,
    filename: str | None,
    stored: StoredFile,
    if_match: Precondition,
) -> AgencyDocument:
    async with uow:
        agencies = Agencies(uow.session)
        agency = await agencies.get(agency_id, uow.principal, write=True)
        AGENCY.authorize(UPLOAD_DOCUMENT, uow.principal.role)
        if_match.check(agency.version)
        AGENCY.step(UPLOAD_DOCUMENT, agency.status)
        # the organisation's one storage quota, with its attachments in the audit service (SPEC §16)
        await storage.check_and_announce(
            uow,
            storage_usage,
            org_role=Role.AGENCY,
            org_uscc=agency.uscc,
            here=await agencies.document_bytes(agency.uscc),
            size=stored.size,
        )
        document = AgencyDocument(
            id=new_id(),
            agency_id=agency.id,
            kind=kind,
            filename=filename,
            sha256=stored.sha256,
            size=stored.size,
            content_type=stored.content_type,
            uploaded_by=uow.principal.actor,
            created_at=uow.now,
        )
        agency.documents.append(document)
        agency.touch(uow.now)
        await uow.session.flush()
    return document


async def document_for_download(uow: UnitOfWork, *, agency_id: uuid.UUID, document_id: uuid.UUID) -> DocumentContent:
    """A filing's document, for the agency itself, its governing bureau and admin."""
    async with uow.read():
        agencies = Agencies(uow.session)
        agency = await agencies.get(agency_id, uow.principal)
        document = await agencies.document(agency, document_id)
    path = document_path(uow.runtime.settings.data_dir, document.sha256)
    if not await anyio.Path(path).is_file():
        raise NotFound(text("材料文件缺失，请联系运维", "The document's content is missing; contact operations"))
    return DocumentContent(document, path)
