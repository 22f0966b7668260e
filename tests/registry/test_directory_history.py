"""The public list keeps its history (SPEC §21 public, issue #19 item 8): one ``directory_change``
row per change of the list, written in the transaction of the transition that causes it, read by
anyone as JSON (keyset-paginated, in time order) and as an Atom feed; and a listed agency's public
detail. Both backends, the real bus for the credit events."""

from __future__ import annotations

import asyncio
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from devtools.testing.apps import running
from devtools.testing.events import publish_event
from devtools.testing.wait import eventually
from services.registry.models import DirectoryChange, DirectoryEntry
from shared import migrations
from shared.clock import as_utc
from shared.db import Database
from shared.pagination import encode_cursor
from tests.registry.factories import act, admin, agency_body, app_for, clock, create, ok

CHANGES = "/api/v1/directory/changes"
FEED = "/api/v1/directory/changes.atom"
ATOM = "{http://www.w3.org/2005/Atom}"


async def changes_of(client, agency_id: str, **params) -> list[dict]:
    r = await client.get(CHANGES, params={"agency_id": agency_id, "limit": 200, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def kinds(items: list[dict]) -> list[str]:
    return [i["change"] for i in items]


async def test_every_change_of_the_list_is_recorded_with_its_reason(backend):
    at = clock()
    async with running(app_for(backend.settings(), at=at)) as client:
        agency = await create(client)
        aid = agency["id"]
        await ok(client, agency, "submit")
        assert await changes_of(client, aid) == []  # not listed yet: nothing to tell
        at.advance(minutes=1)
        approved = await ok(client, agency, "approve")
        at.advance(minutes=1)
        await ok(client, approved, "suspend", reason="未按约定开展服务")
        at.advance(minutes=1)
        await ok(client, approved, "reinstate", reason="整改完成")
        at.advance(minutes=1)
        await ok(client, approved, "suspend", reason="再次发现问题")
        at.advance(minutes=1)
        await ok(client, approved, "revoke", reason="拒不整改")  # a suspended agency revoked: still told

        items = await changes_of(client, aid)
        assert kinds(items) == ["listed", "suspended", "reinstated", "suspended", "revoked"]
        first = items[0]
        assert set(first) == {"agency_id", "name", "filing_no", "change", "reason", "at"}
        assert first["agency_id"] == aid
        assert first["name"] == agency["name"]
        assert first["filing_no"] == approved["filing_no"]
        assert first["at"].startswith("2026-03-10T09:01:00") and first["at"].endswith(("Z", "+00:00"))
        assert [i["reason"] for i in items[1:]] == ["未按约定开展服务", "整改完成", "再次发现问题", "拒不整改"]
        assert "有效期至" in first["reason"]


async def test_renewals_expiry_and_lapses(backend):
    at = clock()
    async with running(app_for(backend.settings(), at=at)) as client:
        renewed, lapsing, expiring, refused = [await create(client) for _ in range(4)]
        for agency in (renewed, lapsing, expiring, refused):
            await ok(client, agency, "submit")
            await ok(client, agency, "approve")
        at.advance(minutes=1)
        # A renewal approved while listed: the same entry, changed (its new validity).
        await ok(client, renewed, "submit")
        await ok(client, renewed, "approve")
        # A renewal refused: it leaves the list (delisted), its filing rejected.
        await ok(client, refused, "submit")
        await ok(client, refused, "reject", comments="材料不实")
        # A renewal still pending when the filing lapses: the sweep delists it.
        pending = await ok(client, lapsing, "submit")
        at.advance(minutes=1)
        day_after = (date.fromisoformat(pending["valid_until"]) + timedelta(days=1)).isoformat()
        sweeps = await asyncio.gather(  # two sweeps together record each change once
            *(client.post("/api/v1/admin/sweep", params={"as_of": day_after}, headers=admin()) for _ in range(2))
        )
        assert [s.status_code for s in sweeps] == [200, 200], sweeps[0].text
        # Renewed the same day, its new validity ends the same day as the others': it expires too.
        assert kinds(await changes_of(client, renewed["id"])) == ["listed", "changed", "expired"]
        assert kinds(await changes_of(client, refused["id"])) == ["listed", "delisted"]
        assert kinds(await changes_of(client, lapsing["id"])) == ["listed", "delisted"]
        assert kinds(await changes_of(client, expiring["id"])) == ["listed", "expired"]
        expired = (await changes_of(client, expiring["id"]))[-1]
        assert "届满" in expired["reason"]
        assert (await changes_of(client, lapsing["id"]))[-1]["reason"]
        # A second sweep changes nothing: each change is recorded once.
        again = await client.post("/api/v1/admin/sweep", params={"as_of": day_after}, headers=admin())
        assert again.status_code == 200
        assert kinds(await changes_of(client, expiring["id"])) == ["listed", "expired"]
        assert kinds(await changes_of(client, lapsing["id"])) == ["listed", "delisted"]
        # An expired agency whose renewal is approved enters the list again.
        at.advance(minutes=1)
        current = (await client.get(f"/api/v1/agencies/{expiring['id']}", headers=admin())).json()
        await ok(client, current, "submit")
        await ok(client, current, "approve")
        assert kinds(await changes_of(client, expiring["id"])) == ["listed", "expired", "listed"]


async def test_a_refused_transition_records_nothing(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        agency = await create(client)
        await ok(client, agency, "submit")
        stale = await client.post(
            f"/api/v1/agencies/{agency['id']}/review",
            json={"decision": "approve", "comments": "同意"},
            headers={**admin(), "If-Match": '"1"'},
        )
        assert stale.status_code == 412, stale.text
        assert (await act(client, agency, "suspend")).status_code == 409
        assert await changes_of(client, agency["id"]) == []


async def test_a_new_credit_grade_of_a_listed_agency_is_a_change(backend):
    settings = backend.settings()
    async with running(app_for(settings)) as client:
        listed = await create(client)
        await ok(client, listed, "submit")
        await ok(client, listed, "approve")
        unlisted = await create(client)
        aid = listed["id"]
        # Same grade as the start (A): the list does not change. A new grade does, once.
        await publish_event(settings, "agency.credit_changed", {"id": aid, "version": 2, "score": 95, "grade": "A"})
        await publish_event(settings, "agency.credit_changed", {"id": aid, "version": 3, "score": 80, "grade": "B"})
        await publish_event(settings, "agency.credit_changed", {"id": aid, "version": 3, "score": 80, "grade": "B"})
        await publish_event(settings, "agency.credit_changed", {"id": aid, "version": 1, "score": 60, "grade": "C"})
        await publish_event(
            settings, "agency.credit_changed", {"id": unlisted["id"], "version": 2, "score": 60, "grade": "C"}
        )

        async def regraded():
            items = await changes_of(client, aid)
            return items if len(items) == 2 else None

        items = await eventually(regraded, timeout=15)
        assert kinds(items) == ["listed", "changed"]
        assert "A" in items[1]["reason"] and "B" in items[1]["reason"]
        await publish_event(settings, "agency.credit_changed", {"id": aid, "version": 4, "score": 50, "grade": "C"})
        items = await eventually(lambda: _count(client, aid, 3), timeout=15)
        assert kinds(items) == ["listed", "changed", "changed"]
        assert await changes_of(client, unlisted["id"]) == []


async def _count(client, aid: str, n: int) -> list[dict] | None:
    items = await changes_of(client, aid)
    return items if len(items) == n else None


async def test_pagination_since_and_bad_input(sqlite_backend):
    at = clock()
    async with running(app_for(sqlite_backend.settings(), at=at)) as client:
        agencies = []
        for _ in range(3):
            agency = await create(client)
            await ok(client, agency, "submit")
            agencies.append(await ok(client, agency, "approve"))
            at.advance(days=1)
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            r = await client.get(CHANGES, params=params)  # no token: public
            assert r.status_code == 200, r.text
            seen += r.json()["items"]
            cursor = r.json()["next_cursor"]
            if not cursor:
                break
        assert [i["agency_id"] for i in seen] == [a["id"] for a in agencies]
        assert [i["at"][:10] for i in seen] == ["2026-03-10", "2026-03-11", "2026-03-12"]

        since = await client.get(CHANGES, params={"since": "2026-03-11"})
        assert [i["agency_id"] for i in since.json()["items"]] == [a["id"] for a in agencies[1:]]
        since = await client.get(CHANGES, params={"since": "2026-03-12T08:59:59+00:00"})
        assert [i["agency_id"] for i in since.json()["items"]] == [agencies[2]["id"]]

        for params in (
            {"since": "yesterday"},
            {"since": "2026-02-30"},
            {"since": "2026-03-11T09:00:00"},  # no time zone
            {"since": "9999-12-31T23:59:59-14:00"},  # past the last time UTC can hold
            {"since": "2026-03-11T25:00:00Z"},
            {"agency_id": "not-a-uuid"},
            {"cursor": "!!!"},
            {"limit": 0},
        ):
            r = await client.get(CHANGES, params=params)
            assert r.status_code == 422, (params, r.text)
            assert r.headers["content-type"] == "application/problem+json"
        assert (await client.get(CHANGES, params={"agency_id": str(uuid.uuid4())})).json() == {
            "items": [],
            "next_cursor": None,
        }


async def test_the_atom_feed(backend):
    at = clock()
    async with running(app_for(backend.settings(), at=at)) as client:
        empty = await client.get(FEED)
        assert empty.status_code == 200, empty.text
        assert empty.headers["content-type"].startswith("application/atom+xml")
        assert ET.fromstring(empty.content).findall(f"{ATOM}entry") == []

        tricky = await create(client, agency_body(name='江门市<安泰> & "平安" 技术服务公司'))
        await ok(client, tricky, "submit")
        approved = await ok(client, tricky, "approve")
        at.advance(hours=1)
        await ok(client, approved, "suspend", reason="检查发现 <问题> & 隐患")

        r = await client.get(FEED)
        assert r.status_code == 200
        feed = ET.fromstring(r.content)  # well-formed, whatever the names hold
        assert feed.tag == f"{ATOM}feed"
        assert feed.findtext(f"{ATOM}id", "").startswith("urn:")
        assert feed.findtext(f"{ATOM}updated", "").startswith("2026-03-10T10:00:00")
        assert feed.findtext(f"{ATOM}title")
        entries = feed.findall(f"{ATOM}entry")
        assert len(entries) == 2
        newest, oldest = entries  # a feed shows its newest entry first
        assert (
            newest.findtext(f"{ATOM}title") == f'江门市<安泰> & "平安" 技术服务公司（{approved["filing_no"]}）暂停备案'
        )
        assert "列入名单" in (oldest.findtext(f"{ATOM}title") or "")
        assert "检查发现 <问题> & 隐患" in (newest.findtext(f"{ATOM}content") or "")
        assert newest.findtext(f"{ATOM}updated", "").startswith("2026-03-10T10:00:00")
        ids = {e.findtext(f"{ATOM}id") for e in entries}
        assert len(ids) == 2 and all(i and i.startswith("urn:uuid:") for i in ids)
        link = newest.find(f"{ATOM}link")
        assert link is not None and link.get("href", "").endswith(f"/api/v1/directory/agencies/{tricky['id']}")
        assert b"&lt;" in r.content  # escaped, not dropped

        one = ET.fromstring((await client.get(FEED, params={"agency_id": str(uuid.uuid4())})).content)
        assert one.findall(f"{ATOM}entry") == []
        bad = await client.get(FEED, params={"since": "never"})
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"


async def test_public_detail_of_a_listed_agency(backend):
    async with running(app_for(backend.settings())) as client:
        agency = await create(client)
        path = f"/api/v1/directory/agencies/{agency['id']}"
        assert (await client.get(path)).status_code == 404  # a draft is not listed
        await ok(client, agency, "submit")
        approved = await ok(client, agency, "approve")
        r = await client.get(path)  # no token
        assert r.status_code == 200, r.text
        detail = r.json()
        assert detail["id"] == agency["id"]
        assert detail["filing_no"] == approved["filing_no"]
        assert detail["valid_until"] == approved["valid_until"]
        assert (detail["grade"], detail["credit_score"]) == ("A", 100)
        assert detail["contact_phone"] == "0750-3123456"
        assert detail["address"] == "江门市蓬江区建设路 88 号"
        assert detail["service_districts"] == ["440703", "440704"]
        assert detail["service_industries"] == ["machinery", "light_industry"]
        assert detail["registered_engineers"] == 2
        assert "staff" not in detail and "legal_representative" not in detail and "uscc" in detail

        await ok(client, approved, "suspend")
        gone = await client.get(path)
        assert gone.status_code == 404
        assert gone.headers["content-type"] == "application/problem+json"
        assert (await client.get(f"/api/v1/directory/agencies/{uuid.uuid4()}")).status_code == 404
        assert (await client.get("/api/v1/directory/agencies/nope")).status_code == 422


@pytest.mark.parametrize("path", [CHANGES, FEED])
async def test_the_history_needs_no_token(sqlite_backend, path):
    async with running(app_for(sqlite_backend.settings())) as client:
        assert (await client.get(path)).status_code == 200


async def test_the_migration_begins_the_history_with_the_agencies_already_listed(backend):
    """Upgrading a database whose list already holds agencies gives each one ``listed`` row."""
    db = Database(backend.settings().database_url_for("registry"), service="registry")
    await db.ensure_database()
    try:
        await migrations.upgrade(db, "registry")
        await migrations.downgrade(db, "registry", "5a677413710f")  # before the history
        agency_id, listed_at = uuid.uuid4(), datetime(2025, 6, 1, 8, 30, tzinfo=UTC)
        async with db.transaction() as session:
            await session.execute(
                sa.insert(DirectoryEntry.__table__).values(
                    agency_id=agency_id,
                    agency_version=3,
                    name="江门市早已公示技术服务公司",
                    uscc="91440703MA0000001X",
                    district_code="440703",
                    filing_no="JM-TG-2025-0001",
                    valid_until=date(2028, 6, 1),
                    service_districts=["440703"],
                    service_industries=["machinery"],
                    registered_engineers=["张工"],
                    listed_at=listed_at,
                )
            )
        await migrations.upgrade(db, "registry")
        async with db.reader() as session:
            rows = (await session.execute(sa.select(DirectoryChange.__table__))).all()
        assert [(r.agency_id, r.change, r.name, r.filing_no) for r in rows] == [
            (agency_id, "listed", "江门市早已公示技术服务公司", "JM-TG-2025-0001")
        ]
        assert as_utc(rows[0].at) == listed_at
    finally:
        await db.dispose()


async def test_a_forged_cursor_is_422(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        for values in (
            ["9999-12-31T23:59:59-14:00", str(uuid.uuid4())],
            ["not a time", str(uuid.uuid4())],
            ["2026-03-10T09:00:00+00:00", "not-a-uuid"],
            ["2026-03-10T09:00:00+00:00"],
        ):
            r = await client.get(CHANGES, params={"cursor": encode_cursor(values)})
            assert r.status_code == 422, (values, r.text)
        good = encode_cursor(["2026-03-10T09:00:00+00:00", str(uuid.uuid4())])
        assert (await client.get(CHANGES, params={"cursor": good})).status_code == 200
        assert (await client.get(FEED, params={"limit": 201})).status_code == 422
