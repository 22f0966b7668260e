"""Town bureaus in the contracts service (SPEC §22, docs/DECISIONS.md D55): a contract's town is
its enterprise's (kept in the enterprise facts from the enterprises' events); a town bureau sees,
counts and reviews its town's contracts only; ``town=`` filters the list and the counts."""

from __future__ import annotations

from tests.contracts.factories import new_uscc, world

HUANSHI, CHAOLIAN = "440703001", "440703002"  # two towns of 蓬江区 440703


async def _ids(w, headers, **params):
    r = await w.client.get("/api/v1/contracts", params={"limit": 100, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["items"]}


async def test_a_town_bureau_sees_and_reviews_its_towns_contracts(backend):
    async with world(backend.settings(), parties=False) as w:
        await w.agency_event("agency.approved")
        await w.enterprise_event("enterprise.registered", town=HUANSHI, version=1)
        mine = await w.filing()
        w.enterprise_uscc = new_uscc()
        await w.enterprise_event("enterprise.registered", town=CHAOLIAN, version=1)
        theirs = await w.filing()
        town, neighbour = w.bureau(HUANSHI), w.bureau(CHAOLIAN)

        assert await _ids(w, town) == {mine["id"]}
        assert await _ids(w, neighbour) == {theirs["id"]}
        assert await _ids(w, w.bureau("440703")) == {mine["id"], theirs["id"]}
        assert (await w.client.get(f"/api/v1/contracts/{theirs['id']}", headers=town)).status_code in (403, 404)

        review = {"decision": "accept", "comments": "同意备案"}
        assert (await w.post(theirs["id"], "filing-review", town, review)).status_code in (403, 404)
        r = await w.post(mine["id"], "filing-review", town, review)
        assert r.status_code == 200, r.text

        # town=: a district bureau narrows to one of its towns; a town bureau asking for another gets nothing
        assert await _ids(w, w.bureau("440703"), town=CHAOLIAN) == {theirs["id"]}
        assert await _ids(w, town, town=CHAOLIAN) == set()
        assert await _ids(w, w.admin(), district="440703", town=HUANSHI) == {mine["id"]}
        r = await w.client.get(
            "/api/v1/contracts/counts", params={"by": "status", "town": HUANSHI}, headers=w.bureau("440703")
        )
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 1
        # the drill-down's figures: one GROUP BY the enterprise's town (D57)
        r = await w.client.get("/api/v1/contracts/counts", params={"by": "town,status"}, headers=w.bureau("440703"))
        assert r.status_code == 200, r.text
        by_town = {(i["town"], i["status"]): i["count"] for i in r.json()["items"]}
        assert by_town == {(HUANSHI, "filed"): 1, (CHAOLIAN, "filing"): 1}, by_town
        r = await w.client.get("/api/v1/contracts/counts", params={"by": "town"}, headers=town)
        assert [(i["town"], i["count"]) for i in r.json()["items"]] == [(HUANSHI, 1)]
        for params in ({"town": "440703999"}, {"district": "440704", "town": HUANSHI}):
            for path in ("/api/v1/contracts", "/api/v1/contracts/counts"):
                r = await w.client.get(path, params=params, headers=w.admin())
                assert r.status_code == 422, r.text
                assert [e["field"] for e in r.json()["errors"]] == ["town"]
