"""The bureau's ledger as districts hold it (SPEC §22, issue #18 item 1), on both backends through
the service app: a GBK CSV written by Python's csv and an XLSX written by openpyxl the way office
software writes them (Chinese headers and values, a merged title row, trailing empty rows); XLSX
bodies that are not workbooks or would unpack too far; the dry run; the public template. Plus
the XLSX reader's bounds and the column mapping, without a database."""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import PatternFill

from devtools.testing.events import read_events
from services.enterprises.service.import_columns import is_header, raw_record
from services.enterprises.service.imports import Cells, Unreadable
from services.enterprises.service.xlsx_reader import XlsxReader, check_archive
from shared.errors import PayloadTooLarge, ValidationFailed
from tests.enterprises.factories import CSV_COLUMNS, admin, bureau, csv_text, enterprise_body, import_csv, service

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZH_HEADER = [
    "统一社会信用代码",
    "企业名称",
    "行业",
    "所在区县",
    "镇街",
    "村居",
    "地址",
    "从业人数",
    "重大危险源",
    "危险特征",
    "联系人",
    "联系电话",
]
TITLE = "江门市蓬江区小微企业安全生产托管企业名录（2026 年）"


def zh_row(body: dict[str, Any], **labels: Any) -> list[Any]:
    """A row as a district office types it: Chinese labels where it has them."""
    values = {
        "uscc": body["uscc"],
        "name": body["name"],
        "industry": "机械",
        "district_code": "蓬江区",
        "town": "潮连街道",
        "village": "",
        "address": body["address"],
        "employees": body["employees"],
        "major_hazard_source": "否",
        "hazard_flags": "",
        "contact_name": body["contact_name"],
        "contact_phone": body["contact_phone"],
        **labels,
    }
    return [values[c] for c in CSV_COLUMNS]


