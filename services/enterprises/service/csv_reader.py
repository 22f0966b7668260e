"""The CSV reader of the bulk import: a streamed body → the file's lines as cells.

The body is read as a stream and never held whole: bytes → text (UTF-8 with or without BOM; a
file that is not UTF-8 is read as GB18030, the superset of GBK that Excel writes on Chinese
Windows; a ``charset`` parameter on the Content-Type wins) → complete CSV records (a quoted field
may span lines) → cells. What the cells mean is the importer's (service/imports.py): another
format (XLSX) is another reader yielding the same ``Cells`` / ``Unreadable`` lines (the
``Reader`` protocol of service/imports.py).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import AsyncIterable, AsyncIterator

from services.enterprises.service.imports import Cells, Unreadable
from shared.errors import ErrorCode, FieldError, ValidationFailed
from shared.i18n import text

SNIFF_BYTES = 64 * 1024
MAX_RECORD_CHARS = 64 * 1024
CHARSETS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "gb18030": "gb18030",
    "cp936": "gb18030",
}
ENCODING_NAMES = {"utf-8": "utf-8", "utf-8-sig": "utf-8-bom", "gb18030": "gbk"}  # as the report names them


class Decoder:
    """Bytes → text. ASCII is the same in every supported encoding, so the encoding is decided on
    the first non-ASCII bytes (a BOM, or at least ``SNIFF_BYTES`` / the rest of the file from
    there), however far into the file they come; until then nothing is held back."""

    def __init__(self, declared: str | None = None) -> None:
        self.encoding = CHARSETS.get((declared or "").lower())
        self._decoder = codecs.getincrementaldecoder(self.encoding)() if self.encoding else None
        self._buffer = bytearray()
        self._at_start = True
        self.error: str | None = None

    def feed(self, data: bytes, *, final: bool = False) -> str:
        if self._decoder is None:
            self._buffer.extend(data)
            if (
                self._at_start
                and not final
                and len(self._buffer) < 3
                and codecs.BOM_UTF8.startswith(bytes(self._buffer[:3]))
            ):
                return ""  # could still be a BOM
            self._at_start = False
            if self._buffer.isascii():
                out, self._buffer = self._buffer.decode("ascii"), bytearray()
                return out
            first = next(i for i, b in enumerate(self._buffer) if b >= 0x80)
            if not final and len(self._buffer) - first < SNIFF_BYTES:
                return ""  # bounded: at most SNIFF_BYTES past the first non-ASCII byte
            data, self._buffer = bytes(self._buffer), bytearray()
            window = data[: first + SNIFF_BYTES]
            self.encoding = self._sniff(window, final and len(window) == len(data))
            self._decoder = codecs.getincrementaldecoder(self.encoding)()
        if self.error:
            return ""
        try:
            return self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            # Keep the text before the bad bytes (the caller stops after it): the rows before
            # this point are imported, the rest is reported.
            self.error = str(exc)
            return codecs.decode(exc.object[: exc.start], self.encoding or "utf-8", "replace")

    @staticmethod
    def _sniff(data: bytes, final: bool) -> str:
        if data.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise ValidationFailed(
                text(
                    "不支持 UTF-16 编码，请另存为 UTF-8 或 GBK 的 CSV",
                    "UTF-16 is not supported; save the CSV as UTF-8 or GBK",
                ),
                code=ErrorCode.UNSUPPORTED_ENCODING,
                errors=[FieldError("file", text("UTF-16", "UTF-16"))],
            )
        try:
            codecs.getincrementaldecoder("utf-8")().decode(data, final)
            return "utf-8"
        except UnicodeDecodeError:
            return "gb18030"


class RecordSplitter:
    """Text → complete CSV records (a quoted field may span lines)."""

    def __init__(self) -> None:
        self._pending = ""
        self._record: list[str] = []
        self._size = 0

    def feed(self, chunk: str, *, final: bool = False) -> list[str]:
        data = self._pending + chunk
        lines = data.split("\n")
        self._pending = "" if final else lines.pop()
        out: list[str] = []
        for i, line in enumerate(lines):
            if final and i == len(lines) - 1:
                if not line and not self._record:
                    break
            else:
                line += "\n"
            self._record.append(line)
            self._size += len(line)
            record = "".join(self._record) if len(self._record) > 1 else line
            if self._complete(record) or self._size > MAX_RECORD_CHARS:
                out.append(record)
                self._record, self._size = [], 0
        if final and self._record:
            out.append("".join(self._record))
            self._record, self._size = [], 0
        return out

    @staticmethod
    def _complete(record: str) -> bool:
        if record.count('"') % 2 == 0:
            return True
        try:
            next(csv.reader([record], strict=True), None)
        except csv.Error as exc:
            return "unexpected end of data" not in str(exc)
        return True


class CsvReader:
    """The lines of a CSV body streamed in ``chunks``; ``encoding`` names what it was read as."""

    def __init__(self, chunks: AsyncIterable[bytes], *, charset: str | None = None) -> None:
        self._chunks = chunks
        self._decoder = Decoder(charset)

    @property
    def encoding(self) -> str:
        encoding = self._decoder.encoding or "utf-8"
        return ENCODING_NAMES.get(encoding, encoding)

    async def lines(self) -> AsyncIterator[Cells | Unreadable]:
        decoder, splitter = self._decoder, RecordSplitter()
        number = 0
        final = False
        iterator = self._chunks.__aiter__()
        while not final:
            try:
                data = await iterator.__anext__()
            except StopAsyncIteration:
                data, final = b"", True
            for record in splitter.feed(decoder.feed(data, final=final), final=final and not decoder.error):
                number += 1
                try:
                    cells = next(csv.reader([record]), [])
                except csv.Error as exc:
                    if number == 1:
                        raise ValidationFailed(
                            text("表头无法解析", "The header row cannot be parsed"),
                            code=ErrorCode.BAD_CSV_HEADER,
                            errors=[FieldError("header", str(exc))],
                        ) from exc
                    yield Unreadable(number, FieldError("row", text(f"CSV 格式错误：{exc}", f"Malformed CSV: {exc}")))
                    continue
                yield Cells(number, cells)
            if decoder.error:
                name = self.encoding
                yield Unreadable(
                    number + 1,
                    FieldError(
                        "file",
                        text(
                            f"文件编码不一致：自此行起无法按 {name} 解码，此行及其后各行未导入",
                            f"Inconsistent encoding: from this row on the file is not {name}; "
                            "this row and the rest were not imported",
                        ),
                    ),
                    is_row=False,
                )
                return
