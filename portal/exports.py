"""CSV and XLSX exports of the directory, enterprises, contracts, hazards and complaints (SPEC §12).

Columns carry bilingual headers in the reader's language and codes are kept next to their names,
so that a spreadsheet is readable and still machine-joinable. CSV is UTF-8 with a BOM (Excel opens
it as UTF-8); a text cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``,
tab, CR) is prefixed with ``'`` (OWASP CSV injection). XLSX cells are written as plain strings,
verbatim, never as formulas.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING, WriteOnlyCell
from openpyxl.utils import get_column_letter

from portal import labels
from shared.exports import formula_safe

Getter = Callable[[dict[str, Any], str], Any]


def _f(key: str) -> Getter:
    return lambda row, lang: row.get(key)


def _named(key: str, vocabulary: str) -> Getter:
    return lambda row, lang: labels.name(vocabulary, row.get(key), lang) if row.get(key) is not None else None


def _district(key: str) -> Getter:
    return lambda row, lang: labels.district_name(row.get(key), lang) if row.get(key) else None


def _sep(lang: str) -> str:
    return ", " if labels.is_en(lang) else "、"


def _list_of(key: str, fn: Callable[[str, str], str]) -> Getter:
    return lambda row, lang: _sep(lang).join(fn(str(v), lang) for v in (row.get(key) or []))


# dataset -> (API path, allowed filters, [(header key or (zh, en), getter)])
DATASETS: dict[str, tuple[str, tuple[str, ...], list[tuple[tuple[str, str] | str, Getter]]]] = {
    "directory": (
        "/api/v1/directory/agencies",
        ("district", "industry", "grade", "q"),
        [
            ("filing_no", _f("filing_no")),
            ("agency_name", _f("name")),
            ("uscc", _f("uscc")),
            ("valid_until", _f("valid_until")),
            ("grade", _f("grade")),
            ("credit_score", _f("credit_score")),
            ("service_areas", _list_of("service_districts", labels.district_name)),
            ("service_industries", _list_of("service_industries", lambda c, lang: labels.name("industry", c, lang))),
            (
                "registered_engineers",
                lambda row, lang: _sep(lang).join(str(v) for v in (row.get("registered_engineers") or [])),
            ),
            ("active_contracts", _f("active_contracts")),
            ("remaining_capacity", _f("remaining_capacity")),
            (("机构ID", "Agency id"), _f("id")),
        ],
    ),
    "contracts": (
        "/api/v1/contracts",
        ("status", "district", "agency_id", "enterprise_uscc"),
        [
            (("协议ID", "Contract id"), _f("id")),
            ("filing_no", _f("filing_no")),
            ("status", _named("status", "contract_status")),
            (("状态代码", "Status code"), _f("status")),
            ("enterprise", _f("enterprise_name")),
            (("企业统一社会信用代码", "Enterprise USCC"), _f("enterprise_uscc")),
            ("district", _district("district_code")),
            (("区县代码", "District code"), _f("district_code")),
            ("agency", _f("agency_name")),
            (("机构ID", "Agency id"), _f("agency_id")),
            ("engineer", _f("engineer_name")),
            ("start_date", _f("start_date")),
            ("end_date", _f("end_date")),
            ("fee_yuan", _f("fee_yuan")),
        ],
    ),
    "hazards": (
        "/api/v1/hazards",
        ("status", "level", "district", "contract_id"),
        [
            (("隐患ID", "Hazard id"), _f("id")),
            ("level", _named("level", "hazard_level")),
            ("status", _named("status", "hazard_status")),
            (("状态代码", "Status code"), _f("status")),
            ("description", _f("description")),
            ("location", _f("location")),
            ("deadline", _f("deadline")),
            (("企业统一社会信用代码", "Enterprise USCC"), _f("enterprise_uscc")),
            ("district", _district("district_code")),
            (("区县代码", "District code"), _f("district_code")),
            (("协议ID", "Contract id"), _f("contract_id")),
            (("机构ID", "Agency id"), _f("agency_id")),
            (("发现时间", "Reported at"), _f("created_at")),
        ],
    ),
    "enterprises": (
        "/api/v1/enterprises",
        ("district", "industry", "risk_level", "has_custodian", "q"),
        [
            (("企业ID", "Enterprise id"), _f("id")),
            ("uscc", _f("uscc")),
            (("企业名称", "Enterprise"), _f("name")),
            ("industry", _named("industry", "industry")),
            (("行业代码", "Industry code"), _f("industry")),
            ("district", _district("district_code")),
            (("区县代码", "District code"), _f("district_code")),
            (("镇街", "Town"), _district("town")),
            (("地址", "Address"), _f("address")),
            (("从业人数", "Employees"), _f("employees")),
            (
                ("重大危险源", "Major hazard source"),
                lambda row, lang: labels.message("yes" if row.get("major_hazard_source") else "no", lang),
            ),
            (("风险等级", "Risk level"), _named("risk_level", "risk")),
            (("风险代码", "Risk code"), _f("risk_level")),
            (("托管机构", "Custodian"), lambda row, lang: (row.get("custodian") or {}).get("agency_name")),
            (("托管至", "Custody until"), lambda row, lang: (row.get("custodian") or {}).get("until")),
            (("联系人", "Contact"), _f("contact_name")),
            (("联系电话", "Contact phone"), _f("contact_phone")),
        ],
    ),
    "complaints": (
        "/api/v1/complaints",
        ("status", "agency_id", "overdue"),
        [
            (("投诉ID", "Complaint id"), _f("id")),
            ("status", _named("status", "complaint_status")),
            (("状态代码", "Status code"), _f("status")),
            ("category", _named("category", "complaint_category")),
            ("description", _f("description")),
            ("received_on", _f("received_on")),
            ("response_due", _f("response_due")),
            (("办结期限", "Resolve due"), _f("resolve_due")),
            ("overdue", lambda row, lang: labels.message("yes" if row.get("overdue") else "no", lang)),
            ("district", _district("district_code")),
            (("机构ID", "Agency id"), _f("agency_id")),
            (("协议ID", "Contract id"), _f("contract_id")),
            (("处理结果", "Outcome"), _f("outcome")),
        ],
    ),
}


def headers(dataset: str, lang: str) -> list[str]:
    out = []
    for header, _ in DATASETS[dataset][2]:
        if isinstance(header, tuple):
            out.append(header[1] if labels.is_en(lang) else header[0])
        else:
            out.append(labels.message(header, lang))
    return out


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value)
    if isinstance(value, (dict,)):
        return str(value)
    return value


def rows(dataset: str, items: list[dict[str, Any]], lang: str) -> list[list[Any]]:
    getters = [getter for _, getter in DATASETS[dataset][2]]
    return [[_cell(getter(item, lang)) for getter in getters] for item in items]


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def csv_header(dataset: str, lang: str) -> bytes:
    """The first chunk of a streamed CSV: the BOM (Excel reads UTF-8) and the header row."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(headers(dataset, lang))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def csv_rows(dataset: str, items: list[dict[str, Any]], lang: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows(dataset, items, lang):
        writer.writerow([formula_safe(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def csv_truncated(lang: str) -> bytes:
    return ("# " + labels.message("export_interrupted", lang) + "\r\n").encode("utf-8")


def xlsx_file(dataset: str, items: list[dict[str, Any]], lang: str) -> Any:
    """The XLSX in a temporary file (openpyxl write-only: rows go straight to the zip stream), rewound
    for reading. Blocking: call it in a worker thread."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(labels.message(dataset, lang)[:31] or dataset)
    head = headers(dataset, lang)
    widths = [len(h) * 2 + 2 for h in head]
    table = rows(dataset, items, lang)
    for row in table[:200]:
        for c, value in enumerate(row):
            widths[c] = min(60, max(widths[c], len(str(value)) + 2))
    for c, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(c)].width = width
    sheet.freeze_panes = "A2"
    sheet.append(head)
    for row in table:
        cells = []
        for value in row:
            value = _xlsx_value(value)
            if isinstance(value, str):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = TYPE_STRING  # never a formula, whatever the text starts with
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    handle = tempfile.TemporaryFile()  # noqa: SIM115  # handed to the streaming response, which closes it
    workbook.save(handle)
    handle.seek(0)
    return handle
