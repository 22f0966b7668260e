"""``custody import enterprises FILE``: a district's spreadsheet (CSV in UTF-8/GBK/GB18030, or
XLSX) sent to ``POST /api/v1/enterprises/import`` through the gateway as the signed-in person,
streamed in chunks so that the progress bar shows what has been sent; the per-row report comes
back as the API gives it (SPEC §22)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cli.api import ApiError, call

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 256 * 1024
# The server reads and writes while the upload goes on; 100k rows take minutes on a busy machine.
IMPORT_TIMEOUT = 900.0


def content_type_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return XLSX_TYPE
    if suffix in (".csv", ".txt"):
        return "text/csv"
    raise ApiError(f"{path.name}: 只支持 .csv 与 .xlsx / only .csv and .xlsx files")


def chunks(path: Path, on_sent: Callable[[int], None]) -> Iterator[bytes]:
    with path.open("rb") as file:
        while block := file.read(CHUNK):
            yield block
            on_sent(len(block))


def import_enterprises(
    path: Path, *, gateway: str | None, dry_run: bool, language: str, on_sent: Callable[[int], None]
) -> dict[str, Any]:
    media = content_type_of(path)
    report: dict[str, Any] = call(
        "POST",
        "/api/v1/enterprises/import",
        gateway=gateway,
        language=language,
        timeout=IMPORT_TIMEOUT,
        headers={"Content-Type": media, "Content-Length": str(path.stat().st_size)},
        params={"dry_run": "true"} if dry_run else None,
        content=chunks(path, on_sent),
    )
    return report
