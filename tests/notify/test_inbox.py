"""The inbox API (SPEC §15): each reader sees only their own items, in their language; unread and
urgent counts; mark read and read-all; cursor pagination; and bad input is a problem document,
never a 500."""

from __future__ import annotations

import uuid

from devtools.testing.events import publish_event
from devtools.testing.tokens import auth
from tests.notify.helpers import items, seeded, started, wait_for_item
from tests.notify.world import World


async def test_inbox_counts_reading_language_pagination_and_privacy(env):
    settings = env.settings()
    world = World()
    e1, a1a, b703 = world["E1"], world["A1a"], world["B703"]
    async with started(settings) as client:
        await seeded(settings, client, world)
        for level in ("general", "general", "major"):
            await publish_event(settings, "hazard.reported", world.hazard(level=level))
        for n in range(4):
            await publish_event(
                settings,
                "servicelog.recorded",
                {
                    "id": str(uuid.uuid4()),
                    "version": 1,
                    "contract_id": world.contract,
                    "agency_id": world.agency1,
                    "enterprise_uscc": world.UE1,
                    "visit_date": f"2026-01-0{n + 1}",
                },
            )
        await wait_for_item(client, e1, "servicelog.recorded", count=4)
        await wait_for_item(client, e1, "hazard.reported", count=3)

        r = await client.get("/api/v1/inbox/summary", headers=e1.headers)
        assert r.status_code == 200
        assert r.json() == {"unread": 7, "urgent": 1}

        # Language per request: zh-CN first, English on Accept-Language: en.
        zh = await items(client, e1, kind="hazard.reported")
        en = (
            await client.get(
                "/api/v1/inbox", params={"kind": "hazard.reported"}, headers={**e1.headers, "Accept-Language": "en"}
            )
        ).json()["items"]
        assert {i["title"] for i in zh} == {"发现隐患，请整改", "发现重大隐患"}
        assert {i["title"] for i in en} == {"A hazard was found: rectify it", "Major hazard found"}
        assert [i["id"] for i in zh] == [i["id"] for i in en]

        # Pagination: newest first, cursor until the end, no item twice.
        seen, cursor = [], None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/v1/inbox", params=params, headers=e1.headers)).json()
            seen += [i["id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        everything = [i["id"] for i in await items(client, e1)]
        assert seen == everything
        assert len(seen) == len(set(seen)) == 7
        assert seen == sorted(seen, reverse=True)

        # Mark one read: the counts follow; reading it again changes nothing.
        urgent = next(i for i in zh if i["urgent"])
        r = await client.post(f"/api/v1/inbox/{urgent['id']}/read", headers=e1.headers)
        assert r.status_code == 200
        assert r.json()["read_at"] is not None
        first_read = r.json()["read_at"]
        r = await client.post(f"/api/v1/inbox/{urgent['id']}/read", headers=e1.headers)
        assert r.json()["read_at"] == first_read
        assert (await client.get("/api/v1/inbox/summary", headers=e1.headers)).json() == {"unread": 6, "urgent": 0}
        assert len(await items(client, e1, unread="true")) == 6
        assert len(await items(client, e1, unread="false")) == 1

        # Only the reader: another person's item is 403 to read, absent from their lists.
        r = await client.post(f"/api/v1/inbox/{urgent['id']}/read", headers=b703.headers)
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"
        r = await client.post(f"/api/v1/inbox/{uuid.uuid4()}/read", headers=e1.headers)
        assert r.status_code == 404
        assert urgent["id"] not in {i["id"] for i in await items(client, a1a)}
        assert urgent["id"] not in {i["id"] for i in await items(client, b703)}

        # Read-all, by kind and then everything; nobody else's items are touched.
        r = await client.post("/api/v1/inbox/read-all", params={"kind": "servicelog.recorded"}, headers=e1.headers)
        assert r.status_code == 200
        assert r.json() == {"updated": 4}
        r = await client.post("/api/v1/inbox/read-all", headers=e1.headers)
        assert r.json() == {"updated": 2}
        assert (await client.get("/api/v1/inbox/summary", headers=e1.headers)).json() == {"unread": 0, "urgent": 0}
        assert (await client.get("/api/v1/inbox/summary", headers=b703.headers)).json() == {"unread": 1, "urgent": 1}


async def test_bad_input_is_a_problem_never_a_500(env):
    settings = env.settings()
    async with started(settings) as client:
        someone = auth("enterprise", org_uscc="91440703MA4UX0AA9K")
        assert (await client.get("/api/v1/inbox")).status_code == 401
        assert (await client.get("/api/v1/inbox/summary")).status_code == 401
        cases = [
            ("GET", "/api/v1/inbox", {"params": {"cursor": "!!not-a-cursor"}}, 422),
            ("GET", "/api/v1/inbox", {"params": {"cursor": "WyJub3QtYS11dWlkIl0"}}, 422),
            ("GET", "/api/v1/inbox", {"params": {"limit": 0}}, 422),
            ("GET", "/api/v1/inbox", {"params": {"limit": 201}}, 422),
            ("GET", "/api/v1/inbox", {"params": {"unread": "maybe"}}, 422),
            ("GET", "/api/v1/inbox", {"params": {"kind": "x" * 61}}, 422),
            ("POST", "/api/v1/inbox/not-a-uuid/read", {}, 422),
            ("POST", "/api/v1/inbox/read-all", {"content": b"{", "headers": {"content-type": "text/plain"}}, 415),
            ("POST", "/api/v1/webhooks", {"content": b"{", "headers": {"content-type": "application/json"}}, 400),
            ("POST", "/api/v1/webhooks", {"json": {"url": "ftp://x", "events": ["hazard.reported"]}}, 422),
            ("POST", "/api/v1/webhooks", {"json": {"url": "http://127.0.0.1/x", "events": ["no.such"]}}, 422),
            ("POST", "/api/v1/webhooks", {"json": {"url": "http://127.0.0.1/x", "events": []}}, 422),
            ("POST", "/api/v1/webhooks", {"json": {"url": "http://127.0.0.1/x", "events": ["audit.completed"]}}, 422),
            ("POST", "/api/v1/webhooks", {"json": {"url": "http://[::1/x", "events": ["hazard.reported"]}}, 422),
            ("POST", "/api/v1/webhooks", {"json": {"url": "http://a b/", "events": ["hazard.reported"]}}, 422),
            ("POST", "/api/v1/webhooks", {"json": [1, 2]}, 422),
            ("GET", f"/api/v1/webhooks/{uuid.uuid4()}", {}, 404),
            ("GET", "/api/v1/webhooks/nope/deliveries", {}, 422),
            ("POST", f"/api/v1/webhooks/{uuid.uuid4()}/deliveries/{uuid.uuid4()}/retry", {}, 404),
            ("DELETE", f"/api/v1/webhooks/{uuid.uuid4()}", {}, 404),
        ]
        for method, path, kw, status in cases:
            headers = {**someone, **kw.pop("headers", {})}
            r = await client.request(method, path, headers=headers, **kw)
            assert r.status_code == status, (method, path, kw, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json", (path, r.text)


async def test_an_agency_below_the_staffing_minimums_is_told(sqlite_backend):
    """SPEC §18: the sweep's ``agency.changed`` with ``noncompliant`` tells the agency so."""
    settings = sqlite_backend.settings()
    world = World()
    a1a = world["A1a"]
    async with started(settings) as client:
        await seeded(settings, client, world)
        reason = "注册安全工程师 短工 的证书已到期"
        await publish_event(settings, "agency.changed", world.agency(version=2, noncompliant=True, reason=reason))
        await publish_event(settings, "agency.changed", world.agency(version=3, noncompliant=False))
        await wait_for_item(client, a1a, "agency.changed", count=2)
        titles = sorted(i["title"] for i in await items(client, a1a, kind="agency.changed"))
        assert titles == ["变更备案已生效", "机构人员不再符合备案条件"]
        told = next(i for i in await items(client, a1a, kind="agency.changed") if "不再符合" in i["title"])
        assert reason in told["body"]
