"""Exports (SPEC §12): the directory (public), enterprises, contracts, hazards and complaints as CSV
or XLSX with the lists' own filters. CSV is streamed as the API's pages arrive; XLSX (a zip, written
at the end) is built in a worker thread by openpyxl's write-only workbook into a temporary file and
then streamed — the event loop never builds a spreadsheet."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from portal import exports
from portal.api import ApiError
from portal.pages.public import directory_filters
from portal.web import Exit, view_of

router = APIRouter(include_in_schema=False)
CSV_MAX_ROWS = 1_000_000
XLSX_MAX_ROWS = 100_000
PRIVATE = ("enterprises", "contracts", "hazards", "complaints")


def export_params(dataset: str, request: Request) -> dict[str, str]:
    if dataset == "directory":
        return directory_filters(request)[0]
    out = {}
    for key in exports.DATASETS[dataset][1]:
        value = (request.query_params.get(key) or "").strip()
        if value and len(value) <= 100:
            out[key] = value
    return out


@router.get("/portal/exports/{filename}")
async def export(filename: str, request: Request) -> Response:
    v = await view_of(request)
    dataset, _, fmt = filename.partition(".")
    if dataset not in exports.DATASETS or fmt not in ("csv", "xlsx"):
        raise Exit(v.error(404, v.t("not_found")))
    if dataset in PRIVATE:
        v.require()
    path = exports.DATASETS[dataset][0]
    params = export_params(dataset, request)
    api = v.api
    # The first page before the response starts: a refusal (401, 403, 422, 503) is a page, not a
    # broken download.
    first, cursor = await api.page(path, {**params, "limit": 200})
    stamp = time.strftime("%Y%m%d")
    disposition = {"Content-Disposition": f'attachment; filename="custody-{dataset}-{stamp}.{fmt}"'}

    async def batches() -> AsyncIterator[list[dict[str, Any]]]:
        yield first
        if cursor:
            async for batch in api.pages(
                path,
                {**params, "cursor": cursor},
                max_items=(CSV_MAX_ROWS if fmt == "csv" else XLSX_MAX_ROWS) - len(first),
            ):
                yield batch

    if fmt == "csv":

        async def body() -> AsyncIterator[bytes]:
            yield exports.csv_header(dataset, v.lang)
            try:
                async for batch in batches():
                    yield exports.csv_rows(dataset, batch, v.lang)
            except ApiError:
                # the download has begun: say so in the file rather than cut it silently
                yield exports.csv_truncated(v.lang)

        return v.finish(
            StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers=disposition),
            private=dataset != "directory",
        )

    items = []
    async for batch in batches():
        items.extend(batch)
    handle = await anyio.to_thread.run_sync(exports.xlsx_file, dataset, items, v.lang)

    def chunks() -> Iterator[bytes]:
        while True:
            data = handle.read(256 * 1024)
            if not data:
                return
            yield data

    headers = {**disposition, "X-Export-Rows": str(len(items))}
    response = StreamingResponse(
        chunks(),
        headers=headers,
        background=BackgroundTask(handle.close),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    return v.finish(response, private=dataset != "directory")
