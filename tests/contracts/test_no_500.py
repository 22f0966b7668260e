"""No input yields a 500: valid bodies with fields replaced by hostile values, on every write."""

from __future__ import annotations

import random
from datetime import date

from tests.contracts.factories import world

NASTY = [
    None,
    -1,
    0,
    10**30,
    1.5,
    -0.01,
    "",
    " ",
    "x" * 5000,
    "２０２６-04-01",
    "2026-13-01",
    "0000-01-01",
    "9999-12-31",
    True,
    [],
    {},
    [1, 2],
    {"a": 1},
    "\u0000",
    "null",
    "NaN",
    "Infinity",
    "1e999",
    "'; DROP TABLE contracts; --",
    [{"item": "hazard_inspection"}],
    [{"item": None, "times_per_year": None}],
    [{"item": "hazard_inspection", "times_per_year": "4"}],
]


async def test_hostile_values_never_cause_a_500(sqlite_backend):
    rng = random.Random(20260302)
    async with world(sqlite_backend.settings()) as w:
        base = w.body()
        statuses = set()
        for _ in range(150):
            body = dict(base)
            for key in rng.sample(sorted(base), rng.randint(1, 3)):
                body[key] = rng.choice(NASTY)
            r = await w.client.post("/api/v1/contracts", json=body, headers=w.agency())
            assert r.status_code < 500, (body, r.text)
            statuses.add(r.status_code)
        c = await w.create(start=date(2029, 1, 1), end=date(2029, 12, 31))
        for _ in range(60):
            key = rng.choice(["engineer_name", "services", "start_date", "end_date", "fee_yuan", "status", "id"])
            r = await w.client.patch(f"/api/v1/contracts/{c['id']}", json={key: rng.choice(NASTY)}, headers=w.agency())
            assert r.status_code < 500, (key, r.text)
            for verb, field in (("filing-review", "decision"), ("filing-review", "comments"), ("terminate", "reason")):
                r = await w.post(
                    c["id"], verb, w.bureau() if verb == "filing-review" else w.enterprise(), {field: rng.choice(NASTY)}
                )
                assert r.status_code < 500, (verb, field, r.text)
            r = await w.client.get(
                "/api/v1/contracts",
                params={
                    rng.choice(["status", "agency_id", "enterprise_uscc", "district", "limit", "cursor"]): str(
                        rng.choice(NASTY)
                    )
                },
                headers=w.admin(),
            )
            assert r.status_code < 500, r.text
        assert 422 in statuses
        for raw in (b"null", b"[]", b'"x"', b"1", b"{}", b'{"reason": null}'):
            for method, path in (
                ("PATCH", ""),
                ("POST", "/sign"),
                ("POST", "/file"),
                ("POST", "/cancel"),
                ("POST", "/terminate"),
                ("POST", "/filing-review"),
            ):
                r = await w.client.request(
                    method,
                    f"/api/v1/contracts/{c['id']}{path}",
                    content=raw,
                    headers={**w.agency(), "content-type": "application/json"},
                )
                assert r.status_code < 500, (method, path, raw, r.text)
