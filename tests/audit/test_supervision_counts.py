"""GET /api/v1/supervision/counts (docs/PORTAL.md, DECISIONS D53): the bureaus' list of
supervision cases counted by district and status in one GROUP BY, scoped like the list;
``overdue_ack=true``: the cases not acknowledged by ``ack_due_at``; ``by`` validated. Both backends."""

from __future__ import annotations

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

PATH = "/api/v1/supervision/counts"


def as_map(body: dict) -> dict[tuple, int]:
    return {tuple(i[d] for d in body["by"]): i["count"] for i in body["items"]}


async def _major(h, contract, n: int = 1) -> None:
    r = await h.client.post(
        "/api/v1/service-logs",
        json=service_log(contract, hazards=[hazard("major") for _ in range(n)]),
        headers=contract.agency.headers(),
    )
    assert r.status_code == 201, r.text


async def test_counts_scoped_and_overdue_ack(backend):
    async with audit_app(backend) as h:
        here = await h.setup()
        there = await h.setup(agency=Agency(), enterprise=Enterprise(district_code=OTHER_DISTRICT))
        await _major(h, here, 2)
        await _major(h, there)
        cases = (await h.client.get("/api/v1/supervision", headers=city())).json()["items"]
        first = next(c for c in cases if c["district_code"] == here.district_code)
        r = await h.client.post(f"/api/v1/supervision/{first['id']}/acknowledge", headers=bureau())
        assert r.status_code == 200, r.text

        body = (await h.client.get(PATH, params={"by": "district,status"}, headers=city())).json()
        assert body["by"] == ["district", "status"] and body["total"] == 3
        assert as_map(body) == {
            (here.district_code, "acknowledged"): 1,
            (here.district_code, "reported"): 1,
            (OTHER_DISTRICT, "reported"): 1,
        }
        mine = (await h.client.get(PATH, params={"by": "status"}, headers=bureau())).json()
        assert as_map(mine) == {("acknowledged",): 1, ("reported",): 1}
        assert (await h.client.get(PATH, params={"district": OTHER_DISTRICT}, headers=bureau())).status_code == 403
        # nothing is overdue yet; two hours and a minute later the two reported ones are
        assert (await h.client.get(PATH, params={"overdue_ack": "true"}, headers=admin())).json()["total"] == 0
        h.clock.advance(hours=2, minutes=1)
        late = (await h.client.get(PATH, params={"by": "district", "overdue_ack": "true"}, headers=admin())).json()
        assert as_map(late) == {(here.district_code,): 1, (OTHER_DISTRICT,): 1}
        assert (await h.client.get(PATH, params={"status": "acknowledged"}, headers=admin())).json()["total"] == 1


async def test_parties_are_refused_and_by_is_validated(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        assert (await h.client.get(PATH)).status_code == 401
        for headers in (contract.agency.headers(), contract.enterprise.headers()):
            assert (await h.client.get(PATH, headers=headers)).status_code == 403
        for by in ("grade", "status,status", "", "district,"):
            r = await h.client.get(PATH, params={"by": by}, headers=admin())
            assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", by
        for params in ({"overdue_ack": "maybe"}, {"status": "nope"}, {"district": "x"}):
            assert (await h.client.get(PATH, params=params, headers=admin())).status_code == 422, params
