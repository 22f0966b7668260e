"""GET /api/v1/agencies/counts (docs/PORTAL.md, DECISIONS D53): the list's rows counted by
district and status in one GROUP BY, scoped by the token like the list, with the list's filters;
``by`` validated (422 problem+json)."""

from __future__ import annotations

from datetime import date, timedelta

from devtools.testing.apps import running
from devtools.testing.tokens import auth
from tests.registry.factories import admin, agency_body, agency_in, app_for, bureau, create, owner

PATH = "/api/v1/agencies/counts"


def as_map(body: dict) -> dict[tuple, int]:
    return {tuple(i[d] for d in body["by"]): i["count"] for i in body["items"]}


async def test_counts_by_district_and_status_scoped_like_the_list(backend):
    async with running(app_for(backend.settings())) as client:
        await agency_in(client, "approved", agency_body(district="440703"))
        await agency_in(client, "submitted", agency_body(district="440703"))
        await agency_in(client, "submitted", agency_body(district="440704"))
        mine = await create(client, agency_body(district="440705"))

        r = await client.get(PATH, params={"by": "district,status"}, headers=admin())
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["by"] == ["district", "status"] and body["as_of"]
        counted = as_map(body)
        assert counted[("440703", "approved")] == 1 and counted[("440703", "submitted")] == 1
        assert counted[("440704", "submitted")] == 1 and counted[("440705", "draft")] == 1
        assert body["total"] == sum(counted.values()) == 4
        # the same numbers as the list
        listed = (await client.get("/api/v1/agencies", params={"limit": 200}, headers=admin())).json()["items"]
        assert len(listed) == body["total"]

        by_status = (await client.get(PATH, params={"by": "status"}, headers=bureau())).json()
        assert as_map(by_status) == {("approved",): 1, ("submitted",): 2, ("draft",): 1}

        # a district bureau: its district only, whatever it asks for
        district = (await client.get(PATH, params={"by": "district,status"}, headers=bureau("440703"))).json()
        assert {k[0] for k in as_map(district)} == {"440703"} and district["total"] == 2
        other = await client.get(PATH, params={"district": "440704"}, headers=bureau("440703"))
        assert other.status_code == 200 and other.json()["total"] == 0
        # an agency: its own filing
        own = (await client.get(PATH, headers=owner(mine["uscc"]))).json()
        assert as_map(own) == {("440705", "draft"): 1}
        # filters of the list
        submitted = (await client.get(PATH, params={"by": "district", "status": "submitted"}, headers=admin())).json()
        assert as_map(submitted) == {("440703",): 1, ("440704",): 1}
        only = (await client.get(PATH, params={"district": "440704"}, headers=admin())).json()
        assert only["total"] == 1
        flagged = (await client.get(PATH, params={"noncompliant": "true"}, headers=admin())).json()
        assert flagged["total"] == 0 and flagged["items"] == []
        soon = (date.today() + timedelta(days=365 * 10)).isoformat()
        expiring = (await client.get(PATH, params={"valid_until_before": soon}, headers=admin())).json()
        assert as_map(expiring) == {("440703", "approved"): 1}


async def test_enterprises_and_anonymous_are_refused(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        assert (await client.get(PATH)).status_code == 401
        r = await client.get(PATH, headers=auth("enterprise", org_uscc="91440703MA4W000001"))
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"


async def test_by_is_validated(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        for by in ("grade", "district,district", "", ",", "status,", "DISTRICT", "x" * 300, "district;drop"):
            r = await client.get(PATH, params={"by": by}, headers=admin())
            assert r.status_code == 422, (by, r.text)
            assert r.headers["content-type"] == "application/problem+json"
        for params in ({"district": "999999"}, {"status": "nope"}, {"valid_until_before": "tomorrow"}):
            r = await client.get(PATH, params=params, headers=admin())
            assert r.status_code == 422, (params, r.text)
        assert (await client.get(PATH, headers=admin())).json()["by"] == ["district", "status"]


async def test_the_public_directory_counted_by_district_and_grade(backend):
    async with running(app_for(backend.settings())) as client:
        await agency_in(client, "approved", agency_body(district="440703", service_districts=["440703", "440704"]))
        await agency_in(client, "approved", agency_body(district="440705", service_districts=["440705"]))
        await agency_in(client, "submitted", agency_body(district="440703"))  # not listed
        r = await client.get("/api/v1/directory/counts", params={"by": "district,grade"})  # public
        assert r.status_code == 200, r.text
        body = r.json()
        listed = (await client.get("/api/v1/directory/agencies", params={"limit": 200})).json()["items"]
        assert body["total"] == len(listed) == 2
        grades = {i["grade"] for i in listed}
        assert {(i["district"], i["grade"]) for i in body["items"]} == {("440703", g) for g in grades} | {
            ("440705", g) for g in grades
        }
        served = (await client.get("/api/v1/directory/counts", params={"by": "district", "district": "440704"})).json()
        assert as_map(served) == {("440703",): 1}  # the filter is the served district, like the list's
        for by in ("status", "grade,grade", ""):
            r = await client.get("/api/v1/directory/counts", params={"by": by})
            assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", by
