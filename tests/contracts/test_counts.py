"""GET /api/v1/contracts/counts (docs/PORTAL.md, DECISIONS D53): the contracts the caller may
see counted by district and status in one GROUP BY, scoped like the list (a party its own, a
district bureau its district), with the list's filters and ``ending_before``; ``by`` validated."""

from __future__ import annotations

from devtools.testing.tokens import auth
from tests.contracts.factories import DISTRICT, END, new_uscc, world

PATH = "/api/v1/contracts/counts"
OTHER = "440704"


def as_map(body: dict) -> dict[tuple, int]:
    return {tuple(i[d] for d in body["by"]): i["count"] for i in body["items"]}


async def test_counts_scoped_and_filtered(backend):
    async with world(backend.settings()) as w:
        first = w.enterprise_uscc
        await w.create()
        await w.filing()
        w.enterprise_uscc = new_uscc()
        await w.enterprise_event("enterprise.registered", district=OTHER, version=1)
        await w.filing()

        body = (await w.client.get(PATH, params={"by": "district,status"}, headers=w.admin())).json()
        assert body["by"] == ["district", "status"] and body["as_of"]
        assert as_map(body) == {(DISTRICT, "draft"): 1, (DISTRICT, "filing"): 1, (OTHER, "filing"): 1}
        assert body["total"] == 3
        listed = (await w.client.get("/api/v1/contracts", params={"limit": 200}, headers=w.admin())).json()
        assert len(listed["items"]) == body["total"]

        mine = (await w.client.get(PATH, params={"by": "status"}, headers=w.bureau())).json()
        assert as_map(mine) == {("draft",): 1, ("filing",): 1}
        other = (await w.client.get(PATH, params={"district": OTHER}, headers=w.bureau())).json()
        assert other["total"] == 0
        party = (await w.client.get(PATH, params={"by": "status"}, headers=w.enterprise(first))).json()
        assert as_map(party) == {("draft",): 1, ("filing",): 1}
        assert (await w.client.get(PATH, headers=w.agency())).json()["total"] == 3
        stranger = auth("enterprise", org_uscc=new_uscc())
        nothing = (await w.client.get(PATH, headers=stranger)).json()
        assert nothing["items"] == [] and nothing["total"] == 0

        filing = (await w.client.get(PATH, params={"by": "district", "status": "filing"}, headers=w.admin())).json()
        assert as_map(filing) == {(DISTRICT,): 1, (OTHER,): 1}
        assert (await w.client.get(PATH, params={"ending_before": END.isoformat()}, headers=w.admin())).json()[
            "total"
        ] == 0
        ending = (await w.client.get(PATH, params={"ending_before": "2099-01-01"}, headers=w.admin())).json()
        assert ending["total"] == 3
        flagged = (await w.client.get(PATH, params={"risk_flagged": "true"}, headers=w.admin())).json()
        assert flagged["total"] == 0


async def test_by_and_filters_are_validated(sqlite_backend):
    async with world(sqlite_backend.settings(), parties=False) as w:
        assert (await w.client.get(PATH)).status_code == 401
        for by in ("grade", "status,status", "", " , ", "district,agency"):
            r = await w.client.get(PATH, params={"by": by}, headers=w.admin())
            assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", by
        for params in ({"ending_before": "soon"}, {"status": "nope"}, {"district": "12"}, {"risk_flagged": "x"}):
            assert (await w.client.get(PATH, params=params, headers=w.admin())).status_code == 422, params
