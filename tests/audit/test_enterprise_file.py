"""一企一档 — one enterprise, one file (SPEC §22, docs/DECISIONS.md D52), through the real audit
service: the enterprise's record and risk history (kept from its events), contracts, visits, hazards
with their loops, supervision cases, complaints, audits and its credit file, now, in time order;
as JSON, XLSX or PDF; read by the bureau of its district, the city, admin and the enterprise itself."""

from __future__ import annotations

import io
import re
import uuid
import zlib
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from devtools.testing.wait import eventually
from services.audit.api.efile import OFFERED
from shared import exports
from tests.audit.factories import (
    OTHER_DISTRICT,
    TODAY,
    Enterprise,
    admin,
    audit_app,
    bureau,
    city,
    clock_at,
    hazard,
    log_hazards,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def url(enterprise) -> str:
    return f"/api/v1/enterprises/{enterprise.id}/file"


async def _risk_changed(h, enterprise, level: str) -> None:
    previous, enterprise.risk_level = enterprise.risk_level, level
    enterprise.version += 1
    await h.publish("enterprise.risk_changed", {**enterprise.event(), "previous_risk_level": previous})

    async def held():
        r = await h.client.get(url(enterprise), headers=bureau())
        return r.json() if r.status_code == 200 and len(r.json()["risk_history"]) >= enterprise.version else None

    await eventually(held, timeout=15)


async def _world(h):
    contract = await h.setup()
    await _risk_changed(h, contract.enterprise, "red")
    general, major = await log_hazards(h, contract, hazard(), hazard("major"))
    r = await h.client.post(
        f"/api/v1/hazards/{general}/rectify", json={"note": "已整改"}, headers=contract.enterprise.headers()
    )
    assert r.status_code == 200, r.text
    return contract, general, major


async def test_the_file_holds_the_enterprise_record_now(backend):
    async with audit_app(backend) as h:
        contract, general, major = await _world(h)
        e = contract.enterprise
        r = await h.client.post(
            "/api/v1/complaints",
            json={
                "agency_id": contract.agency.id,
                "contract_id": contract.id,
                "category": "service_quality",
                "description": "工程师检查走过场",
            },
            headers=e.headers(),
        )
        assert r.status_code == 201, r.text
        complaint = r.json()["id"]
        r = await h.client.post(f"/api/v1/hazards/{general}/verify", headers=contract.agency.headers())
        assert r.status_code == 200, r.text
        other = await h.setup()  # another enterprise's records stay out
        await log_hazards(h, other, hazard())
        # the major hazard was never rectified: overdue, −10 on the enterprise's credit file
        after = TODAY + timedelta(days=21)
        h.clock.set(clock_at(after).now())
        await h.sweep(after)
        # a redelivered risk change, and an update that changes no risk, add nothing to the history
        await h.publish("enterprise.risk_changed", {**e.event(), "previous_risk_level": "yellow"})
        await h.publish("enterprise.updated", {**e.event(), "version": e.version + 1})
        e.version += 1
        await h.feed()

        async def updated():
            r = await h.client.get(url(e), headers=bureau())
            return r.json() if r.status_code == 200 and r.json()["enterprise"]["version"] == e.version else None

        file = await eventually(updated, timeout=15)
        assert file["enterprise"] | {"updated_at": None} == {
            "id": e.id,
            "uscc": e.uscc,
            "name": e.name,
            "district_code": e.district_code,
            "risk_level": "red",
            "version": 3,
            "updated_at": None,
            "industry": "machinery",
            # the factory's event carries no more of the record (an older producer's)
            **dict.fromkeys(
                ("town", "village", "address", "employees", "major_hazard_source", "hazard_flags", "base_level"), None
            ),
            **dict.fromkeys(("contact_name", "contact_phone"), None),
        }
        assert [(s["version"], s["risk_level"], s["previous_risk_level"]) for s in file["risk_history"]] == [
            (1, "yellow", None),
            (2, "red", "yellow"),
        ]
        assert [(c["id"], c["status"], c["agency_name"]) for c in file["contracts"]] == [
            (contract.id, "active", contract.agency.name)
        ]
        assert len(file["visits"]) == 1 and file["visits"][0]["contract_id"] == contract.id
        hazards = {x["id"]: x for x in file["hazards"]}
        assert set(hazards) == {general, major}
        assert hazards[general]["state"] == "verified"
        assert [s["status"] for s in hazards[general]["steps"]] == ["open", "rectified", "verified"]
        assert hazards[major]["state"] == "overdue"
        assert [s["status"] for s in hazards[major]["steps"]] == ["open", "overdue"]
        assert [c["hazard_id"] for c in file["supervision_cases"]] == [major]
        assert [(c["id"], c["state"]) for c in file["complaints"]] == [(complaint, "received")]
        assert (file["credit"]["score"], file["credit"]["grade"], file["credit"]["version"]) == (90, "A", 2)
        assert [(r["kind"], r["hazard_id"]) for r in file["credit"]["records"]] == [
            ("rectified_on_time", general),  # +1 at the cap: recorded, not banked
            ("major_hazard_overdue", major),
        ]
        # one time order over every dated fact
        moments = [f["at"] for f in file["timeline"]]
        assert moments == sorted(moments)
        sections = {f["section"] for f in file["timeline"]}
        assert sections == {
            "risk_history",
            "contracts",
            "visits",
            "hazards",
            "supervision_cases",
            "complaints",
            "credit",
        }
        facts = [(f["section"], f["ref"], f["what"]) for f in file["timeline"] if f["section"] != "risk_history"]
        # (risk steps carry their event's time: the wall clock here, not the service's frozen one)
        assert facts.index(("hazards", general, "rectified")) < facts.index(("hazards", general, "verified"))
        assert facts[-1] == ("credit", file["credit"]["records"][-1]["id"], "major_hazard_overdue")


async def test_the_file_for_the_archive_xlsx_and_pdf(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract, general, _ = await _world(h)
        r = await h.client.get(url(contract.enterprise), headers={**city(), "Accept": XLSX})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == XLSX
        assert "attachment" in r.headers["content-disposition"]
        book = load_workbook(io.BytesIO(r.content), read_only=True)
        assert book.sheetnames[0] == "企业 enterprise"
        head = {row[0]: row[1] for row in book["企业 enterprise"].iter_rows(values_only=True)}
        assert head["企业名称 name"] == contract.enterprise.name and head["诚信等级 credit grade"] == "A"
        risks = list(book["风险等级 risk"].iter_rows(values_only=True))
        assert [row[1] for row in risks[1:]] == ["yellow", "red"]
        hazards = list(book["隐患 hazards"].iter_rows(values_only=True))
        assert general in {row[0] for row in hazards[1:]}
        for sheet in (
            "合同 contracts",
            "服务记录 visits",
            "挂牌督办 supervision",
            "投诉 complaints",
            "诚信记录 credit",
        ):
            assert sheet in book.sheetnames

        r = await h.client.get(
            url(contract.enterprise), headers={**contract.enterprise.headers(), "Accept": "application/pdf"}
        )
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        assert r.content.startswith(b"%PDF")
        assert contract.enterprise.name in pdf_text(r.content)


def pdf_text(body: bytes) -> str:
    """The text the PDF draws, roughly: its content streams' glyph strings mapped to Unicode through
    the fonts' ToUnicode CMaps (WeasyPrint embeds a subset of the CJK font, two-byte glyph ids)."""
    streams = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S):
        try:
            streams.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    glyphs: dict[bytes, str] = {}
    for stream in streams:
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
            for glyph, uni in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
                glyphs[glyph.lower()] = bytes.fromhex(uni.decode()).decode("utf-16-be", "replace")
    drawn = []
    for stream in streams:
        for shown in re.findall(rb"\[(.*?)\]\s*TJ", stream, re.S):
            for hexes in re.findall(rb"<([0-9a-fA-F]+)>", shown):
                drawn.append("".join(glyphs.get(hexes[i : i + 4].lower(), "?") for i in range(0, len(hexes), 4)))
    return "".join(drawn)


async def test_who_reads_the_file_and_in_what_formats(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        stranger = Enterprise()
        await h.feed(stranger)
        path = url(contract.enterprise)
        for headers in (contract.enterprise.headers(), bureau(), city(), admin()):
            r = await h.client.get(path, headers=headers)
            assert r.status_code == 200, r.text
        for headers in (bureau(OTHER_DISTRICT), contract.agency.headers(), stranger.headers()):
            r = await h.client.get(path, headers=headers)
            assert r.status_code in (403, 404), r.text
            assert r.headers["content-type"].startswith("application/problem+json")
        r = await h.client.get(path)
        assert r.status_code == 401
        r = await h.client.get(f"/api/v1/enterprises/{uuid.uuid4()}/file", headers=bureau())
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
        for accept in ("text/html", "image/png, text/csv", "application/pdf;q=0"):
            r = await h.client.get(path, headers={**bureau(), "Accept": accept})
            assert r.status_code == 406, (accept, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "not_acceptable"
        for accept, media in (
            ("*/*", "application/json"),
            ("application/*", "application/json"),
            ("application/json;q=0.5, application/pdf", "application/pdf"),
            (f"text/html, {XLSX};q=0.9", XLSX),
            ("", "application/json"),
        ):
            r = await h.client.get(path, headers={**bureau(), "Accept": accept})
            assert r.status_code == 200, (accept, r.text)
            assert r.headers["content-type"].split(";")[0] == media, accept


@given(st.text(max_size=200))
def test_any_accept_header_picks_an_offer_or_none(accept):
    """Whatever the Accept header says, negotiation answers one of the offers or None (406), never
    an error (the route's 406 is a problem, not a 500)."""
    assert exports.negotiate(accept, OFFERED) in (*OFFERED, None)


def test_negotiation_weights():
    pdf, json_ = exports.PDF_MEDIA_TYPE, "application/json"
    assert exports.negotiate(None, OFFERED) == json_
    assert exports.negotiate("application/pdf, */*", OFFERED) == pdf  # named beats a wildcard
    assert exports.negotiate("*/*;q=0.1, application/pdf;q=0.05", OFFERED) == json_
    assert exports.negotiate("application/json;q=nan, text/html", OFFERED) is None
    assert exports.negotiate(f"{XLSX};q=inf", OFFERED) == XLSX


def test_the_pdf_escapes_what_records_say():
    from datetime import UTC, datetime

    from services.audit.service.efile import EnterpriseFile
    from services.audit.service.efile_pdf import html, pdf

    name = "<img src='file:///etc/passwd'>蓬江&厂"
    file = EnterpriseFile(
        enterprise={"id": "x", "uscc": "u", "name": name, "district_code": "440703", "risk_level": "red"},
        as_of=datetime(2026, 6, 1, tzinfo=UTC),
        visits=[{"summary": "<script>alert(1)</script>"}],
        credit={"score": 100, "grade": "A", "records": []},
    )
    page = html(file)
    assert "<img" not in page and "<script>" not in page
    assert "&lt;img src=&#39;file:///etc/passwd&#39;&gt;蓬江&amp;厂" in page
    assert pdf(file).startswith(b"%PDF")


# --- the record section: the enterprise's whole record as the enterprises service publishes it ---
RECORD = {
    "industry": "machinery",
    "town": "440703001",
    "village": "440703001001",
    "address": "蓬江区环市街道建设路88号",
    "employees": 120,
    "major_hazard_source": True,
    "hazard_flags": ["dust_explosion", "confined_space"],
    "base_level": "orange",
    "risk_level": "orange",
    "contact_name": "李明",
    "contact_phone": "13800138000",
}


def _published(e: Enterprise, **changes) -> dict:
    """The payload the enterprises service emits for this record (its own event builder)."""
    from services.enterprises.events import enterprise_changed

    record = {
        "id": e.id,
        "version": e.version,
        "uscc": e.uscc,
        "name": e.name,
        "district_code": e.district_code,
        **RECORD,
        **changes,
    }
    return enterprise_changed(record).model_dump(mode="json")


async def _file_at(h, e: Enterprise, version: int) -> dict:
    async def held():
        r = await h.client.get(url(e), headers=bureau())
        return r.json() if r.status_code == 200 and r.json()["enterprise"]["version"] == version else None

    return await eventually(held, timeout=15)


async def test_the_record_is_the_enterprise_s_whole_record(backend):
    """Registered through the enterprises service's event, the file carries every field of the
    record; an update changes them; an older event (a late redelivery) does not."""
    async with audit_app(backend) as h:
        e = Enterprise()
        await h.publish("enterprise.registered", _published(e))
        file = await _file_at(h, e, 1)
        assert {k: file["enterprise"][k] for k in RECORD} == RECORD
        assert (file["enterprise"]["name"], file["enterprise"]["uscc"]) == (e.name, e.uscc)

        moved = {"address": "蓬江区潮连街道富民路1号", "town": "440703002", "village": None, "employees": 80}
        e.version = 2
        await h.publish("enterprise.updated", _published(e, contact_phone="13900139000", **moved))
        file = await _file_at(h, e, 2)
        assert {k: file["enterprise"][k] for k in (*moved, "contact_phone")} == moved | {"contact_phone": "13900139000"}

        await h.publish("enterprise.updated", {**_published(e, address="旧地址", employees=5), "version": 1})
        later = Enterprise()  # published after the stale event: once it is held, the stale one was handled
        await h.publish("enterprise.registered", _published(later))
        await _file_at(h, later, 1)
        file = await _file_at(h, e, 2)
        assert {k: file["enterprise"][k] for k in moved} == moved


async def test_the_record_in_the_archive_formats(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        e = Enterprise()
        await h.publish("enterprise.registered", _published(e))
        await _file_at(h, e, 1)
        r = await h.client.get(url(e), headers={**bureau(), "Accept": XLSX})
        assert r.status_code == 200, r.text
        book = load_workbook(io.BytesIO(r.content), read_only=True)
        head = {row[0]: row[1] for row in book["企业 enterprise"].iter_rows(values_only=True)}
        assert head["行业 industry"] == "机械 (machinery)"
        assert head["所在镇街 town"] == "环市街道 (440703001)"
        assert head["所在村居 village"] == "环市第1社区 (440703001001)"
        assert head["地址 address"] == RECORD["address"]
        assert head["从业人数 employees"] == 120
        assert head["重大危险源 major hazard source"] == "是 yes"
        assert head["危险特征 hazard characteristics"] == "dust_explosion、confined_space"
        assert head["基础风险等级 base risk level"] == "orange"
        assert (head["联系人 contact"], head["联系电话 contact phone"]) == ("李明", "13800138000")
        assert head["统一社会信用代码 USCC"] == e.uscc and head["所在区县 district"].endswith("(440703)")

        r = await h.client.get(url(e), headers={**bureau(), "Accept": "application/pdf"})
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
        drawn = pdf_text(r.content)
        for shown in ("机械", "环市街道", RECORD["address"], "李明", "13800138000", "联系电话", "从业人数"):
            assert shown in drawn, shown


def test_the_pdf_s_html_carries_every_field_of_the_record():
    from datetime import UTC, datetime

    from services.audit.service.efile import ENTERPRISE_LABELS, EnterpriseFile
    from services.audit.service.efile_pdf import html

    e = Enterprise()
    file = EnterpriseFile(
        enterprise={**_published(e), "updated_at": datetime(2026, 6, 1, tzinfo=UTC)},
        as_of=datetime(2026, 6, 1, tzinfo=UTC),
        credit={"score": 100, "grade": "A", "records": []},
    )
    page = html(file)
    for label in ENTERPRISE_LABELS.values():
        assert f"<th>{label}</th>" in page
    for value in ("机械 (machinery)", "环市街道 (440703001)", RECORD["address"], "120", "是 yes", "dust_explosion"):
        assert value in page
    assert "李明" in page and "13800138000" in page and e.uscc in page
