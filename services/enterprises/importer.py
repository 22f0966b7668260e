"""Bulk import of enterprise records from CSV (POST /api/v1/enterprises/import).

- The body is read as a stream and never held whole: bytes → text (UTF-8 with or without BOM; a
  file that is not UTF-8 is read as GB18030, the superset of GBK that Excel writes on Chinese
  Windows; a ``charset`` parameter on the Content-Type wins) → CSV records → rows.
- The header row names the columns: the POST field names (English) or their Chinese labels.
  ``hazard_flags`` are separated by ``|`` or ``;``; booleans are true/false/是/否/1/0.
- Every row is validated with exactly what POST checks, plus: the importing bureau must govern the
  row's district (and the district of the existing record it would change), and a USCC may appear
  only once in a file (the later rows are rejected and name the first).
- Valid rows are upserted by USCC in batches of ``BATCH_ROWS`` per transaction: new records are
  inserted, changed ones updated (version + 1), identical ones left alone — so re-importing a file
  changes nothing and emits nothing. Each row is all-or-nothing; a row that fails is reported with
  its reasons and skipped. Events go through the outbox in the same transaction as the rows.
- ``row`` in the report is the spreadsheet row number: the header is row 1.
"""

from __future__ import annotations

import codecs
import csv
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import IntegrityError

from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import ErrorCode, FieldError, Forbidden, ValidationFailed
from shared.i18n import text
from shared.ids import new_id

from services.enterprises import events as ev
from services.enterprises.models import enterprises as t
from services.enterprises.service import (RECORD_FIELDS, custodian_columns, custodians, open_hazard_counts,
                                          risk_of_values, validate_record)

log = structlog.get_logger("enterprises.import")

BATCH_ROWS = 1000
SNIFF_BYTES = 64 * 1024
MAX_RECORD_CHARS = 64 * 1024
COLUMNS = ("uscc", *RECORD_FIELDS)
REQUIRED = tuple(c for c in COLUMNS if c not in ("village", "hazard_flags"))
ALIASES = {
    "统一社会信用代码": "uscc", "企业名称": "name", "名称": "name", "行业": "industry", "行业类别": "industry",
    "区县代码": "district_code", "区县": "district_code", "镇街": "town", "镇街道": "town", "村居": "village",
    "村社区": "village", "地址": "address", "详细地址": "address", "从业人数": "employees", "员工人数": "employees",
    "重大危险源": "major_hazard_source", "风险标识": "hazard_flags", "联系人": "contact_name",
    "联系电话": "contact_phone",
}
TRUE_WORDS = {"true", "1", "是", "有", "yes", "y", "t"}
FALSE_WORDS = {"false", "0", "否", "无", "no", "n", "f"}
CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gb18030", "gb2312": "gb18030", "gb18030": "gb18030",
            "cp936": "gb18030"}
ENCODING_NAMES = {"utf-8": "utf-8", "utf-8-sig": "utf-8-bom", "gb18030": "gbk"}


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
            if self._at_start and not final and codecs.BOM_UTF8.startswith(bytes(self._buffer[:3])) and len(self._buffer) < 3:
                return ""  # could still be a BOM
            self._at_start = False
            if self._buffer.isascii():
                out, self._buffer = self._buffer.decode("ascii"), bytearray()
                return out
            first = next(i for i, b in enumerate(self._buffer) if b >= 0x80)
            if not final and len(self._buffer) - first < SNIFF_BYTES:
                return ""  # bounded: at most SNIFF_BYTES past the first non-ASCII byte
            data, self._buffer = bytes(self._buffer), bytearray()
            window = data[:first + SNIFF_BYTES]
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
            return codecs.decode(exc.object[:exc.start], self.encoding, "replace")

    @staticmethod
    def _sniff(data: bytes, final: bool) -> str:
        if data.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise ValidationFailed(text("不支持 UTF-16 编码，请另存为 UTF-8 或 GBK 的 CSV",
                                        "UTF-16 is not supported; save the CSV as UTF-8 or GBK"),
                                   code=ErrorCode.UNSUPPORTED_ENCODING, errors=[FieldError("file", text("UTF-16", "UTF-16"))])
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


@dataclass
class Report:
    encoding: str = "utf-8"
    rows: int = 0
    accepted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def reject(self, row: int, uscc: str | None, errors: list[FieldError]) -> None:
        self.rejected.append({"row": row, "uscc": uscc, "errors": [e.as_dict() for e in errors]})


@dataclass
class Pending:
    row: int
    values: dict[str, Any]


