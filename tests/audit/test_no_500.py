"""No input yields a 500: every write endpoint, every field of a valid body replaced by junk of
every kind, and junk query strings on every listing."""

from __future__ import annotations

import json

from tests.audit.factories import admin, audit_app, city, hazard, service_log

JUNK = [
    None,
    "",
    " ",
    "x" * 5000,
    0,
    -1,
    10**30,
    1.5,
    float("1e308"),
    True,
    [],
    [None],
    {},
    {"$gt": ""},
    "💥\u0000",
    "2026-13-45",
    "0190f000-0000-7000-8000-000000000000",
    "../../etc/passwd",
    "\ud800",
    "a\udfffb",
    10**400,
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "abc\u202edef",
    "长" * 100_000,
    "__1e999__",
]


def encode(body) -> bytes:
    """Raw JSON, as a hostile client may send it: lone surrogates escaped, 1e999 as a number."""
    return json.dumps(body, ensure_ascii=True).replace('"__1e999__"', "1e999").encode()


def variants(body: dict, junk_values: list = JUNK) -> list:
    out: list = [None, [], "text", 42, {"unexpected": 1}]
    for key in body:
        for junk in junk_values:
            out.append({**body, key: junk})
        out.append({k: v for k, v in body.items() if k != key})
    return out


async def test_junk_never_gives_a_500(sqlite_backend):
    await _fuzz(sqlite_backend, JUNK)


async def test_control_characters_never_give_a_500_on_either_backend(backend):
    """PostgreSQL refuses NUL in text where SQLite stores it: both must answer 422."""
    await _fuzz(backend, ["\u0000", "a\u0000b", "\u001b[31m", "\ud800", 10**400, "9999-12-31"], reads=False)


async def _fuzz(backend, junk_values, *, reads=True):
    async with audit_app(backend) as h:
        contract = await h.setup()
        r = await h.client.post(
            "/api/v1/service-logs", json=service_log(contract, hazards=[hazard()]), headers=contract.agency.headers()
        )
        log_id, hazard_id = r.json()["id"], r.json()["hazards"][0]["id"]
        r = await h.client.post(
            "/api/v1/complaints",
            json={"agency_id": contract.agency.id, "category": "fee", "description": "收费不合理"},
            headers=contract.enterprise.headers(),
        )
        complaint_id = r.json()["id"]
        r = await h.client.post(
            "/api/v1/audits/sample", json={"period": "2026-Q2", "seed": 1, "rate": 1.0}, headers=city()
        )
        task_id = r.json()["tasks"][0]["id"]
        writes = [
            (
                "/api/v1/service-logs",
                service_log(contract, hazards=[hazard()], summary="fuzz"),
                contract.agency.headers(),
            ),
            (f"/api/v1/service-logs/{log_id}/confirm", {}, contract.enterprise.headers()),
            (f"/api/v1/hazards/{hazard_id}/rectify", {"note": "ok"}, contract.enterprise.headers()),
            (f"/api/v1/hazards/{hazard_id}/verify", {}, contract.agency.headers()),
            (
                "/api/v1/complaints",
                {
                    "agency_id": contract.agency.id,
                    "contract_id": contract.id,
                    "category": "fee",
                    "description": "x",
                    "contact_phone": "13912345678",
                },
                None,
            ),
            ("/api/v1/complaints/track", {"id": complaint_id, "tracking_code": "x" * 16}, None),
            (f"/api/v1/complaints/{complaint_id}/forward", {"note": "n"}, city()),
            (f"/api/v1/complaints/{complaint_id}/respond", {"response": "r"}, contract.agency.headers()),
            (f"/api/v1/complaints/{complaint_id}/resolve", {"outcome": "dismissed", "notes": ""}, city()),
            (
                f"/api/v1/credit/agencies/{contract.agency.id}/records",
                {"kind": "violation", "delta": -5, "reason": "违规", "ref": "文号 1"},
                city(),
            ),
            ("/api/v1/audits/sample", {"period": "2026-Q3", "seed": 9, "rate": 0.5, "district": "440703"}, city()),
            (
                f"/api/v1/audits/{task_id}/result",
                {"scores": [{"criterion": "a", "score": 70}], "findings": "", "fraud": False},
                city(),
            ),
        ]
        for path, body, headers in writes:
            for variant in variants(body, junk_values):
                r = await h.client.post(
                    path, content=encode(variant), headers={**(headers or {}), "content-type": "application/json"}
                )
                assert r.status_code < 500, (path, str(variant)[:300], r.text)
            nested = (
                [{**body, "hazards": [{**hazard(), key: j}]} for j in junk_values for key in hazard()]
                if "hazards" in body
                else []
            )
            nested += (
                [{**body, "scores": [{"criterion": j, "score": 1}]} for j in junk_values] if "scores" in body else []
            )
            nested += (
                [{**body, "scores": [{"criterion": "a", "score": j}]} for j in junk_values] if "scores" in body else []
            )
            for variant in nested:
                r = await h.client.post(
                    path, content=encode(variant), headers={**(headers or {}), "content-type": "application/json"}
                )
                assert r.status_code < 500, (path, str(variant)[:300], r.text)
        if not reads:
            return
        reads = [
            "/api/v1/service-logs",
            "/api/v1/hazards",
            "/api/v1/complaints",
            "/api/v1/audits",
            f"/api/v1/compliance/contracts/{contract.id}",
            f"/api/v1/credit/agencies/{contract.agency.id}",
            f"/api/v1/audits/samples/{task_id}",
            f"/api/v1/hazards/{log_id}",
            f"/api/v1/complaints/{log_id}",
        ]
        queries = [
            "?limit=0",
            "?limit=201",
            "?limit=abc",
            "?cursor=%00",
            "?cursor=W10",
            "?cursor=WyJ4Il0",
            "?from=yesterday",
            "?to=2026-02-30",
            "?contract_id=1",
            "?status=%27;--",
            "?overdue=maybe",
            "?agency_id=x",
            "?district=" + "9" * 50,
            "?period=" + "Q" * 50,
            "?level=huge",
            "?district=%00",
            "?period=%00",
            "?period=2026-Q1%00",
        ]
        for path in reads:
            for query in queries:
                r = await h.client.get(path + query, headers=admin())
                assert r.status_code < 500, (path, query, r.text)
        r = await h.client.post("/api/v1/admin/sweep?service=audit&as_of=not-a-date", headers=admin())
        assert r.status_code == 422
