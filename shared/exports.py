"""Spreadsheet exports: CSV (streamed) and XLSX (built off the event loop), one cell rule.

- A text cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``,
  a tab or a carriage return) is prefixed with ``'`` in CSV; XLSX cells are typed as strings, never
  formulas, so they keep the text verbatim.
- CSV is UTF-8 with a BOM (Excel then reads Chinese correctly), ``\\r\\n`` line ends, streamed row
  by row so that an export of 100,000 rows never sits in memory as one string.
- XLSX is written by openpyxl's write-only workbook in a worker thread, so a large export never
  stalls the event loop.
- ``wants_csv`` reads ``Accept`` the way a client means it (``text/csv`` ranked at least as high as
  JSON).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import anyio
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from starlette.responses import Response, StreamingResponse

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value: Any) -> str:
    """A value as export text: ISO dates, ``true``/``false``, lists joined by ``;``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ";".join(cell_text(v) for v in value)
    return str(value)


def formula_safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula, quoted (CSV injection); other values as they are."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def csv_cell(value: Any) -> str:
    text: str = formula_safe(cell_text(value))
    return text


def _csv_line(values: Sequence[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([csv_cell(v) for v in values])
    return buffer.getvalue().encode("utf-8")


async def csv_chunks(
    header: Sequence[str], rows: AsyncIterable[Sequence[Any]] | Iterable[Sequence[Any]], *, batch: int = 500
) -> AsyncIterator[bytes]:
    yield "\ufeff".encode() + _csv_line(header)
    chunk: list[bytes] = []
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            chunk.append(_csv_line(row))
            if len(chunk) >= batch:
                yield b"".join(chunk)
                chunk = []
    else:
        for row in rows:
            chunk.append(_csv_line(row))
            if len(chunk) >= batch:
                yield b"".join(chunk)
                chunk = []
    if chunk:
        yield b"".join(chunk)


def csv_response(
    header: Sequence[str], rows: AsyncIterable[Sequence[Any]] | Iterable[Sequence[Any]], *, filename: str
) -> StreamingResponse:
    return StreamingResponse(
        csv_chunks(header, rows),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, bool):
        return cell_text(value)
    if isinstance(value, (int, float, Decimal)):
        return value
    return cell_text(value)


def xlsx_bytes(sheet_title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """The workbook, built with openpyxl's write-only mode (call it off the event loop)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31] or "sheet")
    sheet.freeze_panes = "A2"
    widths = [len(h) * 2 + 2 for h in header]
    materialised = []
    for row in rows:
        values = [_xlsx_value(v) for v in row]
        for i, v in enumerate(values[: len(widths)]):
            widths[i] = min(60, max(widths[i], len(str(v)) + 2))
        materialised.append(values)
    for i, width in enumerate(widths):
        sheet.column_dimensions[_column_letter(i + 1)].width = width
    sheet.append(list(header))
    for values in materialised:
        cells = []
        for v in values:
            cell = WriteOnlyCell(sheet, value=v)
            if isinstance(v, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index))


async def xlsx_response(
    sheet_title: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *, filename: str
) -> Response:
    body = await anyio.to_thread.run_sync(xlsx_bytes, sheet_title, header, list(rows))
    return Response(
        body, media_type=XLSX_MEDIA_TYPE, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def wants_csv(accept: str | None) -> bool:
    """CSV when ``Accept`` ranks text/csv at least as high as JSON."""
    return _ranked(accept, "text/csv")


def wants_xlsx(accept: str | None) -> bool:
    return _ranked(accept, XLSX_MEDIA_TYPE)


def _ranked(accept: str | None, media: str) -> bool:
    weights: dict[str, float] = {}
    for part in (accept or "").lower().split(","):
        name, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        weights[name] = max(q, weights.get(name, 0.0))
    wanted = weights.get(media, 0.0)
    json_q = max(
        weights.get("application/json", 0.0), weights.get("application/*", 0.0), weights.get("*/*", 0.0) * 0.99
    )
    return wanted > 0 and wanted >= json_q


PDF_MEDIA_TYPE = "application/pdf"


def negotiate(accept: str | None, offered: Sequence[str]) -> str | None:
    """The media type of ``offered`` (the first is the default) that ``Accept`` ranks highest — a
    type named outright beats a wildcard at the same weight; None when it takes none of them (406).
    No ``Accept`` (or an empty one) takes anything."""
    if not (accept or "").strip():
        return offered[0]
    weights: dict[str, float] = {}
    for part in (accept or "").lower().split(","):
        name, *params = (p.strip() for p in part.split(";"))
        if not name:
            continue
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = min(max(float(param[2:]), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        weights[name] = max(q, weights.get(name, 0.0))
    best: tuple[float, int, int] | None = None
    chosen: str | None = None
    for index, media in enumerate(offered):
        kind = media.split("/", 1)[0]
        for specificity, key in ((2, media), (1, f"{kind}/*"), (0, "*/*")):
            if key in weights:
                rank = (weights[key], specificity, -index)
                if weights[key] > 0 and (best is None or rank > best):
                    best, chosen = rank, media
                break
    return chosen
