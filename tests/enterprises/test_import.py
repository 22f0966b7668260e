"""Bulk CSV import on both backends: valid rows, every kind of bad row, duplicates, re-import,
updates, encodings, and concurrent imports of the same file; plus the streaming decoder and
record splitter on awkward chunk boundaries."""

from __future__ import annotations

import asyncio
import codecs

import pytest

from devtools.testing.events import read_events
from devtools.testing.wait import eventually
from services.enterprises.service import import_records
from services.enterprises.service.csv_reader import Decoder, RecordSplitter
from services.enterprises.service.imports import Cells, Unreadable
from shared.auth import Principal
from shared.errors import FieldError
from shared.roles import Role
from tests.enterprises.factories import (
    CSV_COLUMNS,
    admin,
    agency,
    bureau,
    csv_row,
    csv_text,
    enterprise_body,
    enterprise_token,
    import_csv,
    register,
    service,
    uscc,
)

DISTRICT_TOWNS = [("440703", "440703001"), ("440704", "440704001"), ("440705", "440705002"), ("440781", "台城街道")]


def many(n: int, *, district: str | None = None) -> list[dict]:
    rows = []
    for i in range(n):
        d, town = (district, f"{district}001") if district else DISTRICT_TOWNS[i % len(DISTRICT_TOWNS)]
        rows.append(
            enterprise_body(
                name=f"导入测试企业{i}号",
                district_code=d,
                town=town,
                employees=i % 150,
                industry=["machinery", "commerce_trade", "metallurgy"][i % 3],
                hazard_flags=["confined_space", "dust_explosion"] if i % 5 == 0 else [],
                major_hazard_source=i % 37 == 0,
            )
        )
    return rows


async def _count(client, headers=None) -> int:
    total, cursor = 0, None
    while True:
        r = await client.get(
            "/api/v1/enterprises",
            params={"limit": 200, **({"cursor": cursor} if cursor else {})},
            headers=headers or admin(),
        )
        total += len(r.json()["items"])
        cursor = r.json()["next_cursor"]
        if not cursor:
            return total


async def test_valid_rows_reimport_and_updates(backend):
    async with service(backend) as (client, settings):
        rows = many(300)
        content = csv_text(rows)
        r = await import_csv(client, content, headers=admin())
        assert r.status_code == 200, r.text
        report = r.json()
        assert (report["rows"], report["accepted"], report["updated"], report["unchanged"]) == (300, 300, 0, 0)
        assert report["rejected"] == []
        assert report["encoding"] == "utf-8"
        assert await _count(client) == 300
        one = (await client.get(f"/api/v1/enterprises/by-uscc/{rows[0]['uscc']}", headers=admin())).json()
        assert one["name"] == "导入测试企业0号"
        assert one["hazard_flags"] == ["confined_space", "dust_explosion"]
        assert one["major_hazard_source"] is True
        assert one["risk_level"] == "red"
        assert one["version"] == 1
        taishan = (await client.get(f"/api/v1/enterprises/by-uscc/{rows[3]['uscc']}", headers=admin())).json()
        assert taishan["town"] == "440781001"  # by name → code

        # the same file again: nothing changes, nothing is emitted
        again = (await import_csv(client, content, headers=admin())).json()
        assert (again["accepted"], again["updated"], again["unchanged"], again["rejected"]) == (0, 0, 300, [])

        # one row changed in a way that changes the risk, one changed otherwise
        rows[1] = {**rows[1], "employees": 120}  # commerce_trade blue → yellow
        rows[2] = {**rows[2], "address": "新地址 8 号"}
        changed = (await import_csv(client, csv_text(rows), headers=admin())).json()
        assert (changed["accepted"], changed["updated"], changed["unchanged"]) == (0, 2, 298)
        second = (await client.get(f"/api/v1/enterprises/by-uscc/{rows[1]['uscc']}", headers=admin())).json()
        assert second["version"] == 2
        assert second["risk_level"] == "yellow"
        assert second["employees"] == 120

        def enough(events):
            return events if len(events) >= 303 else None

        events = await eventually(lambda: _all(settings, enough), timeout=20)
        kinds = [e.type for e in events]
        assert kinds.count("enterprise.registered") == 300
        assert kinds.count("enterprise.updated") == 2
        assert kinds.count("enterprise.risk_changed") == 1
        risk_changed = next(e for e in events if e.type == "enterprise.risk_changed")
        assert risk_changed.data["uscc"] == rows[1]["uscc"]
        assert risk_changed.data["previous_risk_level"] == "blue"
        await asyncio.sleep(0.3)
        assert len(await read_events(settings)) == 303