def _header(cells: list[str]) -> tuple[dict[str, int], list[str]]:
    index: dict[str, int] = {}
    ignored: list[str] = []
    for i, cell in enumerate(cells):
        name = cell.strip().lstrip("\ufeff")
        key = ALIASES.get(name, name.lower())
        if key in COLUMNS:
            if key in index:
                raise ValidationFailed(text(f"表头列“{name}”重复", f"Column '{name}' appears twice"), code=ErrorCode.BAD_CSV_HEADER,
                                       errors=[FieldError("header", text(f"重复的列：{name}", f"duplicate column: {name}"))])
            index[key] = i
        elif name:
            ignored.append(name)
    missing = [c for c in REQUIRED if c not in index]
    if missing:
        raise ValidationFailed(text(f"表头缺少列：{', '.join(missing)}", f"The header lacks columns: {', '.join(missing)}"),
                               code=ErrorCode.BAD_CSV_HEADER,
                               errors=[FieldError(c, text("表头缺少此列", "column missing from the header")) for c in missing])
    return index, ignored


def _bool_cell(value: str) -> Any:
    low = value.lower()
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    return value


def _raw_record(cells: list[str], index: dict[str, int]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for name, i in index.items():
        value = cells[i].strip() if i < len(cells) else ""
        if name == "hazard_flags":
            raw[name] = [f.strip() for f in value.replace("；", ";").replace("|", ";").replace(",", ";").replace("，", ";").split(";") if f.strip()]
        elif not value:
            continue  # required fields then fail as "missing"; village stays empty
        elif name == "major_hazard_source":
            raw[name] = _bool_cell(value)
        elif name == "employees" and value.endswith(".0") and value[:-2].isdigit():
            raw[name] = value[:-2]  # Excel writes whole numbers as 12.0 now and then
        else:
            raw[name] = value
    return raw


class Importer:
    def __init__(self, ctx: ServiceContext, principal: Principal) -> None:
        self.ctx = ctx
        self.principal = principal
        self.report = Report()
        self.first_row: dict[str, int] = {}
        self.batch: list[Pending] = []
        self.width = 0

    async def run(self, chunks: AsyncIterator[bytes], *, charset: str | None = None) -> dict[str, Any]:
        started = time.perf_counter()
        decoder, splitter = Decoder(charset), RecordSplitter()
        index: dict[str, int] | None = None
        number = 0
        final = False
        iterator = chunks.__aiter__()
        while not final:
            try:
                data = await iterator.__anext__()
            except StopAsyncIteration:
                data, final = b"", True
            text_chunk = decoder.feed(data, final=final)
            for record in splitter.feed(text_chunk, final=final and not decoder.error):
                number += 1
                try:
                    cells = next(csv.reader([record]), [])
                except csv.Error as exc:
                    if index is None:
                        raise ValidationFailed(text("表头无法解析", "The header row cannot be parsed"), code=ErrorCode.BAD_CSV_HEADER,
                                               errors=[FieldError("header", str(exc))]) from exc
                    self.report.rows += 1
                    self.report.reject(number, None, [FieldError("row", text(f"CSV 格式错误：{exc}", f"Malformed CSV: {exc}"))])
                    continue
                if index is None:
                    index, self.report.ignored_columns = _header(cells)
                    self.width = len(cells)
                    continue
                if not any(c.strip() for c in cells):
                    continue  # blank lines and Excel's trailing ",,,," rows
                self.report.rows += 1
                self._row(number, cells, index)
                if len(self.batch) >= BATCH_ROWS:
                    await self._flush()
            if decoder.error:
                name = ENCODING_NAMES.get(decoder.encoding or "", decoder.encoding)
                self.report.reject(number + 1, None, [FieldError("file", text(
                    f"文件编码不一致：自此行起无法按 {name} 解码，此行及其后各行未导入",
                    f"Inconsistent encoding: from this row on the file is not {name}; this row and the rest were not imported"))])
                break
        if index is None:
            raise ValidationFailed(text("文件为空或缺少表头", "The file is empty or has no header row"), code=ErrorCode.BAD_CSV_HEADER,
                                   errors=[FieldError("header", text("缺少表头", "missing header"))])
        await self._flush()
        self.report.encoding = ENCODING_NAMES.get(decoder.encoding or "utf-8", decoder.encoding or "utf-8")
        seconds = round(time.perf_counter() - started, 3)
        r = self.report
        log.info("enterprises.import.done", rows=r.rows, accepted=r.accepted, updated=r.updated, unchanged=r.unchanged,
                 rejected=len(r.rejected), seconds=seconds, actor=self.principal.actor)
        return {"encoding": r.encoding, "rows": r.rows, "accepted": r.accepted, "updated": r.updated,
                "unchanged": r.unchanged, "rejected": r.rejected, "ignored_columns": r.ignored_columns, "seconds": seconds}

    def _row(self, number: int, cells: list[str], index: dict[str, int]) -> None:
        raw = _raw_record(cells, index)
        uscc = str(raw.get("uscc", "")).strip().upper() or None
        if len(cells) > self.width and any(c.strip() for c in cells[self.width:]):
            self.report.reject(number, uscc, [FieldError("row", text("该行的列数多于表头", "More cells than header columns"))])
            return
        values, errors = validate_record(raw)
        if values is not None and not self.principal.governs(values["district_code"]):
            errors = [FieldError("district_code", text(f"区县 {values['district_code']} 不在本局辖区",
                                                       f"District {values['district_code']} is outside your jurisdiction"))]
        if values is not None and not errors:
            first = self.first_row.get(values["uscc"])
            if first is not None:
                errors = [FieldError("uscc", text(f"与第 {first} 行的统一社会信用代码重复", f"Same USCC as row {first}"))]
        if errors or values is None:
            self.report.reject(number, uscc, errors)
            return
        self.first_row[values["uscc"]] = number
        self.batch.append(Pending(number, values))

    async def _flush(self) -> None:
        batch, self.batch = self.batch, []
        if not batch:
            return
        try:
            await self._apply(batch)
        except IntegrityError:
            if len(batch) == 1:  # a concurrent writer registered it first, twice over: give up on this row
                self.report.reject(batch[0].row, batch[0].values["uscc"], [FieldError("uscc", text(
                    "写入时发生并发冲突，请重新导入此行", "A concurrent change collided with this row; import it again"))])
                return
            for item in batch:  # find the row that collided; the others still go in
                await self._flush_one(item)

    async def _flush_one(self, item: Pending) -> None:
        self.batch = [item]
        await self._flush()

    async def _apply(self, batch: list[Pending]) -> None:
        ctx, now = self.ctx, self.ctx.clock.now()
        usccs = [p.values["uscc"] for p in batch]
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        events: list[tuple[str, dict[str, Any]]] = []
        rejected: list[tuple[int, str, list[FieldError]]] = []
        unchanged = 0
        async with ctx.db.transaction() as session:
            existing = {r["uscc"]: dict(r) for r in (await session.execute(sa.select(t).where(t.c.uscc.in_(usccs)))).mappings()}
            changing = [p.values["uscc"] for p in batch if (r := existing.get(p.values["uscc"])) is not None
                        and any(p.values[k] != r[k] for k in RECORD_FIELDS)]
            if changing and not ctx.db.is_sqlite:
                # Lock (and re-read) only the rows this batch will change: a re-import of an
                # unchanged file takes no row locks at all. (SQLite: BEGIN IMMEDIATE already.)
                locked = sa.select(t).where(t.c.uscc.in_(changing)).with_for_update()
                existing.update({r["uscc"]: dict(r) for r in (await session.execute(locked)).mappings()})
            new = [u for u in usccs if u not in existing]
            open_counts = await open_hazard_counts(session, new + changing)
            holders = await custodians(session, new)
            for item in batch:
                values, uscc = item.values, item.values["uscc"]
                current = existing.get(uscc)
                if current is None:
                    risk = risk_of_values(values, open_counts.get(uscc, 0), ctx.policy)
                    row = {**values, **(holders.get(uscc) or custodian_columns(None)), "id": new_id(),
                           "risk_level": risk.risk_level.value, "base_level": risk.base_level.value, "version": 1,
                           "created_at": now, "updated_at": now}
                    inserts.append(row)
                    events.extend(ev.change_events(row, created=True, fields_changed=True, previous_risk_level=None))
                    continue
                if not self.principal.governs(current["district_code"]):
                    rejected.append((item.row, uscc, [FieldError("uscc", text(
                        f"该企业已登记在区县 {current['district_code']}，不在本局辖区",
                        f"This enterprise is registered in district {current['district_code']}, outside your jurisdiction"))]))
                    continue
                if all(values[k] == current[k] for k in RECORD_FIELDS):
                    unchanged += 1
                    continue
                risk = risk_of_values(values, open_counts.get(uscc, 0), ctx.policy)
                row = {**current, **values, "risk_level": risk.risk_level.value, "base_level": risk.base_level.value,
                       "version": current["version"] + 1, "updated_at": now}
                updates.append(row)
                events.extend(ev.change_events(row, created=False, fields_changed=True,
                                               previous_risk_level=current["risk_level"]))
            if inserts:
                await session.execute(sa.insert(t), inserts)
            if updates:
                cols = (*RECORD_FIELDS, "risk_level", "base_level", "version", "updated_at")
                stmt = sa.update(t).where(t.c.id == sa.bindparam("b_id")).values({c: sa.bindparam(f"b_{c}") for c in cols})
                await session.execute(stmt, [{"b_id": r["id"], **{f"b_{c}": r[c] for c in cols}} for r in updates])
            await ctx.outbox.emit_many(session, events)
        self.report.accepted += len(inserts)
        self.report.updated += len(updates)
        self.report.unchanged += unchanged
        for number, uscc, errors in rejected:
            self.report.reject(number, uscc, errors)


async def import_csv(ctx: ServiceContext, *, principal: Principal, chunks: AsyncIterator[bytes],
                     charset: str | None = None) -> dict[str, Any]:
    if not (principal.is_admin or principal.is_bureau):
        raise Forbidden(text("只有安监部门或管理员可以批量导入", "Only a bureau or an admin may import"))
    return await Importer(ctx, principal).run(chunks, charset=charset)

