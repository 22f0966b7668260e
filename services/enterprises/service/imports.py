"""Bulk import of enterprise records (POST /api/v1/enterprises/import), whatever the file format.

- A reader (service/csv_reader.py, service/xlsx_reader.py) turns the file into lines of cells;
  service/import_columns.py says what headers and cells mean (English or Chinese headers, codes
  or Chinese labels); this module applies the rows. The header is the first row naming known
  columns: a title row or blank rows above it are skipped, and so are blank rows anywhere.
- Every row is validated with exactly what POST checks, plus: the importing bureau must govern the
  row's district (and the district of the existing record it would change), and a USCC may appear
  only once in a file (the later rows are rejected and name the first).
- Valid rows are upserted by USCC in batches of ``BATCH_ROWS``, one unit of work each: new records
  are inserted, changed ones updated (version + 1), identical ones left alone — so re-importing a
  file changes nothing and emits nothing. Each row is all-or-nothing; a row that fails is reported
  with its reasons and skipped. A batch's events go to the outbox in its transaction
  (``shared.events.bulk.write_models``: one COPY on PostgreSQL), the relay woken after its commit.
- ``dry_run``: every row is read and checked the same way, against the stored records, and the
  report counts what would be written (``accepted``, ``updated``); nothing is written or emitted.
- ``row`` in the report is the spreadsheet's own row number: the file's first line is row 1; the
  rejected rows are listed in row order.
- A batch is written while the next one is read and checked (one batch in flight), so the
  database's work overlaps the parsing (D63).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from sqlalchemy.exc import IntegrityError

from services.enterprises import events
from services.enterprises.models import RECORD_FIELDS
from services.enterprises.repository import NO_CUSTODIAN, Enterprises, custodians, open_major_hazards
from services.enterprises.risk import assess_record
from services.enterprises.service.import_columns import MAX_LEADING_ROWS, header_index, is_header, no_header, raw_record
from services.enterprises.service.records import validate_record
from shared.errors import FieldError, Forbidden
from shared.events import bulk as bulk_events
from shared.events.catalog import EnterpriseChanged, EventType
from shared.i18n import text
from shared.ids import new_id
from shared.reference import normalise_uscc
from shared.uow import UnitOfWork

log = structlog.get_logger("enterprises.import")

BATCH_ROWS = 1000


@dataclass(frozen=True)
class Cells:
    """One line of the file; ``number`` is the spreadsheet row number (the first line is row 1)."""

    number: int
    cells: list[str]


@dataclass(frozen=True)
class Unreadable:
    """A line that could not be read. ``is_row``: a row of the file (counted and reported);
    otherwise the rest of the file, from ``number`` on, could not be read."""

    number: int
    error: FieldError
    is_row: bool = True


class Reader(Protocol):
    """A file format: its lines, and the encoding it was read as (for the report)."""

    @property
    def encoding(self) -> str: ...

    def lines(self) -> AsyncIterator[Cells | Unreadable]: ...


@dataclass(frozen=True)
class Rejection:
    row: int
    uscc: str | None
    errors: list[FieldError]


@dataclass
class ImportReport:
    encoding: str = "utf-8"
    dry_run: bool = False
    rows: int = 0
    accepted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def reject(self, row: int, uscc: str | None, errors: list[FieldError]) -> None:
        self.rejected.append(Rejection(row, uscc, errors))


@dataclass(frozen=True)
class Pending:
    row: int
    values: dict[str, Any]


class Importer:
    def __init__(self, uow: UnitOfWork, *, dry_run: bool = False) -> None:
        self.uow = uow
        self.dry_run = dry_run
        self.report = ImportReport(dry_run=dry_run)
        self.leading = 0  # non-blank rows read before the header
        self.first_row: dict[str, int] = {}
        self.batch: list[Pending] = []
        self.writing: asyncio.Task[None] | None = None  # the batch being written
        self.width = 0

    async def run(self, reader: Reader) -> ImportReport:
        started = time.perf_counter()
        try:
            await self._read(reader)
        finally:
            await self._drain()
        r = self.report
        r.rejected.sort(key=lambda rejection: rejection.row)  # batches report as they finish
        r.encoding = reader.encoding
        r.seconds = round(time.perf_counter() - started, 3)
        log.info(
            "enterprises.import.done",
            dry_run=r.dry_run,
            rows=r.rows,
            accepted=r.accepted,
            updated=r.updated,
            unchanged=r.unchanged,
            rejected=len(r.rejected),
            seconds=r.seconds,
            actor=self.uow.principal.actor,
        )
        return r

    async def _read(self, reader: Reader) -> None:
        index: dict[str, int] | None = None
        async for line in reader.lines():
            if isinstance(line, Unreadable):
                self.report.rows += line.is_row
                self.report.reject(line.number, None, [line.error])
                continue
            if index is None:
                if is_header(line.cells):
                    index, self.report.ignored_columns = header_index(line.cells)
                    self.width = len(line.cells)
                elif any(c.strip() for c in line.cells):
                    self.leading += 1  # a title row above the header
                    if self.leading >= MAX_LEADING_ROWS:
                        raise no_header(self.leading)
                continue
            if not any(c.strip() for c in line.cells):
                continue  # blank lines and Excel's trailing ",,,," rows
            self.report.rows += 1
            self._row(line.number, line.cells, index)
            if len(self.batch) >= BATCH_ROWS:
                await self._dispatch()
        if index is None:
            raise no_header(self.leading)
        await self._dispatch()

    async def _dispatch(self) -> None:
        """Write the batch read so far while the next one is read and checked: one batch in flight
        (one transaction of the unit of work at a time); the database works while Python parses."""
        batch, self.batch = self.batch, []
        await self._drain()
        if batch:
            self.writing = asyncio.create_task(self._flush(batch))

    async def _drain(self) -> None:
        writing, self.writing = self.writing, None
        if writing is not None:
            await writing

    def _row(self, number: int, cells: list[str], index: dict[str, int]) -> None:
        raw = raw_record(cells, index)
        uscc = normalise_uscc(str(raw.get("uscc", ""))) or None
        if len(cells) > self.width and any(c.strip() for c in cells[self.width :]):
            self.report.reject(
                number, uscc, [FieldError("row", text("该行的列数多于表头", "More cells than header columns"))]
            )
            return
        values, errors = validate_record(raw)
        if values is not None and not Enterprises.may_import_into(
            self.uow.principal, values["district_code"], values["town"]
        ):
            errors = [
                FieldError(
                    "district_code",
                    text(
                        f"区县 {values['district_code']} 不在本局辖区",
                        f"District {values['district_code']} is outside your jurisdiction",
                    ),
                )
            ]
        if values is not None and not errors:
            first = self.first_row.get(values["uscc"])
            if first is not None:
                errors = [
                    FieldError("uscc", text(f"与第 {first} 行的统一社会信用代码重复", f"Same USCC as row {first}"))
                ]
        if errors or values is None:
            self.report.reject(number, uscc, errors)
            return
        self.first_row[values["uscc"]] = number
        self.batch.append(Pending(number, values))

    async def _flush(self, batch: list[Pending]) -> None:
        try:
            await self._apply(batch)
        except IntegrityError:
            if len(batch) == 1:  # a concurrent writer registered it first, twice over: give up on this row
                self.report.reject(
                    batch[0].row,
                    batch[0].values["uscc"],
                    [
                        FieldError(
                            "uscc",
                            text(
                                "写入时发生并发冲突，请重新导入此行",
                                "A concurrent change collided with this row; import it again",
                            ),
                        )
                    ],
                )
                return
            for item in batch:  # find the row that collided; the others still go in
                await self._flush([item])

    async def _apply(self, batch: list[Pending]) -> None:
        uow, rules = self.uow, self.uow.policy.risk_rules
        usccs = [p.values["uscc"] for p in batch]
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        renamed: list[dict[str, Any]] = []
        changes: list[tuple[EventType, EnterpriseChanged]] = []
        rejected: list[Rejection] = []
        unchanged = 0
        async with uow:
            now, repo = uow.now, Enterprises(uow.session)
            existing = await repo.rows_by_uscc(usccs)
            changing = [
                p.values["uscc"]
                for p in batch
                if (r := existing.get(p.values["uscc"])) is not None and any(p.values[k] != r[k] for k in RECORD_FIELDS)
            ]
            if not self.dry_run:
                existing.update(await repo.lock_rows(changing))
            new = [u for u in usccs if u not in existing]
            open_counts = await open_major_hazards(uow.session, new + changing)
            holders = await custodians(uow.session, new)
            for item in batch:
                values, uscc = item.values, item.values["uscc"]
                current = existing.get(uscc)
                if current is None:
                    risk = assess_record(values, open_major_hazards=open_counts.get(uscc, 0), rules=rules)
                    row = {
                        **values,
                        **holders.get(uscc, NO_CUSTODIAN),
                        "id": new_id(),
                        "risk_level": risk.risk_level,
                        "base_level": risk.base_level,
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                    inserts.append(row)
                    changes.extend(_payloads(row, created=True, previous_risk_level=None))
                    continue
                if not Enterprises.may_import_into(uow.principal, current["district_code"], current["town"]):
                    rejected.append(
                        Rejection(
                            item.row,
                            uscc,
                            [
                                FieldError(
                                    "uscc",
                                    text(
                                        f"该企业已登记在区县 {current['district_code']}，不在本局辖区",
                                        f"This enterprise is registered in district {current['district_code']}, "
                                        "outside your jurisdiction",
                                    ),
                                )
                            ],
                        )
                    )
                    continue
                if all(values[k] == current[k] for k in RECORD_FIELDS):
                    unchanged += 1
                    continue
                risk = assess_record(values, open_major_hazards=open_counts.get(uscc, 0), rules=rules)
                row = {
                    **current,
                    **values,
                    "risk_level": risk.risk_level,
                    "base_level": risk.base_level,
                    "version": current["version"] + 1,
                    "updated_at": now,
                }
                updates.append(row)
                if row["name"] != current["name"]:
                    renamed.append(row)
                changes.extend(_payloads(row, created=False, previous_risk_level=current["risk_level"]))
            if not self.dry_run:
                await repo.insert_rows(inserts)
                await repo.update_rows(updates, renamed=renamed)
                await bulk_events.write_models(uow.session, uow.runtime.outbox, changes, request_id=uow.request_id)
        if changes and not self.dry_run:
            uow.runtime.relay.wake()  # committed: the claiming pass publishes them now
        self.report.accepted += len(inserts)
        self.report.updated += len(updates)
        self.report.unchanged += unchanged
        self.report.rejected.extend(rejected)


def _payloads(
    row: dict[str, Any], *, created: bool, previous_risk_level: str | None
) -> list[tuple[EventType, EnterpriseChanged]]:
    return events.change_events(row, created=created, fields_changed=True, previous_risk_level=previous_risk_level)


async def import_records(uow: UnitOfWork, *, reader: Reader, dry_run: bool = False) -> ImportReport:
    if not Enterprises.may_import(uow.principal):
        raise Forbidden(text("只有安监部门或管理员可以批量导入", "Only a bureau or an admin may import"))
    return await Importer(uow, dry_run=dry_run).run(reader)
