"""Filing documents: the type is decided by content (magic bytes), never by the file name or the
declared content type; at most 10 MiB, read in chunks (an oversized upload is refused as soon as
it passes the limit, never held in memory); stored once per content under
``<data_dir>/documents/<sha256[:2]>/<sha256>``."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anyio

from shared.errors import ErrorCode, FieldError, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from shared.i18n import text

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the kind field
CHUNK = 256 * 1024

SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


class Readable(Protocol):
    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    content_type: str
    path: Path


def sniff(head: bytes) -> str | None:
    for magic, content_type in SIGNATURES:
        if head.startswith(magic):
            return content_type
    return None


def too_large() -> PayloadTooLarge:
    return PayloadTooLarge(text("文件超过 10 MiB 上限", "The document exceeds the 10 MiB limit"),
                           code=ErrorCode.DOCUMENT_TOO_LARGE, extra={"max_bytes": MAX_DOCUMENT_BYTES})


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
                            text("文件内容不是 PDF、PNG 或 JPEG（按文件内容判断，与文件名无关）",
                                 "The content is not a PDF, PNG or JPEG (decided by content, not by the file name)"),
                            code=ErrorCode.DOCUMENT_TYPE, errors=[FieldError("file", text("不支持的文件类型", "unsupported file type"))])
                size += len(chunk)
                if size > MAX_DOCUMENT_BYTES:
                    raise too_large()
                digest.update(chunk)
                await anyio.to_thread.run_sync(fh.write, chunk)
        if size == 0 or content_type is None:
            raise ValidationFailed(text("文件为空", "The file is empty"), code=ErrorCode.DOCUMENT_EMPTY,
                                   errors=[FieldError("file", text("文件为空", "empty file"))])
        sha = digest.hexdigest()
        final = document_path(root, sha)
        await anyio.Path(final.parent).mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)  # same content, same name: a second upload simply replaces it
        return StoredFile(sha256=sha, size=size, content_type=content_type, path=final)
    finally:
        if tmp.exists():
            tmp.unlink()