async def _all(settings, check):
    return check(await read_events(settings))


async def test_every_kind_of_bad_row_is_reported_and_skipped(backend):
    async with service(backend) as (client, _):
        elsewhere = await register(client, district_code="440704", town="440704001")  # not Pengjiang's
        good = [enterprise_body(name=f"好企业{i}") for i in range(3)]
        dup = enterprise_body()
        bad = [
            (enterprise_body(uscc="91440703MA0000000X"), "uscc"),
            (enterprise_body(district_code="440799"), "district_code"),
            (enterprise_body(town="不存在街道"), "town"),
            (enterprise_body(village="440704001001"), "village"),
            (enterprise_body(industry="mining"), "industry"),
            (enterprise_body(employees=-3), "employees"),
            (enterprise_body(employees="十个"), "employees"),
            (enterprise_body(major_hazard_source="也许"), "major_hazard_source"),
            (enterprise_body(hazard_flags=["lava"]), "hazard_flags.0"),
            (enterprise_body(hazard_flags=["dust_explosion", "dust_explosion"]), "hazard_flags"),
            (enterprise_body(contact_phone="12345"), "contact_phone"),
            (enterprise_body(name=""), "name"),
            (
                enterprise_body(district_code="440704", town="440704001"),
                "district_code",
            ),  # outside the bureau's district
            ({**enterprise_body(), "uscc": elsewhere["uscc"]}, "uscc"),  # exists in another district
            (dup, None),  # first occurrence: fine
            ({**dup, "name": "重复行"}, "uscc"),  # the same USCC again in the file
        ]
        records = [good[0]] + [b for b, _ in bad] + good[1:]
        lines = [csv_row(r) for r in records]
        lines.append([*csv_row(enterprise_body()), "extra-cell"])
        r = await import_csv(client, csv_text(lines), headers=bureau("440703"))
        assert r.status_code == 200, r.text
        report = r.json()
        rejected = {x["row"]: x for x in report["rejected"]}
        expected_rows = {i + 3: field for i, (_, field) in enumerate(bad) if field}  # header = row 1, good[0] = row 2
        expected_rows[len(lines) + 1] = "row"
        assert sorted(rejected) == sorted(expected_rows), report["rejected"]
        for row, field in expected_rows.items():
            fields = [e["field"] for e in rejected[row]["errors"]]
            assert field in fields, (row, field, rejected[row])
            assert all(e["message"] for e in rejected[row]["errors"])
        dup_row = next(i + 3 for i, (b, _) in enumerate(bad) if b is dup)
        assert str(dup_row) in rejected[dup_row + 1]["errors"][0]["message"]  # names the first row
        assert report["accepted"] == 4
        assert report["updated"] == 0
        assert report["rows"] == len(lines)
        # the rejected rows left nothing behind; the good ones are there
        for record, field in bad:
            if field in ("uscc",) or record is dup:
                continue
            found = await client.get(f"/api/v1/enterprises/by-uscc/{record['uscc']}", headers=admin())
            assert found.status_code == 404, record
        kept = await client.get(f"/api/v1/enterprises/by-uscc/{dup['uscc']}", headers=admin())
        assert kept.json()["name"] == dup["name"]
        untouched = await client.get(f"/api/v1/enterprises/by-uscc/{elsewhere['uscc']}", headers=admin())
        assert untouched.json()["version"] == 1
        assert untouched.json()["district_code"] == "440704"
        # English messages on request
        en = await import_csv(
            client, csv_text([enterprise_body(town="nowhere")]), headers={**bureau(), "Accept-Language": "en"}
        )
        assert "is not a town" in en.json()["rejected"][0]["errors"][0]["message"]


