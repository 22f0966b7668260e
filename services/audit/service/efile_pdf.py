"""The enterprise file as PDF for the paper archive (一企一档, SPEC §22): an HTML template
(``services/audit/templates/efile.html``, Jinja2, autoescaped) rendered by WeasyPrint with a Chinese
font from the system (fonts-wqy-microhei; ``make browsers`` installs it). Synchronous and slow:
call it off the event loop (``services.audit.service.efile.as_pdf``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.audit.service.efile import ENTERPRISE_LABELS, SHEETS, EnterpriseFile, record_shown, sections

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "、".join(_text(v) for v in value)
    return str(value)


def html(file: EnterpriseFile) -> str:
    shown = record_shown(file.enterprise)
    head = [(label, _text(shown.get(key))) for key, label in ENTERPRISE_LABELS.items()]
    head += [
        ("诚信分 credit score", _text(file.credit.get("score"))),
        ("诚信等级 credit grade", _text(file.credit.get("grade"))),
        ("截至 as of", _text(file.as_of)),
    ]
    rows = sections(file)
    tables = [
        (title, columns, [[_text(row.get(c)) for c in columns] for row in rows[key]]) for key, title, columns in SHEETS
    ]
    return _environment().get_template("efile.html").render(e=file.enterprise, head=head, sections=tables)


def pdf(file: EnterpriseFile) -> bytes:
    from weasyprint import HTML  # imported here: it loads pango once, on the first archive
    from weasyprint.urls import URLFetcher

    # The template names no external resource and every value is escaped; still, fetch nothing
    # (no file://, no http://) whatever a record's text holds.
    body: bytes = HTML(string=html(file), url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()
    return body
