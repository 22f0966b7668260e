"""What the columns and cells of an imported spreadsheet mean (SPEC §8, §22): headers in English
(the POST field names) or Chinese, values as codes or as the labels of the reference data.

- Headers: the field names (any case) or their Chinese labels (``HEADERS_ZH`` as the template
  writes them, plus the synonyms district offices use); a trailing ``*`` (required marker) and
  spaces are ignored. The header row is the first row naming at least ``HEADER_MIN_COLUMNS``
  known columns: rows above it (a title, a merged banner, blank rows) are skipped, at most
  ``MAX_LEADING_ROWS`` of them.
- Values: ``industry`` by code or label (机械 / Machinery → ``machinery``, shared.reference);
  ``district_code`` by code or name (蓬江区, 江门市蓬江区, Pengjiang District); ``hazard_flags`` by
  code or label (粉尘涉爆 → ``dust_explosion``, the risk rules' names), separated by ``|``, ``;``,
  ``,``, ``、`` (full-width too), 无 meaning none; booleans true/false/是/否/有/无/1/0. Town and
  village names are resolved by the record's validation (within the district).
"""

from __future__ import annotations

from typing import Any

from services.enterprises.models import RECORD_FIELDS
from services.enterprises.risk import FLAG_NAMES
from shared.errors import ErrorCode, FieldError, ValidationFailed
from shared.i18n import text
from shared.reference import INDUSTRY_NAMES, load_jurisdiction

COLUMNS = ("uscc", *RECORD_FIELDS)
REQUIRED = tuple(c for c in COLUMNS if c not in ("village", "hazard_flags"))
HEADER_MIN_COLUMNS = 2
MAX_LEADING_ROWS = 10

# The template's Chinese headers, in the order of COLUMNS (SPEC §22).
HEADERS_ZH = {
    "uscc": "统一社会信用代码",
    "name": "企业名称",
    "industry": "行业",
    "district_code": "所在区县",
    "town": "镇街",
    "village": "村居",
    "address": "地址",
    "employees": "从业人数",
    "major_hazard_source": "重大危险源",
    "hazard_flags": "危险特征",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
}
ALIASES = {
    **{label: name for name, label in HEADERS_ZH.items()},
    "名称": "name",
    "单位名称": "name",
    "行业类别": "industry",
    "所属行业": "industry",
    "区县代码": "district_code",
    "区县": "district_code",
    "所属区县": "district_code",
    "所在镇街": "town",
    "镇街道": "town",
    "镇（街道）": "town",
    "镇(街道)": "town",
    "村居": "village",
    "村社区": "village",
    "所在村居": "village",
    "详细地址": "address",
    "企业地址": "address",
    "员工人数": "employees",
    "是否重大危险源": "major_hazard_source",
    "风险标识": "hazard_flags",
    "危险特性": "hazard_flags",
    "联系人电话": "contact_phone",
    "手机号码": "contact_phone",
}
TRUE_WORDS = {"true", "1", "是", "有", "yes", "y", "t"}
FALSE_WORDS = {"false", "0", "否", "无", "no", "n", "f"}
NONE_WORDS = {"无", "none", "-", "—", "／", "/"}
FLAG_SEPARATORS = str.maketrans({"；": ";", "|": ";", ",": ";", "，": ";", "、": ";", "｜": ";"})
# Labels as bureaus write them: the risk rules' names, and the short forms of the work portal.
FLAG_LABELS = {
    **{zh: code for code, (zh, _) in FLAG_NAMES.items()},
    **{en.lower(): code for code, (_, en) in FLAG_NAMES.items()},
    "有限空间": "confined_space",
    "金属熔融": "metal_melting",
    "涉危化品": "hazardous_chemicals_use",
}
INDUSTRY_LABELS = {
    **{zh: code for code, (zh, _) in INDUSTRY_NAMES.items()},
    **{en.lower(): code for code, (_, en) in INDUSTRY_NAMES.items()},
    "危化品": "hazardous_chemicals",
    "建筑": "construction",
}


