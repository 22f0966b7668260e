"""A content-addressed file store for uploads (attachments, SPEC §16).

The type is decided by content, never by the file name or the declared content type: a PDF, PNG
or JPEG by its magic bytes (415 otherwise), and shaped like one — a polyglot (an HTML or PDF
marker in the first KiB of another type) or a file without its format's trailer (JPEG ``FFD9``,
PNG ``IEND``, PDF ``%%EOF``) is 422; empty is 422; past ``max_bytes`` 413 as soon as the stream
passes it (never held in memory).

Writing is in two steps so that the caller decides the order with its database row: ``stage``
streams to a temporary file in the store (hashing as it goes); ``place`` renames it to
``<root>/<sha256[:2]>/<sha256>`` (atomic; the same content, the same name); ``discard`` removes
the temporary file (always, in ``finally``), ``unplace`` a placed file no row names.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anyio
from starlette.requests import Request
from starlette.types import Message

from shared.errors import ErrorCode, FieldError, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from shared.i18n import text

MAX_FILE_BYTES = 10 * 1024 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers
CHUNK = 256 * 1024
HEAD = 1024  # PDF readers accept "%PDF-" anywhere in the first KiB: so do polyglots

SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}
MARKUP = (b"<html", b"<script", b"<!doctype", b"<svg", b"<?xml", b"<body", b"<iframe")


class Readable(Protocol):
    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class Staged:
    sha256: str
    size: int
    content_type: str
    tmp: Path


def sniff(head: bytes) -> str | None:
    for magic, content_type in SIGNATURES:
        if head.startswith(magic):
            return content_type
    return None


def well_formed(content_type: str, head: bytes, tail: bytes) -> bool:
    """Only one format: no markup or second signature in the head, the format's own trailer."""
    lowered = head.lower()
    if any(marker in lowered for marker in MARKUP):
        return False
    if content_type != "application/pdf" and b"%PDF-" in head:
        return False
    end = tail.rstrip(b"\r\n\x00 ")
    if content_type == "image/jpeg":
        return end.endswith(b"\xff\xd9")
    if content_type == "image/png":
        return end.endswith(b"IEND\xaeB`\x82")
    return b"%%EOF" in tail


def too_large(max_bytes: int = MAX_FILE_BYTES) -> PayloadTooLarge:
    mib = max_bytes // (1024 * 1024)
    return PayloadTooLarge(
        text(f"文件超过 {mib} MiB 上限", f"The file exceeds the {mib} MiB limit"),
        code=ErrorCode.ATTACHMENT_TOO_LARGE,
        extra={"max_bytes": max_bytes},
    )


def _refused(exc: type[UnsupportedMediaType] | type[ValidationFailed], code: ErrorCode, zh: str, en: str) -> Exception:
    return exc(text(zh, en), code=code, errors=[FieldError("file", text(zh, en))])


def content_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


async def stage(source: Readable, root: Path, *, max_bytes: int = MAX_FILE_BYTES) -> Staged:
    """Stream ``source`` to a temporary file under ``root``, checked as above (the temporary
    file is removed when a check fails; otherwise the caller places or discards it)."""
    await anyio.Path(root).mkdir(parents=True, exist_ok=True)
    digest, size, head, tail = hashlib.sha256(), 0, b"", b""
    fd, tmp_name = tempfile.mkstemp(prefix=".upload-", dir=root)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            while chunk := await source.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise too_large(max_bytes)
                if len(head) < HEAD:
                    head += chunk[: HEAD - len(head)]
                tail = (tail + chunk)[-HEAD:]
                digest.update(chunk)
                await anyio.to_thread.run_sync(fh.write, chunk)
        if size == 0:
            raise _refused(ValidationFailed, ErrorCode.ATTACHMENT_EMPTY, "文件为空", "The file is empty")
        content_type = sniff(head)
        if content_type is None:
            raise _refused(
                UnsupportedMediaType,
                ErrorCode.ATTACHMENT_TYPE,
                "文件内容不是 PDF、PNG 或 JPEG（按内容判断，与文件名和声明的类型无关）",
                "The content is not a PDF, PNG or JPEG (decided by content, not by the name or declared type)",
            )
        if not well_formed(content_type, head, tail):
            raise _refused(
                ValidationFailed,
                ErrorCode.ATTACHMENT_MALFORMED,
                "文件格式不完整或混有其他格式",
                "The file is malformed or mixes formats (polyglot)",
            )
    except BaseException:
        await anyio.Path(tmp).unlink(missing_ok=True)
        raise
    return Staged(sha256=digest.hexdigest(), size=size, content_type=content_type, tmp=tmp)


async def place(staged: Staged, root: Path) -> bool:
    """Move the staged file to its content address; whether that file was already there."""
    final = content_path(root, staged.sha256)
    await anyio.Path(final.parent).mkdir(parents=True, exist_ok=True)
    existed = await anyio.Path(final).is_file()
    os.replace(staged.tmp, final)
    return existed


async def discard(staged: Staged) -> None:
    await anyio.Path(staged.tmp).unlink(missing_ok=True)


async def unplace(root: Path, sha256: str) -> None:
    await anyio.Path(content_path(root, sha256)).unlink(missing_ok=True)


def limited(request: Request, max_bytes: int) -> Request:
    """The same request, whose body stops being read once it passes ``max_bytes``."""
    seen = 0

    async def receive() -> Message:
        nonlocal seen
        message = await request.receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                raise too_large(MAX_FILE_BYTES)
        return message

    return Request(request.scope, receive)
