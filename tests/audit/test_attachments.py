"""Attachments (SPEC §16): typed by content, at most 10 MiB, a quota per organisation, stored
content-addressed with no orphan file when a write fails, seen by the uploader's organisation and
by whoever may read a record naming it (404 to anyone else); named on visits, hazards and
rectifications (the caller's own only); a major hazard's rectification needs one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa

from tests.audit.factories import (
    OTHER_DISTRICT,
    Agency,
    Enterprise,
    admin,
    audit_app,
    bureau,
    city,
    hazard,
    service_log,
)
from tests.files import HTML, JPEG_PDF, PDF, PNG_HTML, jpeg, png

URL = "/api/v1/attachments"
MiB = 1024 * 1024


async def upload(h, headers, content: bytes, name: str = "x.pdf", declared: str = "application/pdf"):
    return await h.client.post(URL, files={"file": (name, content, declared)}, headers=headers)


async def uploaded(h, headers, content: bytes | None = None) -> str:
    r = await upload(h, headers, content or png())
    assert r.status_code == 201, r.text
    return r.json()["id"]


def stored_files(h) -> list[Path]:
    root = h.settings.attachments_root
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_the_type_is_decided_by_content(backend):
    async with audit_app(backend) as h:
        agency = Agency().headers()
        content = png(1)
        r = await upload(h, agency, content, name="photo.pdf", declared="application/pdf")  # a PNG named .pdf
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["content_type"] == "image/png"
        assert body["size"] == len(content) and body["sha256"] == hashlib.sha256(content).hexdigest()
        assert set(body) == {"id", "sha256", "size", "content_type"}
        assert r.headers["location"] == f"{URL}/{body['id']}"
        for good, ctype in ((jpeg(), "image/jpeg"), (PDF, "application/pdf")):
            r = await upload(h, agency, good, name="x.png", declared="image/png")
            assert r.status_code == 201 and r.json()["content_type"] == ctype, r.text
        for name, bad, status, code in (
            ("pdf-with-jpeg-header", JPEG_PDF, 422, "attachment_malformed"),
            ("png-with-html", PNG_HTML, 422, "attachment_malformed"),
            ("html", HTML, 415, "attachment_type"),
            ("truncated-png", png()[:-12], 422, "attachment_malformed"),
            ("empty", b"", 422, "attachment_empty"),
        ):
            r = await upload(h, agency, bad, name="x.jpg", declared="image/jpeg")
            assert r.status_code == status, (name, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == code, name
        r = await h.client.post(URL, content=png(), headers={**agency, "Content-Type": "image/png"})
        assert r.status_code == 415  # not multipart
        r = await h.client.post(URL, files={"other": ("x", png(), "image/png")}, headers=agency)
        assert r.status_code == 422
        got = await h.client.get(f"{URL}/{body['id']}", headers=agency)
        assert got.status_code == 200 and got.content == content
        assert got.headers["content-type"] == "image/png"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-disposition"] == f'attachment; filename="{body["id"]}.png"'
        meta = await h.client.get(f"{URL}/{body['id']}/meta", headers=agency)
        assert meta.json() == body
        # content-addressed: <root>/<sha[:2]>/<sha>, and nothing else left behind (no temporary files)
        names = {p.relative_to(h.settings.attachments_root).as_posix() for p in stored_files(h)}
        assert f"{body['sha256'][:2]}/{body['sha256']}" in names
        assert len(names) == 3


async def test_size_limit_and_who_uploads(backend):
    async with audit_app(backend) as h:
        agency = Agency().headers()
        head, tail = PDF[:-6] + b"%", b"\n%%EOF\n"
        at_limit = head + b"0" * (10 * MiB - len(head) - len(tail)) + tail
        assert len(at_limit) == 10 * MiB
        r = await upload(h, agency, at_limit)
        assert r.status_code == 201, r.text[:300]
        r = await upload(h, agency, at_limit + b"\n")
        assert r.status_code == 413 and r.json()["code"] == "attachment_too_large"
        r = await upload(h, agency, b"%PDF-1.4\n" + b"0" * (11 * MiB))
        assert r.status_code == 413
        assert len(stored_files(h)) == 1  # the refused ones left nothing
        for headers in (bureau(), city(), admin()):
            assert (await upload(h, headers, png())).status_code == 403
        assert (await upload(h, Enterprise().headers(), png())).status_code == 201


async def test_each_organisation_has_a_quota(backend):
    async with audit_app(backend, attachment_quota_bytes=len(PDF) * 2 + 10) as h:
        agency, other = Agency().headers(), Agency().headers()
        await uploaded(h, agency, PDF)
        await uploaded(h, agency, PDF)  # the same content twice counts twice (two uploads)
        r = await upload(h, agency, PDF)
        assert r.status_code == 413, r.text
        assert r.json()["code"] == "quota_exceeded"
        assert r.json()["quota_bytes"] == len(PDF) * 2 + 10
        await uploaded(h, other, PDF)  # another organisation's own quota
        assert len(stored_files(h)) == 1  # one content, stored once


async def test_seen_by_the_uploader_and_the_readers_of_a_record_naming_it(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        agency = contract.agency.headers()
        photo = await uploaded(h, agency, png(2))
        report = await uploaded(h, agency, PDF)
        never_named = await uploaded(h, agency, jpeg())
        outsiders = (Agency().headers(), Enterprise().headers(), bureau(OTHER_DISTRICT))
        for headers in (contract.enterprise.headers(), bureau(), *outsiders):
            assert (await h.client.get(f"{URL}/{photo}", headers=headers)).status_code == 404
        body = service_log(contract, hazards=[{**hazard("major"), "photos": [photo]}], attachments=[report])
        r = await h.client.post("/api/v1/service-logs", json=body, headers=agency)
        assert r.status_code == 201, r.text
        entry = r.json()
        assert entry["attachments"] == [report] and entry["hazards"][0]["photos"] == [photo]
        for attachment in (photo, report):
            for headers in (agency, contract.enterprise.headers(), bureau(), city(), admin()):
                r = await h.client.get(f"{URL}/{attachment}", headers=headers)
                assert r.status_code == 200, (attachment, r.text)
                assert (await h.client.get(f"{URL}/{attachment}/meta", headers=headers)).status_code == 200
            for headers in outsiders:
                assert (await h.client.get(f"{URL}/{attachment}", headers=headers)).status_code == 404
                assert (await h.client.get(f"{URL}/{attachment}/meta", headers=headers)).status_code == 404
        for headers in (contract.enterprise.headers(), bureau()):
            assert (await h.client.get(f"{URL}/{never_named}", headers=headers)).status_code == 404
        missing = "01890000-0000-7000-8000-000000000000"
        assert (await h.client.get(f"{URL}/{missing}", headers=agency)).status_code == 404
        assert (await h.client.get(f"{URL}/not-a-uuid", headers=agency)).status_code == 422


async def test_records_name_only_their_organisations_attachments(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        agency = contract.agency.headers()
        theirs = await uploaded(h, contract.enterprise.headers(), png(3))
        unknown = "01890000-0000-7000-8000-000000000001"
        for extra in ({"attachments": [unknown]}, {"attachments": [theirs]}):
            r = await h.client.post("/api/v1/service-logs", json=service_log(contract, **extra), headers=agency)
            assert r.status_code == 422, r.text
            assert r.json()["code"] == "unknown_attachment"
            assert r.json()["errors"][0]["field"] == "attachments.0"
        body = service_log(contract, hazards=[{**hazard(), "photos": [theirs]}])
        r = await h.client.post("/api/v1/service-logs", json=body, headers=agency)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "hazards.0.photos.0"
        mine = await uploaded(h, agency, png(4))
        r = await h.client.post(
            "/api/v1/service-logs", json=service_log(contract, attachments=[mine, mine]), headers=agency
        )
        assert r.status_code == 422  # duplicates
        async with h.runtime.unit_of_work().read() as session:
            assert (await session.execute(sa.text("SELECT count(*) FROM service_log"))).scalar_one() == 0


async def test_a_major_hazards_rectification_needs_evidence(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        ent = contract.enterprise.headers()
        r = await h.client.post(
            "/api/v1/service-logs",
            json=service_log(contract, hazards=[hazard("major"), hazard("general")]),
            headers=contract.agency.headers(),
        )
        major, general = (hz["id"] for hz in r.json()["hazards"])
        url = f"/api/v1/hazards/{major}/rectify"
        r = await h.client.post(url, json={"note": "已整改"}, headers=ent)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "evidence_required"
        assert r.json()["errors"][0]["field"] == "attachments"
        agencys = await uploaded(h, contract.agency.headers(), png(5))
        r = await h.client.post(url, json={"note": "已整改", "attachments": [agencys]}, headers=ent)
        assert r.status_code == 422 and r.json()["code"] == "unknown_attachment"
        evidence = await uploaded(h, ent, png(6))
        r = await h.client.post(url, json={"note": "已整改", "attachments": [evidence]}, headers=ent)
        assert r.status_code == 200, r.text
        assert r.json()["rectify_attachments"] == [evidence] and r.json()["status"] == "rectified"
        r = await h.client.post(
            f"/api/v1/hazards/{major}/reject-rectification",
            json={"reason": "照片不清"},
            headers=contract.agency.headers(),
        )
        assert r.status_code == 200 and r.json()["rectify_attachments"] == []
        more = await uploaded(h, ent, png(9))  # round two: the same photo again, and a new one
        r = await h.client.post(url, json={"note": "已再次整改", "attachments": [evidence, more]}, headers=ent)
        assert r.status_code == 200, r.text
        assert r.json()["rectify_attachments"] == [evidence, more]
        # the hazard's readers see the evidence: its agency and the district's bureau
        for headers in (contract.agency.headers(), bureau()):
            assert (await h.client.get(f"{URL}/{evidence}", headers=headers)).status_code == 200
        r = await h.client.post(f"/api/v1/hazards/{general}/rectify", json={"note": "已整改"}, headers=ent)
        assert r.status_code == 200, r.text  # a general hazard's may come without


async def test_no_orphan_file_when_the_write_fails(backend):
    """The database refuses the row after the file was moved into place: the file goes too."""
    async with audit_app(backend) as h:
        agency = Agency().headers()
        kept = await uploaded(h, agency, png(7))
        async with h.runtime.db.engine.begin() as conn:
            if backend.kind == "postgres":
                await conn.execute(
                    sa.text(
                        "CREATE FUNCTION refuse_attachment() RETURNS trigger AS $$ BEGIN "
                        "RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql"
                    )
                )
                await conn.execute(
                    sa.text(
                        "CREATE TRIGGER refuse BEFORE INSERT ON attachment FOR EACH ROW "
                        "EXECUTE FUNCTION refuse_attachment()"
                    )
                )
            else:
                await conn.execute(
                    sa.text(
                        "CREATE TRIGGER refuse BEFORE INSERT ON attachment BEGIN SELECT RAISE(ABORT, 'disk full'); END"
                    )
                )
        before = stored_files(h)
        r = await upload(h, agency, png(8))
        assert r.status_code == 500
        r = await upload(h, agency, png(7))  # content already stored for another row: that file stays
        assert r.status_code == 500
        assert stored_files(h) == before
        assert (await h.client.get(f"{URL}/{kept}", headers=agency)).status_code == 200
        async with h.runtime.unit_of_work().read() as session:
            assert (await session.execute(sa.text("SELECT count(*) FROM attachment"))).scalar_one() == 1
