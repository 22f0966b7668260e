"""CSV exports of listings (SPEC §12: the bureau exports hazards and complaints): a listing asked
for with ``Accept: text/csv`` returns every matching row the caller may see (not one page), UTF-8
with a BOM so that Excel opens Chinese text correctly."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any, Awaitable, Callable, Sequence

from fastapi import Request
from fastapi.responses import Response

from shared.pagination import MAX_LIMIT, PageParams

MAX_EXPORT_ROWS = 100_000


def wants_csv(request: Request) -> bool:
    return "text/csv" in request.headers.get("accept", "").lower()


async def all_rows(fetch: Callable[[PageParams], Awaitable[tuple[list[Any], str | None]]]) -> list[Any]:
    rows: list[Any] = []
    cursor: str | None = None
    while len(rows) < MAX_EXPORT_ROWS:
        page, cursor = await fetch(PageParams(limit=MAX_LIMIT, cursor=cursor))
        rows += page
        if cursor is None:
            break
    return rows[:MAX_EXPORT_ROWS]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    text = str(value)
    # Neutralise spreadsheet formulas (CSV injection): a cell must not start with = + - @.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def csv_response(rows: Sequence[Any], columns: Sequence[str], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(getattr(row, c, None) if not isinstance(row, dict) else row.get(c)) for c in columns])
    return Response(("\ufeff" + buffer.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
