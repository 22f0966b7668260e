"""The public list's history (SPEC §21 public; docs/DECISIONS.md D30): every
entry, change, suspension and removal with its date and reason, for anyone.

- The rows are written by ``repository.Directory`` in the transaction of the change (review,
  regulatory acts, the expiry and lapse sweeps, the credit consumer); here they are only read.
- ``page``: in time order (``at``, then id), keyset-paginated, from ``since`` and of one agency
  if asked.
- ``feed``: the same changes as an Atom document (RFC 4287), newest first, the newest ``limit``
  of them; titles and text in zh-CN (the list's language), built with ``xml.etree`` so that every
  name and reason is escaped, and characters XML 1.0 cannot carry are dropped.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime

from services.registry.models import DirectoryChange
from services.registry.repository import Directory
from services.registry.states import ListChange
from shared.clock import as_utc
from shared.pagination import PageParams
from shared.reference import load_jurisdiction
from shared.uow import UnitOfWork

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FEED_ID = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'urn:custody:registry:directory-changes')}"
FEED_PATH = "/api/v1/directory/changes.atom"
CHANGES_PATH = "/api/v1/directory/changes"
DETAIL_PATH = "/api/v1/directory/agencies/{id}"
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


async def page(
    uow: UnitOfWork, *, since: datetime | None, agency_id: uuid.UUID | None, params: PageParams
) -> tuple[list[DirectoryChange], str | None]:
    async with uow.read():
        return await Directory(uow.session).changes(params, since=since, agency_id=agency_id)


async def feed(uow: UnitOfWork, *, since: datetime | None, agency_id: uuid.UUID | None, limit: int) -> bytes:
    async with uow.read():
        rows, _ = await Directory(uow.session).changes(
            PageParams(limit=limit), since=since, agency_id=agency_id, newest_first=True
        )
    return atom(rows, updated=as_utc(rows[0].at) if rows else uow.now)


def _xml(value: str) -> str:
    return NOT_XML.sub("", value)


def _sub(parent: ET.Element, tag: str, value: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _xml(v) for k, v in attrs.items()})
    if value is not None:
        element.text = _xml(value)
    return element


def title_of(change: DirectoryChange) -> str:
    label = ListChange(change.change).label.zh
    return f"{change.name}（{change.filing_no}）{label}" if change.filing_no else f"{change.name} {label}"


def atom(changes: list[DirectoryChange], *, updated: datetime) -> bytes:
    """An Atom feed of ``changes`` (in the order given)."""
    city = load_jurisdiction().city.name
    root = ET.Element("feed", {"xmlns": ATOM_NS, XML_LANG: "zh-CN"})
    _sub(root, "id", FEED_ID)
    _sub(root, "title", f"{city}安全生产托管服务机构公示名单变更记录")
    _sub(root, "subtitle", "机构列入、信息变更、暂停、恢复、撤销、到期与移出公示名单的全部记录")
    _sub(root, "updated", as_utc(updated).isoformat())
    author = _sub(root, "author")
    _sub(author, "name", f"{city}安全生产托管服务平台")
    _sub(root, "link", rel="self", type="application/atom+xml", href=FEED_PATH)
    _sub(root, "link", rel="alternate", type="application/json", href=CHANGES_PATH)
    for change in changes:
        kind = ListChange(change.change)
        at = as_utc(change.at).isoformat()
        entry = _sub(root, "entry")
        _sub(entry, "id", f"urn:uuid:{change.id}")
        _sub(entry, "title", title_of(change))
        _sub(entry, "updated", at)
        _sub(entry, "published", at)
        _sub(entry, "link", rel="alternate", href=DETAIL_PATH.format(id=change.agency_id))
        _sub(entry, "category", term=kind.value, label=kind.label.zh)
        lines = [
            f"机构：{change.name}",
            f"备案编号：{change.filing_no or '—'}",
            f"变更：{kind.label.zh}（{kind.value}）",
            f"时间：{at}",
        ]
        if change.reason:
            lines.append(f"原因：{change.reason}")
        _sub(entry, "content", "\n".join(lines), type="text")
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