def gbk_csv(path, rows: list[list[Any]]) -> bytes:
    """Written as Excel on Chinese Windows saves a CSV: GBK, a title row, trailing ",,," rows."""
    with open(path, "w", encoding="gbk", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([TITLE] + [""] * 11)
        writer.writerow(ZH_HEADER)
        writer.writerows(rows)
        writer.writerows([[""] * 12] * 3)
    return path.read_bytes()


def office_xlsx(rows: list[list[Any]], *, header: list[str] = ZH_HEADER, title: bool = True) -> bytes:
    """A workbook as office software writes it: a merged, styled title row above the header,
    numbers as numbers, and formatted but empty rows at the end."""
    wb = Workbook()
    ws = wb.active
    ws.title = "企业名录"
    if title:
        ws.append([TITLE])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.append(header)
    for row in rows:
        ws.append(row)
    fill = PatternFill("solid", fgColor="FFFF00")
    for r in range(ws.max_row + 1, ws.max_row + 6):
        for c in range(1, len(header) + 1):
            ws.cell(row=r, column=c).fill = fill
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


async def _get(client, uscc: str) -> dict[str, Any]:
    r = await client.get(f"/api/v1/enterprises/by-uscc/{uscc}", headers=admin())
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_gbk_csv_with_chinese_headers_and_values_imports(backend, tmp_path):
    async with service(backend) as (client, _):
        a = enterprise_body(name="江门市蓬江区荷塘五金厂", contact_name="陈大文", employees=35)
        b = enterprise_body(name="江门市蓬江区潮连纺织厂")
        c = enterprise_body(name="坏行业企业")
        rows = [
            zh_row(a, major_hazard_source="是", hazard_flags="粉尘涉爆、有限空间作业"),
            zh_row(b, industry="纺织", district_code="江门市蓬江区", town="环市街道", hazard_flags="无"),
            zh_row(c, industry="采矿"),
        ]
        r = await import_csv(client, gbk_csv(tmp_path / "名录.csv", rows))
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["encoding"] == "gbk"
        assert (report["rows"], report["accepted"], report["updated"]) == (3, 2, 0), report
        # the title is row 1, the header row 2: the third data row is row 5 of the file
        assert [(x["row"], x["uscc"], x["errors"][0]["field"]) for x in report["rejected"]] == [
            (5, c["uscc"], "industry")
        ]
        got = await _get(client, a["uscc"])
        assert (got["name"], got["contact_name"], got["industry"]) == ("江门市蓬江区荷塘五金厂", "陈大文", "machinery")
        assert (got["district_code"], got["town"], got["employees"]) == ("440703", "440703002", 35)
        assert got["major_hazard_source"] is True
        assert got["hazard_flags"] == ["confined_space", "dust_explosion"]
        other = await _get(client, b["uscc"])
        assert (other["industry"], other["town"], other["hazard_flags"]) == ("textiles", "440703001", [])
        assert other["major_hazard_source"] is False


async def test_gb18030_and_english_labels(sqlite_backend):
    async with service(sqlite_backend) as (client, _):
        body = enterprise_body(name="江门市𫖯记五金店")  # 𫖯 is in GB18030, not in GBK
        row = zh_row(body, industry="Machinery", district_code="Pengjiang District", hazard_flags="dust explosion")
        content = "\r\n".join(",".join(str(v) for v in line) for line in (ZH_HEADER, row)).encode("gb18030")
        r = await import_csv(client, content)
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == 1, r.text
        got = await _get(client, body["uscc"])
        assert (got["name"], got["industry"], got["hazard_flags"]) == (body["name"], "machinery", ["dust_explosion"])


async def test_an_xlsx_written_by_office_software_imports(backend):
    async with service(backend) as (client, _):
        a = enterprise_body(name="江门市蓬江区白沙机械厂", employees=12)
        b = enterprise_body(name="江门市蓬江区杜阮商贸部")
        bad = enterprise_body(name="电话有误企业")
        rows = [
            zh_row(a, employees=12.0, town="白沙街道", major_hazard_source="是", hazard_flags="粉尘涉爆"),
            zh_row(b, industry="商贸", contact_phone=13800138000, employees=3),
            zh_row(bad, contact_phone="12345"),
        ]
        r = await client.post(
            "/api/v1/enterprises/import", content=office_xlsx(rows), headers={**bureau(), "Content-Type": XLSX}
        )
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["encoding"] == "xlsx"
        assert (report["rows"], report["accepted"], report["updated"], report["unchanged"]) == (3, 2, 0, 0), report
        assert [(x["row"], x["errors"][0]["field"]) for x in report["rejected"]] == [(5, "contact_phone")]
        got = await _get(client, a["uscc"])
        assert (got["employees"], got["town"], got["industry"]) == (12, "440703003", "machinery")
        assert got["major_hazard_source"] is True
        assert got["risk_level"] == "red"
        second = await _get(client, b["uscc"])
        assert (second["contact_phone"], second["industry"]) == ("13800138000", "commerce_trade")

        # English headers and codes, no title row; the same records again: nothing changes
        english = [
            [
                *(a["uscc"], a["name"], "machinery", "440703", "440703003", None, a["address"], 12, "true"),
                *("dust_explosion", a["contact_name"], a["contact_phone"]),
            ]
        ]
        r = await client.post(
            "/api/v1/enterprises/import",
            content=office_xlsx(english, header=CSV_COLUMNS, title=False),
            headers={**bureau(), "Content-Type": XLSX},
        )
        assert r.status_code == 200, r.text
        assert (r.json()["accepted"], r.json()["updated"], r.json()["unchanged"]) == (0, 0, 1), r.text


async def test_bodies_that_are_not_workbooks_are_refused(backend):
    async with service(backend) as (client, _):
        body = enterprise_body()
        good = office_xlsx([zh_row(body)])
        zipped = io.BytesIO()
        with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("hello.txt", "not a workbook")
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("xl/worksheets/sheet1.xml", b"\0" * (64 * 1024 * 1024))
        cases = {
            "csv-as-xlsx": csv_text([body]).encode(),
            "truncated": good[: len(good) // 2],
            "legacy-xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512,
            "zip-not-workbook": zipped.getvalue(),
            "zip-bomb": bomb.getvalue(),
            "empty": b"",
        }
        for name, content in cases.items():
            r = await client.post(
                "/api/v1/enterprises/import", content=content, headers={**bureau(), "Content-Type": XLSX}
            )
            assert r.status_code == 422, (name, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json"), name
            assert r.json()["code"] == "bad_xlsx", (name, r.json())
            assert r.json()["detail"], name
        legacy = await client.post(
            "/api/v1/enterprises/import",
            content=cases["legacy-xls"],
            headers={**bureau(), "Content-Type": XLSX, "Accept-Language": "en"},
        )
        assert ".xls" in legacy.json()["detail"]
        assert (await client.get(f"/api/v1/enterprises/by-uscc/{body['uscc']}", headers=admin())).status_code == 404
        # the same workbook whole goes in
        r = await client.post("/api/v1/enterprises/import", content=good, headers={**bureau(), "Content-Type": XLSX})
        assert r.json()["accepted"] == 1, r.text


async def test_a_dry_run_reports_the_same_and_writes_nothing(backend):
    async with service(backend) as (client, settings):
        kept = [enterprise_body(name=f"已登记企业{i}") for i in range(2)]
        r = await import_csv(client, csv_text(kept))
        assert r.json()["accepted"] == 2, r.text
        await asyncio.sleep(1.2)  # the relay has published the two registrations
        before = len(await read_events(settings))

        new = [enterprise_body(name=f"新企业{i}") for i in range(3)]
        changed = {**kept[0], "address": "新地址 9 号"}
        bad = enterprise_body(industry="mining")
        rows = [*new, changed, kept[1], bad, {**new[0], "name": "同一代码"}]
        dry = await client.post(
            "/api/v1/enterprises/import",
            params={"dry_run": "true"},
            content=csv_text(rows).encode(),
            headers={**bureau(), "Content-Type": "text/csv"},
        )
        assert dry.status_code == 200, dry.text
        report = dry.json()
        assert report["dry_run"] is True
        assert (report["rows"], report["accepted"], report["updated"], report["unchanged"]) == (7, 3, 1, 1), report
        assert [(x["row"], x["errors"][0]["field"]) for x in report["rejected"]] == [(7, "industry"), (8, "uscc")]
        for body in new:
            assert (await client.get(f"/api/v1/enterprises/by-uscc/{body['uscc']}", headers=admin())).status_code == 404
        assert (await _get(client, kept[0]["uscc"]))["version"] == 1
        await asyncio.sleep(1.2)
        assert len(await read_events(settings)) == before

        # the same file for real: the same counts, and now written
        real = (await import_csv(client, csv_text(rows))).json()
        assert real["dry_run"] is False
        assert {k: real[k] for k in ("rows", "accepted", "updated", "unchanged", "rejected")} == {
            k: report[k] for k in ("rows", "accepted", "updated", "unchanged", "rejected")
        }
        assert (await _get(client, kept[0]["uscc"]))["version"] == 2
        # a dry run of an XLSX too
        body = enterprise_body()
        r = await client.post(
            "/api/v1/enterprises/import?dry_run=true",
            content=office_xlsx([zh_row(body)]),
            headers={**bureau(), "Content-Type": XLSX},
        )
        assert (r.json()["accepted"], r.json()["dry_run"]) == (1, True), r.text
        assert (await client.get(f"/api/v1/enterprises/by-uscc/{body['uscc']}", headers=admin())).status_code == 404


async def test_the_template_is_public_and_imports_once_filled_in(backend):
    async with service(backend) as (client, _):
        zh = await client.get("/api/v1/enterprises/import/template")  # no token; zh-CN CSV by default
        assert zh.status_code == 200, zh.text
        assert zh.headers["content-type"].startswith("text/csv")
        assert "attachment" in zh.headers["content-disposition"]
        assert zh.content.startswith(b"\xef\xbb\xbf")
        assert zh.content.decode("utf-8-sig").strip() == ",".join(ZH_HEADER)
        en = await client.get("/api/v1/enterprises/import/template", params={"lang": "en", "format": "csv"})
        assert en.content.decode("utf-8-sig").strip() == ",".join(CSV_COLUMNS)
        for lang, header in (("zh-CN", ZH_HEADER), ("en", CSV_COLUMNS)):
            x = await client.get("/api/v1/enterprises/import/template", params={"lang": lang, "format": "xlsx"})
            assert x.status_code == 200, x.text
            assert x.headers["content-type"] == XLSX
            sheet = load_workbook(io.BytesIO(x.content), read_only=True).worksheets[0]
            assert [list(r) for r in sheet.iter_rows(values_only=True)] == [header]
        for params in ({"lang": "fr"}, {"format": "pdf"}, {"lang": ""}):
            bad = await client.get("/api/v1/enterprises/import/template", params=params)
            assert bad.status_code == 422, (params, bad.text)
            assert bad.headers["content-type"].startswith("application/problem+json")

        # the empty template imports as it is; filled in, it imports its rows
        r = await import_csv(client, zh.content)
        assert (r.status_code, r.json()["rows"]) == (200, 0), r.text
        body = enterprise_body()
        filled = zh.content + ",".join(str(v) for v in zh_row(body)).encode() + b"\r\n"
        assert (await import_csv(client, filled)).json()["accepted"] == 1
        zh_xlsx = await client.get("/api/v1/enterprises/import/template", params={"format": "xlsx"})
        wb = load_workbook(io.BytesIO(zh_xlsx.content))
        wb.active.append(zh_row(enterprise_body(), industry="machinery"))
        buffer = io.BytesIO()
        wb.save(buffer)
        r = await client.post(
            "/api/v1/enterprises/import", content=buffer.getvalue(), headers={**bureau(), "Content-Type": XLSX}
        )
        assert (r.json()["accepted"], r.json()["rejected"]) == (1, []), r.text


async def test_a_file_without_a_header_row_is_refused(sqlite_backend):
    async with service(sqlite_backend) as (client, _):
        titles = "\r\n".join(f"说明第{i}行,,," for i in range(20)) + "\r\n"
        r = await import_csv(client, titles + csv_text([enterprise_body()]))
        assert r.status_code == 422
        assert r.json()["code"] == "bad_csv_header"
        # blank rows and a title above the header are fine
        r = await import_csv(client, "\r\n,,,\r\n" + TITLE + "\r\n" + csv_text([enterprise_body()]))
        assert r.json()["accepted"] == 1, r.text
        assert r.json()["rejected"] == []


# --- no database ---------------------------------------------------------------------------
async def _chunks(data: bytes, size: int = 65536):
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def _lines(reader: XlsxReader) -> list[Cells | Unreadable]:
    return [line async for line in reader.lines()]


async def test_the_xlsx_reader_numbers_rows_as_the_sheet_does():
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "标题"
    ws["A3"], ws["B3"], ws["C3"] = "统一社会信用代码", 12.0, True
    ws["A6"] = 1.5
    buffer = io.BytesIO()
    wb.save(buffer)
    lines = await _lines(XlsxReader(_chunks(buffer.getvalue(), 100)))
    assert [(x.number, x.cells) for x in lines if isinstance(x, Cells)] == [
        (1, ["标题"]),
        (2, []),
        (3, ["统一社会信用代码", "12", "true"]),
        (4, []),
        (5, []),
        (6, ["1.5"]),
    ]


async def test_the_xlsx_reader_bounds_what_it_unpacks_and_reads():
    wb = Workbook()
    ws = wb.active
    for i in range(50):
        ws.append([f"r{i}", i])
    buffer = io.BytesIO()
    wb.save(buffer)
    data = buffer.getvalue()
    with pytest.raises(PayloadTooLarge):
        await _lines(XlsxReader(_chunks(data), max_unpacked=1000))
    with pytest.raises(PayloadTooLarge):
        await _lines(XlsxReader(_chunks(data), max_bytes=1000))
    lines = await _lines(XlsxReader(_chunks(data), max_rows=10))
    assert len(lines) == 11
    assert isinstance(lines[-1], Unreadable)
    assert (lines[-1].number, lines[-1].is_row, lines[-1].error.field) == (11, False, "file")
    wide = await _lines(XlsxReader(_chunks(data), max_columns=1))
    assert all(len(x.cells) == 1 for x in wide if isinstance(x, Cells))
    with pytest.raises(ValidationFailed):
        check_archive(io.BytesIO(b"uscc,name\n"))


def test_headers_and_labels_map_to_fields():
    assert is_header(ZH_HEADER)
    assert is_header(["统一社会信用代码*", "企业名称 "])
    assert not is_header([TITLE])
    assert not is_header(["企业名称"])
    index = {c: i for i, c in enumerate(CSV_COLUMNS)}
    cells = [
        "x",
        "n",
        "建筑施工",
        "江门市蓬江区",
        "潮连街道",
        "",
        "a",
        "12.0",
        "否",
        "金属熔融；涉氨制冷|special_equipment",
    ]
    raw = raw_record([*cells, "c", "p"], index)
    assert raw["industry"] == "construction"
    assert raw["district_code"] == "440703"
    assert raw["major_hazard_source"] is False
    assert raw["employees"] == "12"
    assert raw["hazard_flags"] == ["metal_melting", "ammonia_refrigeration", "special_equipment"]
    assert raw_record(["x", "n", "mining", "440799"], index)["industry"] == "mining"  # left for validation