async def test_encodings_headers_and_formats(backend):
    async with service(backend) as (client, _):
        gbk_rows = [
            enterprise_body(
                name="江门市蓬江区荷塘镇五金厂",
                address="荷塘镇篁湾村",
                contact_name="陈大文",
                town="潮连街道",
                hazard_flags=["dust_explosion", "confined_space"],
            )
            for _ in range(3)
        ]
        r = await import_csv(client, csv_text(gbk_rows).encode("gbk"))
        assert r.status_code == 200, r.text
        assert (r.json()["accepted"], r.json()["encoding"]) == (3, "gbk"), r.text
        got = (await client.get(f"/api/v1/enterprises/by-uscc/{gbk_rows[0]['uscc']}", headers=admin())).json()
        assert got["name"] == "江门市蓬江区荷塘镇五金厂"
        assert got["contact_name"] == "陈大文"
        assert got["town"] == "440703002"

        bom_rows = [enterprise_body(name="带BOM的企业")]
        r = await import_csv(client, codecs.BOM_UTF8 + csv_text(bom_rows).encode("utf-8"))
        assert (r.json()["accepted"], r.json()["encoding"]) == (1, "utf-8-bom"), r.text

        declared = [enterprise_body(name="声明编码企业")]
        r = await import_csv(client, csv_text(declared).encode("gbk"), content_type="text/csv; charset=GBK")
        assert r.json()["accepted"] == 1
        assert r.json()["encoding"] == "gbk"

        # Chinese column labels, 是/否, ';' separators, a quoted address over two lines, an unknown
        # column, blank and Excel-style empty rows
        body = enterprise_body()
        text_ = (
            "统一社会信用代码,企业名称,行业,区县代码,镇街,村居,地址,从业人数,重大危险源,风险标识,联系人,联系电话,备注\n"
            f'{body["uscc"]},中文表头企业,machinery,440703,环市街道,,"第一行\n第二行",12.0,是,dust_explosion;confined_space,王五,0750-3456789,x\n'
            "\n,,,,,,,,,,,,\n"
        )
        r = await import_csv(client, text_)
        assert r.status_code == 200, r.text
        assert (r.json()["accepted"], r.json()["ignored_columns"]) == (1, ["备注"]), r.text
        got = (await client.get(f"/api/v1/enterprises/by-uscc/{body['uscc']}", headers=admin())).json()
        assert got["address"] == "第一行\n第二行"
        assert got["major_hazard_source"] is True
        assert got["employees"] == 12
        assert got["hazard_flags"] == ["confined_space", "dust_explosion"]

        # whole-file problems: 422 / 415 / 403, nothing written
        missing = csv_text([enterprise_body()], header=[c for c in CSV_COLUMNS if c != "contact_phone"])
        r = await import_csv(client, missing)
        assert r.status_code == 422
        assert [e["field"] for e in r.json()["errors"]] == ["contact_phone"]
        assert (await import_csv(client, b"")).status_code == 422
        assert (await import_csv(client, "uscc,uscc,name\n")).status_code == 422
        assert (await import_csv(client, codecs.BOM_UTF16_LE + "a,b".encode("utf-16-le"))).status_code == 422
        assert (await import_csv(client, csv_text([]), content_type="application/json")).status_code == 415
        assert (await import_csv(client, csv_text([]), content_type="image/png")).status_code == 415
        assert (await import_csv(client, csv_text([]), headers=enterprise_token(uscc()))).status_code == 403
        assert (await import_csv(client, csv_text([]), headers=agency())).status_code == 403
        r = await import_csv(client, csv_text([]))
        assert r.status_code == 200
        assert r.json()["rows"] == 0
        # garbage bytes are not a 500
        r = await import_csv(client, bytes(range(256)) * 10)
        assert r.status_code in (200, 422)