def column_of(cell: str) -> str | None:
    """The field a header cell names, or None."""
    name = cell.strip().lstrip("\ufeff").rstrip("*＊").strip()
    key = ALIASES.get(name, name.lower())
    return key if key in COLUMNS else None


def is_header(cells: list[str]) -> bool:
    return sum(1 for c in cells if column_of(c)) >= HEADER_MIN_COLUMNS


def no_header(rows_read: int) -> ValidationFailed:
    """422: the file is empty, or none of its first ``rows_read`` non-blank rows is a header."""
    if rows_read:
        detail = text(
            f"在文件的前 {rows_read} 个非空行中找不到表头（须含 统一社会信用代码、企业名称 等列）",
            f"None of the file's first {rows_read} non-blank rows is a header (columns such as uscc, name)",
        )
    else:
        detail = text("文件为空或缺少表头", "The file is empty or has no header row")
    return ValidationFailed(
        detail, code=ErrorCode.BAD_CSV_HEADER, errors=[FieldError("header", text("缺少表头", "missing header"))]
    )


def header_index(cells: list[str]) -> tuple[dict[str, int], list[str]]:
    """Column name → position, and the names of the columns ignored."""
    index: dict[str, int] = {}
    ignored: list[str] = []
    for i, cell in enumerate(cells):
        name = cell.strip().lstrip("\ufeff")
        key = column_of(cell)
        if key is not None:
            if key in index:
                raise ValidationFailed(
                    text(f"表头列“{name}”重复", f"Column '{name}' appears twice"),
                    code=ErrorCode.BAD_CSV_HEADER,
                    errors=[FieldError("header", text(f"重复的列：{name}", f"duplicate column: {name}"))],
                )
            index[key] = i
        elif name:
            ignored.append(name)
    missing = [c for c in REQUIRED if c not in index]
    if missing:
        raise ValidationFailed(
            text(f"表头缺少列：{', '.join(missing)}", f"The header lacks columns: {', '.join(missing)}"),
            code=ErrorCode.BAD_CSV_HEADER,
            errors=[FieldError(c, text("表头缺少此列", "column missing from the header")) for c in missing],
        )
    return index, ignored


def _bool_cell(value: str) -> Any:
    low = value.lower()
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    return value


def _district(value: str) -> str:
    jur = load_jurisdiction()
    if jur.is_district(value):
        return value
    name = value.removeprefix(jur.city.name) if value != jur.city.name else value
    for area in jur.districts:
        if name in (area.name, area.name_en) or name.lower() == (area.name_en or "").lower():
            return area.code
    return value  # validation names it


def _flags(value: str) -> list[str]:
    if value.strip().lower() in NONE_WORDS:
        return []
    out = []
    for part in value.translate(FLAG_SEPARATORS).split(";"):
        flag = part.strip()
        if flag:
            out.append(FLAG_LABELS.get(flag, FLAG_LABELS.get(flag.lower(), flag)))
    return out


def raw_record(cells: list[str], index: dict[str, int]) -> dict[str, Any]:
    """The cells of one row as the fields POST takes (still to be validated)."""
    raw: dict[str, Any] = {}
    for name, i in index.items():
        value = cells[i].strip() if i < len(cells) else ""
        if name == "hazard_flags":
            raw[name] = _flags(value)
        elif not value:
            continue  # required fields then fail as "missing"; village stays empty
        elif name == "major_hazard_source":
            raw[name] = _bool_cell(value)
        elif name == "industry":
            raw[name] = INDUSTRY_LABELS.get(value, INDUSTRY_LABELS.get(value.lower(), value))
        elif name == "district_code":
            raw[name] = _district(value)
        elif name == "employees" and value.endswith(".0") and value[:-2].isdigit():
            raw[name] = value[:-2]  # Excel writes whole numbers as 12.0 now and then
        else:
            raw[name] = value
    return raw
