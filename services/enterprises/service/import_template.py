"""The empty import template (GET /api/v1/enterprises/import/template, public; SPEC §22): the
header row in Chinese (zh-CN: 统一社会信用代码, 企业名称, …, as service/import_columns.py reads
them) or English (en: the field names), for a CSV (UTF-8 with a BOM, so that Excel reads the
Chinese) or an XLSX workbook whose first row is the header. Either imports as it is (no rows),
and once filled in. The API renders it with shared.exports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.enterprises.service.import_columns import COLUMNS, HEADERS_ZH

Lang = Literal["zh-CN", "en"]
Format = Literal["csv", "xlsx"]
SHEET_TITLE = {"zh-CN": "企业信息", "en": "enterprises"}


@dataclass(frozen=True)
class Template:
    header: list[str]
    sheet_title: str
    filename: str


def import_template(lang: Lang, fmt: Format) -> Template:
    header = [HEADERS_ZH[c] for c in COLUMNS] if lang == "zh-CN" else list(COLUMNS)
    return Template(header, SHEET_TITLE[lang], f"enterprise-import-template-{lang}.{fmt}")
