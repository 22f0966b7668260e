"""Small real files for upload tests (attachments, SPEC §16)."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(seed: int = 0) -> bytes:
    """A 1×1 PNG (``seed`` varies the pixel, hence the sha256)."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixel = bytes([0, seed % 256, (seed // 256) % 256, 7])
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(pixel)) + _chunk(b"IEND", b"")


def jpeg(size: int = 64) -> bytes:
    """SOI, an APP0 (JFIF) segment, padding in a comment, EOI: shaped like a JPEG."""
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    body = b"x" * max(0, size - 26)
    return b"\xff\xd8" + app0 + b"\xff\xfe" + struct.pack(">H", len(body) + 2) + body + b"\xff\xd9"


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
# a polyglot: a JPEG header, then a PDF (readers find "%PDF-" in the first KiB) ending like one
JPEG_PDF = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + PDF
# a PNG whose first KiB carries markup (an HTML/PNG polyglot), with a valid trailer
PNG_HTML = png()[:33] + HTML + png()[33:]
