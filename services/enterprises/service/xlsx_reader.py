"""The XLSX reader of the bulk import: a streamed body → the first sheet's rows as cells.

- The body is spooled to a temporary file (a workbook is a zip archive: its directory is at the
  end), at most ``max_bytes`` of it; then checked before anything is unpacked: it must be a zip
  archive (``PK``; an old ``.xls`` or a CSV sent with the XLSX type is refused with a hint), of at
  most ``MAX_ENTRIES`` members, whose declared unpacked size is at most ``max_unpacked`` in all
  (413) and no member of which unpacks more than ``MAX_RATIO`` times its packed size (a zip bomb,
  422). Python's zipfile never inflates a member past its declared size, so these bounds hold.
- The first sheet is read with openpyxl in read-only mode (streamed, values only, formulas as
  their cached values), ``ROWS_PER_STEP`` rows at a time in a worker thread so that a large sheet
  never stalls the event loop; the next rows are read while the importer writes the last ones. At most ``max_columns`` columns are read, and rows past
  ``max_rows`` (Excel's own limit) end the file as unreadable. Row numbers are the sheet's own;
  missing rows are blank rows, skipped by the importer.
- Cells become text the way a bureau typed them: whole numbers without ``.0`` (Excel stores
  从业人数 and phone numbers as numbers), dates as ISO dates, booleans as true/false.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import tempfile
import zipfile
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import IO, Any

import anyio
from openpyxl import load_workbook

from services.enterprises.service.imports import Cells, Unreadable
from shared.errors import ErrorCode, FieldError, PayloadTooLarge, ValidationFailed
from shared.i18n import Text, text

MAX_BYTES = 256 * 1024 * 1024
MAX_UNPACKED = 1024 * 1024 * 1024
MAX_ENTRIES = 1000
MAX_RATIO = 200
RATIO_FROM = 1024 * 1024  # members smaller than this unpacked are never a bomb worth the name
MAX_ROWS = 1_048_576  # Excel's limit
MAX_COLUMNS = 64
ROWS_PER_STEP = 1000
SPOOL_BYTES = 8 * 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0"


def bad_xlsx(detail: Text, reason: Text) -> ValidationFailed:
    return ValidationFailed(detail, code=ErrorCode.BAD_XLSX, errors=[FieldError("file", reason)])


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def check_archive(file: IO[bytes], *, max_unpacked: int = MAX_UNPACKED) -> None:
    """Refuse what is not a zip archive, or one that would unpack too far (see the module)."""
    file.seek(0)
    magic = file.read(4)
    file.seek(0)
    if magic == OLE2_MAGIC:
        raise bad_xlsx(
            text(
                "这是旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后上传",
                "This is a legacy Excel (.xls) file; save it as .xlsx or CSV and upload that",
            ),
            text("旧版 .xls 格式", "legacy .xls format"),
        )
    if magic != ZIP_MAGIC:
        raise bad_xlsx(
            text(
                "文件不是 XLSX 工作簿（CSV 文件请以 text/csv 上传）",
                "The file is not an XLSX workbook (send a CSV file as text/csv)",
            ),
            text("不是 XLSX（zip）文件", "not an XLSX (zip) file"),
        )
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise bad_xlsx(
            text("XLSX 文件已损坏或不完整", "The XLSX file is damaged or incomplete"), text(str(exc), str(exc))
        ) from exc
    finally:
        file.seek(0)
    if len(members) > MAX_ENTRIES:
        raise bad_xlsx(
            text(f"XLSX 文件包含的部件过多（超过 {MAX_ENTRIES} 个）", f"The XLSX file has over {MAX_ENTRIES} parts"),
            text("部件过多", "too many parts"),
        )
    unpacked = sum(m.file_size for m in members)
    if unpacked > max_unpacked:
        raise PayloadTooLarge(
            text(
                f"XLSX 解压后过大（{unpacked} 字节，上限 {max_unpacked} 字节），请拆分文件或另存为 CSV",
                f"The XLSX unpacks to {unpacked} bytes, over the limit of {max_unpacked}; split it or save as CSV",
            ),
            extra={"limit_bytes": max_unpacked},
        )
    for m in members:
        if m.file_size > RATIO_FROM and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise bad_xlsx(
                text(
                    f"XLSX 部件 {m.filename} 的压缩比异常（疑似压缩炸弹）",
                    f"The XLSX part {m.filename} is compressed suspiciously far (a zip bomb?)",
                ),
                text("压缩比异常", "abnormal compression ratio"),
            )


class XlsxReader:
    """The lines of an XLSX body streamed in ``chunks``; its ``encoding`` is ``xlsx``."""

    encoding = "xlsx"

    def __init__(
        self,
        chunks: AsyncIterable[bytes],
        *,
        max_bytes: int = MAX_BYTES,
        max_unpacked: int = MAX_UNPACKED,
        max_rows: int = MAX_ROWS,
        max_columns: int = MAX_COLUMNS,
    ) -> None:
        self._chunks = chunks
        self.max_bytes, self.max_unpacked = max_bytes, max_unpacked
        self.max_rows, self.max_columns = max_rows, max_columns

    async def _spool(self) -> IO[bytes]:
        file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 — closed by lines()
        size = 0
        async for chunk in self._chunks:
            size += len(chunk)
            if size > self.max_bytes:
                file.close()
                raise PayloadTooLarge(
                    text(f"文件超过 {self.max_bytes} 字节", f"The file is over {self.max_bytes} bytes"),
                    extra={"limit_bytes": self.max_bytes},
                )
            file.write(chunk)
        return file

    def _open(self, file: IO[bytes]) -> tuple[Any, Iterator[tuple[Any, ...]]]:
        check_archive(file, max_unpacked=self.max_unpacked)
        try:
            workbook = load_workbook(file, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises KeyError, InvalidFileException, XML errors … on a non-workbook
            raise bad_xlsx(
                text("文件不是可读取的 XLSX 工作簿", "The file is not a readable XLSX workbook"),
                text(f"{type(exc).__name__}: {exc}", f"{type(exc).__name__}: {exc}"),
            ) from exc
        if not workbook.worksheets:
            workbook.close()
            raise bad_xlsx(text("工作簿中没有工作表", "The workbook has no sheet"), text("没有工作表", "no sheet"))
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # the declared size may lie: read the rows that are there
        return workbook, sheet.iter_rows(max_col=self.max_columns, values_only=True)

    @staticmethod
    def _step(rows: Iterator[tuple[Any, ...]], count: int) -> tuple[list[list[str]], str | None]:
        out: list[list[str]] = []
        try:
            for values in rows:
                cells = [cell_text(v) for v in values]
                while cells and not cells[-1]:
                    cells.pop()
                out.append(cells)
                if len(out) >= count:
                    break
        except Exception as exc:  # damaged sheet XML: the rows before it stand
            return out, f"{type(exc).__name__}: {exc}"
        return out, None

    async def lines(self) -> AsyncIterator[Cells | Unreadable]:
        file = await self._spool()
        loop = asyncio.get_running_loop()
        workbook = None
        pending: asyncio.Future[tuple[list[list[str]], str | None]] | None = None
        try:
            workbook, rows = await anyio.to_thread.run_sync(self._open, file)
            number = 0
            step = min(ROWS_PER_STEP, self.max_rows + 1)
            reading = pending = loop.run_in_executor(None, self._step, rows, step)
            while True:
                batch, error = await reading
                pending = None
                more = error is None and len(batch) == step and number + len(batch) <= self.max_rows
                if more:  # read the next rows while the importer writes these
                    next_step = min(ROWS_PER_STEP, self.max_rows - number - len(batch) + 1)
                    reading = pending = loop.run_in_executor(None, self._step, rows, next_step)
                for cells in batch:
                    number += 1
                    if number > self.max_rows:
                        yield Unreadable(number, self._too_many_rows(), is_row=False)
                        return
                    yield Cells(number, cells)
                if error is not None:
                    yield Unreadable(number + 1, self._damaged(error), is_row=False)
                    return
                if not more:
                    return
                step = next_step
        finally:
            if pending is not None:  # never close the workbook under a read in flight
                with contextlib.suppress(Exception):
                    await asyncio.shield(pending)
            if workbook is not None:
                workbook.close()
            file.close()

    def _too_many_rows(self) -> FieldError:
        return FieldError(
            "file",
            text(
                f"工作表超过 {self.max_rows} 行，此行及其后各行未导入",
                f"The sheet has more than {self.max_rows} rows; this row and the rest were not imported",
            ),
        )

    @staticmethod
    def _damaged(error: str) -> FieldError:
        return FieldError(
            "file",
            text(
                f"工作表自此行起已损坏，此行及其后各行未导入（{error}）",
                f"The sheet is damaged from this row on; this row and the rest were not imported ({error})",
            ),
        )
