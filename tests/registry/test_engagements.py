"""Engagements (SPEC §20, issue #17 item 6): an agency declares other work it does for an
enterprise; the registry keeps it, announces ``agency.engagement_declared`` on the real bus and
writes it to the audit trail; the agency, its district bureau and the city read them; nobody else
declares or reads; bad input is a 422 and stores nothing. Both backends."""

from __future__ import annotations

from devtools.testing.apps import running
from devtools.testing.events import read_events
from devtools.testing.wait import eventually
from tests.registry.factories import admin, agency_in, app_for, bureau, new_uscc, owner


def declaration(**overrides):
    return {
        "enterprise_uscc": new_uscc(),
        "kind": "safety_evaluation",
        "from": "2025-03-01",
        "to": "2025-04-30",
        **overrides,
    }


async def test_the_agency_declares_and_its_bureaus_read(backend):
    settings = backend.settings()
    async with running(app_for(settings)) as client:
        agency = await agency_in(client, "approved")
        path = f"/api/v1/agencies/{agency['id']}/engagements"
        body = declaration()
        r = await client.post(path, json=body, headers=owner(agency["uscc"]))
        assert r.status_code == 201, r.text
        made = r.json()
        assert (made["enterprise_uscc"], made["kind"], made["from"], made["to"]) == (
            body["enterprise_uscc"],
            "safety_evaluation",
            "2025-03-01",
            "2025-04-30",
        )
        for headers in (owner(agency["uscc"]), bureau("440703"), bureau("440700"), admin()):
            listed = await client.get(path, headers=headers)
            assert listed.status_code == 200, listed.text
            assert [e["id"] for e in listed.json()] == [made["id"]]
        events = await eventually(lambda: read_events(settings, event_type="agency.engagement_declared"))
        assert events[0].data | {"id": made["id"], "agency_id": agency["id"], "ends_on": "2025-04-30"} == events[0].data
        trail = await client.get("/api/v1/admin/audit-trail", params={"service": "registry"}, headers=admin())
        assert "agency.engagement_declared" in {row["action"] for row in trail.json()["items"]}


async def test_nobody_else_declares_or_reads(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        agency = await agency_in(client, "approved")
        path = f"/api/v1/agencies/{agency['id']}/engagements"
        for headers in (owner(new_uscc()), bureau("440704"), bureau("440703"), admin()):
            r = await client.post(path, json=declaration(), headers=headers)
            assert r.status_code in (403, 404), (headers, r.text)  # only the agency itself declares
        for headers in (owner(new_uscc()), bureau("440704")):
            assert (await client.get(path, headers=headers)).status_code in (403, 404)
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers=owner(agency["uscc"]))).json() == []


async def test_bad_declarations_are_422_and_store_nothing(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        agency = await agency_in(client, "approved")
        path = f"/api/v1/agencies/{agency['id']}/engagements"
        for bad in (
            declaration(kind="custody"),
            declaration(enterprise_uscc="91440703MA000000X0"),
            declaration(**{"from": "2025-05-01", "to": "2025-04-30"}),
            declaration(to="9999-12-31"),
            declaration(extra="field"),
            {"kind": "training"},
        ):
            r = await client.post(path, json=bad, headers=owner(agency["uscc"]))
            assert r.status_code == 422, (bad, r.text)
            assert r.headers["content-type"] == "application/problem+json"
        assert (await client.get(path, headers=owner(agency["uscc"]))).json() == []
        unknown = "/api/v1/agencies/00000000-0000-0000-0000-000000000000/engagements"
        assert (await client.post(unknown, json=declaration(), headers=owner(agency["uscc"]))).status_code == 404
