"""GET /api/v1/agencies?noncompliant= (SPEC §18, issue #19): the bureau's list of the agencies below
the staffing minimums — the same filter its counts take (``/api/v1/agencies/counts``), so that the
dashboard can link each one; scoped by the token like the rest of the list."""

from __future__ import annotations

import uuid
from datetime import timedelta

from devtools.testing.apps import running
from tests.registry.factories import TODAY, admin, agency_body, agency_in, app_for, bureau, engineer

PATH = "/api/v1/agencies"


async def test_the_list_filters_the_noncompliant_agencies(backend):
    async with running(app_for(backend.settings())) as client:
        tag = str(uuid.uuid4().int)[-6:]
        short = engineer("短工", f"RSE-{tag}-2", valid_until=TODAY + timedelta(days=10))
        flagged = await agency_in(client, "approved", agency_body(engineers=[engineer("张工", f"RSE-{tag}-1"), short]))
        fine = await agency_in(client, "approved", agency_body(district="440704"))
        as_of = (TODAY + timedelta(days=30)).isoformat()
        assert (await client.post("/api/v1/admin/sweep", params={"as_of": as_of}, headers=admin())).status_code == 200

        r = await client.get(PATH, params={"noncompliant": "true", "limit": 50}, headers=bureau())
        assert r.status_code == 200, r.text
        assert [a["id"] for a in r.json()["items"]] == [flagged["id"]] and r.json()["items"][0]["noncompliant"]
        others = (await client.get(PATH, params={"noncompliant": "false"}, headers=admin())).json()["items"]
        assert fine["id"] in {a["id"] for a in others} and flagged["id"] not in {a["id"] for a in others}
        counted = (await client.get(f"{PATH}/counts", params={"noncompliant": "true"}, headers=bureau())).json()
        assert counted["total"] == 1  # the list and its count agree
        # a district bureau: its own district only
        assert (await client.get(PATH, params={"noncompliant": "true"}, headers=bureau("440704"))).json()["items"] == []
        bad = await client.get(PATH, params={"noncompliant": "perhaps"}, headers=admin())
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