async def test_concurrent_imports_of_one_file_register_each_enterprise_once(backend):
    async with service(backend) as (client, _):
        rows = many(120, district="440703")
        content = csv_text(rows)
        first, second = await asyncio.gather(import_csv(client, content), import_csv(client, content))
        a, b = first.json(), second.json()
        assert first.status_code == second.status_code == 200
        assert a["rejected"] == b["rejected"] == []
        assert a["accepted"] + b["accepted"] == 120
        assert a["unchanged"] + b["unchanged"] == 120
        assert await _count(client) == 120


# --- streaming pieces, no database ---------------------------------------------------------
@pytest.mark.parametrize(("encoding", "expected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030")])
def test_decoder_handles_characters_split_across_chunks(encoding, expected):
    source = "uscc,name\n" + "\n".join(f"X{i},江门市蓬江区企业{i}号" for i in range(2000)) + "\n"
    raw = source.encode(encoding)
    for size in (1, 7, 4096):
        decoder = Decoder()
        out = "".join(decoder.feed(raw[i : i + size]) for i in range(0, len(raw), size)) + decoder.feed(b"", final=True)
        assert out == source
        assert decoder.encoding == expected


def test_decoder_sniffs_past_a_long_ascii_prefix():
    raw = ("a" * 100_000 + "\n江门\n").encode("gbk")
    decoder = Decoder()
    out = "".join(decoder.feed(raw[i : i + 1000]) for i in range(0, len(raw), 1000)) + decoder.feed(b"", final=True)
    assert decoder.encoding == "gb18030"
    assert out.endswith("江门\n")


def test_record_splitter_keeps_quoted_newlines_together_whatever_the_chunks():
    text_ = 'h1,h2\r\na,"x\r\ny"\r\nb,"say ""hi"""\r\nc,x"y\r\nd,e'
    expected = ["h1,h2\r\n", 'a,"x\r\ny"\r\n', 'b,"say ""hi"""\r\n', 'c,x"y\r\n', "d,e"]
    for size in (1, 2, 5, 100):
        splitter = RecordSplitter()
        out = []
        for i in range(0, len(text_), size):
            out += splitter.feed(text_[i : i + size])
        out += splitter.feed("", final=True)
        assert out == expected, size


async def test_a_file_whose_encoding_changes_midway_keeps_what_came_before(sqlite_backend):
    async with service(sqlite_backend) as (client, _):
        first = [enterprise_body(name=f"前段企业{i}", address="长" * 250) for i in range(300)]  # > 64 KiB of UTF-8
        tail = csv_text([enterprise_body(name="后段企业")]).split("\r\n", 1)[1].encode("gbk")
        r = await import_csv(client, csv_text(first).encode("utf-8") + tail)
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["accepted"] == 300
        assert report["encoding"] == "utf-8"
        assert report["rejected"][-1]["row"] == 302
        assert report["rejected"][-1]["errors"][0]["field"] == "file"


class ListReader:
    """A reader of another format, as an XLSX reader would be: lines of cells, and its name."""

    encoding = "xlsx"

    def __init__(self, rows: list[list[str]]) -> None:
        self.rows = rows

    async def lines(self):
        for number, cells in enumerate(self.rows, start=1):
            yield Cells(number, cells)
        yield Unreadable(len(self.rows) + 1, FieldError("row", "unreadable"))


async def test_the_importer_takes_any_reader(sqlite_backend):
    async with service(sqlite_backend) as (client, _):
        rows = [enterprise_body(name=f"表格企业{i}") for i in range(3)]
        runtime = client._transport.app.state.runtime
        uow = runtime.unit_of_work(Principal(subject="b", role=Role.BUREAU, district="440703"))
        report = await import_records(uow, reader=ListReader([CSV_COLUMNS, *(csv_row(r) for r in rows)]))
        assert (report.encoding, report.rows, report.accepted) == ("xlsx", 4, 3)
        assert [(x.row, x.errors[0].field) for x in report.rejected] == [(5, "row")]
        got = await client.get(f"/api/v1/enterprises/by-uscc/{rows[2]['uscc']}", headers=admin())
        assert got.json()["name"] == "表格企业2"
