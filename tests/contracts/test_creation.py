"""Creating a contract through the API: every creation rule as a 422 naming it, who may create,
input validation (never a 500), the httpx fallback to the registry and enterprises services when a
read model does not know a party yet, list visibility and pagination, Idempotency-Key and If-Match."""

from __future__ import annotations

import asyncio
import socket
import uuid
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from devtools.testing.wait import eventually
from tests.contracts.factories import (
    CITY,
    ENGINEERS,
    OTHER_DISTRICT,
    agency_data,
    enterprise_data,
    new_uscc,
    policy_file,
    world,
)


async def test_each_creation_rule_is_a_422_naming_it(sqlite_backend, tmp_path):
    settings = sqlite_backend.settings(policy_file=policy_file(tmp_path, max_enterprises_per_engineer=1))
    async with world(settings) as w:

        async def expect(code: str, body: dict[str, Any], headers=None) -> None:
            r = await w.client.post("/api/v1/contracts", json=body, headers=headers or w.agency())
            assert r.status_code == 422, (code, r.text)
            assert r.json()["code"] == code, r.text
            assert code in r.json()["rules"], r.text
            assert r.json()["errors"]
            assert r.json()["detail"]

        # agency_not_approved: a second agency, only submitted
        pending_id, pending_uscc = str(uuid.uuid4()), new_uscc()
        await w.agency_event("agency.submitted", agency_id=pending_id, uscc=pending_uscc, version=1)
        body = w.body()
        body["agency_id"] = pending_id
        await expect("agency_not_approved", body, w.agency(pending_uscc))
        # an approved agency applying for renewal keeps contracting while its filing is in force
        await w.agency_event("agency.submitted", filing_in_force=True)
        r = await w.client.post(
            "/api/v1/contracts", json=w.body(start=date(2030, 1, 1), end=date(2030, 12, 31)), headers=w.agency()
        )
        assert r.status_code == 201, r.text
        assert (await w.post(r.json()["id"], "cancel", w.agency())).status_code == 200
        await w.agency_event("agency.needs_more_info", filing_in_force=False)
        await expect("agency_not_approved", w.body())
        await w.agency_event("agency.approved")

        async def enterprise(**kw) -> str:
            uscc = new_uscc()
            await w.enterprise_event(uscc=uscc, version=1, **kw)
            return uscc

        await expect("agency_district_not_served", {**w.body(), "enterprise_uscc": await enterprise(district="440781")})
        await expect(
            "agency_industry_not_served", {**w.body(), "enterprise_uscc": await enterprise(industry="fireworks")}
        )
        await expect("engineer_not_registered", w.body(engineer="王五"))
        r = await w.client.post(
            "/api/v1/contracts", json=w.body(engineer="王五"), headers={**w.agency(), "Accept-Language": "en"}
        )
        assert r.json()["detail"] == "王五 is not one of the agency's registered safety engineers"
        r = await w.client.post("/api/v1/contracts", json=w.body(engineer="王五"), headers=w.agency())
        assert r.json()["detail"] == "王五 不是该机构登记的注册安全工程师"
        assert r.json()["title"] == "数据校验失败"
        await expect("term_out_of_policy", w.body(start=date(2026, 4, 1), end=date(2026, 8, 31)))
        await expect("term_out_of_policy", w.body(start=date(2026, 4, 1), end=date(2026, 3, 1)))
        await expect("term_out_of_policy", w.body(start=date(2026, 4, 1), end=date(2029, 4, 1)))
        red = await enterprise(risk_level="red", industry="hazardous_chemicals")
        await expect("inspection_below_minimum", {**w.body(inspections=6), "enterprise_uscc": red})
        r = await w.client.post(
            "/api/v1/contracts", json={**w.body(inspections=12), "enterprise_uscc": red}, headers=w.agency()
        )
        assert r.status_code == 201, r.text
        await expect(
            "inspection_below_minimum", {**w.body(), "services": [{"item": "safety_training", "times_per_year": 12}]}
        )

        # an agency's draft alone claims nothing (SPEC §9 v2): the enterprise has not signed it
        unsigned = {**w.body(inspections=12, start=date(2026, 10, 1), end=date(2027, 9, 30)), "enterprise_uscc": red}
        r2 = await w.client.post("/api/v1/contracts", json=unsigned, headers=w.agency())
        assert r2.status_code == 201, r2.text
        assert (await w.post(r2.json()["id"], "cancel", w.agency())).status_code == 200
        # term_overlaps: the enterprise has signed a draft over these dates (red one above)
        assert (await w.sign(r.json()["id"], w.enterprise(red))).status_code == 200
        await expect(
            "term_overlaps",
            {**w.body(inspections=12, start=date(2026, 10, 1), end=date(2027, 9, 30)), "enterprise_uscc": red},
        )
        # ...but not once that contract is cancelled
        first = r.json()
        assert (await w.post(first["id"], "cancel", w.enterprise(red))).status_code == 200
        again = await w.client.post(
            "/api/v1/contracts", json={**w.body(inspections=12), "enterprise_uscc": red}, headers=w.agency()
        )
        assert again.status_code == 201
        assert (await w.sign(again.json()["id"], w.enterprise(red))).status_code == 200
        # A contract that ends before the other starts does not overlap.
        later = {**w.body(inspections=12, start=date(2027, 4, 1), end=date(2028, 3, 31)), "enterprise_uscc": red}
        assert (await w.client.post("/api/v1/contracts", json=later, headers=w.agency())).status_code == 201

        # engineer_at_capacity (policy: one enterprise per engineer): a signed contract binds 张伟
        c = await w.signed()
        assert c["engineer_name"] == ENGINEERS[0]
        other = await enterprise()
        await expect("engineer_at_capacity", {**w.body(), "enterprise_uscc": other})
        # a draft does not bind: 李娜 may take two drafts, but only one may become signed
        d1 = (
            await w.client.post(
                "/api/v1/contracts",
                json={**w.body(engineer=ENGINEERS[1]), "enterprise_uscc": other},
                headers=w.agency(),
            )
        ).json()
        third = await enterprise()
        d2 = (
            await w.client.post(
                "/api/v1/contracts",
                json={**w.body(engineer=ENGINEERS[1]), "enterprise_uscc": third},
                headers=w.agency(),
            )
        ).json()
        for cid, _uscc in ((d1["id"], other), (d2["id"], third)):
            assert (await w.sign(cid, w.agency())).status_code == 200
        assert (await w.sign(d1["id"], w.enterprise(other))).status_code == 200
        r = await w.sign(d2["id"], w.enterprise(third))
        assert r.status_code == 422
        assert r.json()["code"] == "engineer_at_capacity"


async def test_only_a_party_creates(sqlite_backend):
    async with world(sqlite_backend.settings()) as w:
        for headers in (w.bureau(), w.bureau(CITY), w.admin(), w.enterprise(new_uscc()), w.agency(new_uscc())):
            r = await w.client.post("/api/v1/contracts", json=w.body(), headers=headers)
            assert r.status_code == 403, r.text
        r = await w.client.post("/api/v1/contracts", json=w.body())
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Bearer")
        r = await w.client.post("/api/v1/contracts", json=w.body(), headers=w.enterprise())
        assert r.status_code == 201
        assert r.json()["created_at"]


async def test_invalid_input_is_422_with_field_errors_never_500(sqlite_backend):
    async with world(sqlite_backend.settings()) as w:
        base = w.body()
        cases = [
            {**base, "services": [{"item": "hazard_inspection", "times_per_year": 4}] * 2},
            {**base, "services": [{"item": "hazard_inspection", "times_per_year": 0}]},
            {**base, "services": [{"item": "hazard_inspection", "times_per_year": 366}]},
            {**base, "services": [{"item": "painting", "times_per_year": 4}]},
            {**base, "services": []},
            {**base, "enterprise_uscc": "91440703MA0000000X"},
            {**base, "agency_id": "not-a-uuid"},
            {**base, "fee_yuan": "-1"},
            {**base, "fee_yuan": "10.001"},
            {**base, "fee_yuan": "NaN"},
            {**base, "fee_yuan": "1e400"},
            {**base, "start_date": "2026-02-30"},
            {**base, "engineer_name": "   "},
            {**base, "unexpected": 1},
            {k: v for k, v in base.items() if k != "end_date"},
            [],
            "text",
        ]
        for body in cases:
            r = await w.client.post("/api/v1/contracts", json=body, headers=w.agency())
            assert r.status_code == 422, (body, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
        r = await w.client.post(
            "/api/v1/contracts", content=b"{not json", headers={**w.agency(), "content-type": "application/json"}
        )
        assert r.status_code == 400
        r = await w.client.post(
            "/api/v1/contracts", content=b"a=b", headers={**w.agency(), "content-type": "text/plain"}
        )
        assert r.status_code == 415
        for path in ("/api/v1/contracts/not-a-uuid", f"/api/v1/contracts/{uuid.uuid4()}"):
            assert (await w.client.get(path, headers=w.admin())).status_code in (404, 422)
        r = await w.client.get("/api/v1/contracts?status=nonsense", headers=w.admin())
        assert r.status_code == 422
        r = await w.client.get("/api/v1/contracts?cursor=%%%", headers=w.admin())
        assert r.status_code == 422
        r = await w.client.post(f"/api/v1/contracts/{uuid.uuid4()}/terminate", json={"reason": "x"}, headers=w.agency())
        assert r.status_code == 404
        c = await w.create()
        r = await w.post(c["id"], "filing-review", w.bureau(), {"decision": "maybe"})
        assert r.status_code == 422
        r = await w.post(c["id"], "terminate", w.agency(), {"reason": "  "})
        assert r.status_code == 422
        for patch in (
            {"end_date": "2026-01-01"},
            {"start_date": "2030-01-01"},
            {"services": []},
            {"fee_yuan": -5},
            {"agency_id": str(uuid.uuid4())},
            {"engineer_name": "王五"},
        ):
            r = await w.client.patch(f"/api/v1/contracts/{c['id']}", json=patch, headers=w.agency())
            assert r.status_code == 422, (patch, r.text)
        assert (await w.get(c["id"]))["version"] == 1
        r = await w.client.get("/openapi.json")
        assert r.status_code == 200
        assert "/api/v1/contracts/{contract_id}/filing-review" in r.json()["paths"]


async def test_visibility_filters_and_pagination(sqlite_backend):
    async with world(sqlite_backend.settings()) as w:
        ids = []
        for _ in range(3):
            w.enterprise_uscc = new_uscc()
            await w.enterprise_event(version=1)
            ids.append((await w.create())["id"])
        own_enterprise = w.enterprise_uscc
        lister = w.admin()
        seen, cursor = [], None
        while True:
            r = await w.client.get(
                "/api/v1/contracts", params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=lister
            )
            assert r.status_code == 200
            seen += [c["id"] for c in r.json()["items"]]
            cursor = r.json()["next_cursor"]
            if not cursor:
                break
        assert seen == list(reversed(ids))  # newest first

        async def listed(headers, **params):
            r = await w.client.get("/api/v1/contracts", params=params, headers=headers)
            assert r.status_code == 200, r.text
            return {c["id"] for c in r.json()["items"]}

        assert await listed(w.agency()) == set(ids)
        assert await listed(w.agency(new_uscc())) == set()
        assert await listed(w.enterprise(own_enterprise)) == {ids[-1]}
        assert await listed(w.bureau()) == set(ids)
        assert await listed(w.bureau(OTHER_DISTRICT)) == set()
        assert await listed(w.bureau(CITY), district=OTHER_DISTRICT) == set()
        assert await listed(w.bureau(CITY), enterprise_uscc=own_enterprise) == {ids[-1]}
        assert await listed(w.admin(), agency_id=w.agency_id, status="draft") == set(ids)
        assert await listed(w.admin(), status="active") == set()
        # one contract: parties and the district see it, others get 403
        for headers, status in (
            (w.enterprise(own_enterprise), 200),
            (w.agency(), 200),
            (w.bureau(), 200),
            (w.bureau(CITY), 200),
            (w.enterprise(new_uscc()), 403),
            (w.agency(new_uscc()), 403),
            (w.bureau(OTHER_DISTRICT), 403),
        ):
            r = await w.client.get(f"/api/v1/contracts/{ids[-1]}", headers=headers)
            assert r.status_code == status
            if status == 200:
                assert r.headers["etag"] == '"1"'
                assert "history" in r.json()
                assert "signatures" in r.json()


async def test_idempotency_key_and_if_match(sqlite_backend):
    async with world(sqlite_backend.settings()) as w:
        headers = {**w.agency(sub="agency-account-1"), "Idempotency-Key": "create-1"}
        r1 = await w.client.post("/api/v1/contracts", json=w.body(), headers=headers)
        r2 = await w.client.post("/api/v1/contracts", json=w.body(), headers=headers)
        assert r1.status_code == r2.status_code == 201
        assert r1.json()["id"] == r2.json()["id"]
        assert r2.headers.get("idempotent-replayed") == "true"
        r3 = await w.client.post("/api/v1/contracts", json=w.body(fee="1.00"), headers=headers)
        assert r3.status_code == 422
        assert r3.json()["code"] == "idempotency_key_reused"
        r = await w.client.get("/api/v1/contracts", headers=w.admin())
        assert len(r.json()["items"]) == 1
        cid = r1.json()["id"]

        # A retried sign with the same key returns the first answer instead of a 409.
        sign_headers = {**w.agency(sub="agency-account-1"), "Idempotency-Key": "sign-1"}
        s1 = await w.sign(cid, sign_headers)
        s2 = await w.sign(cid, sign_headers)
        assert s1.status_code == s2.status_code == 200
        assert s1.json() == s2.json()

        # If-Match: a stale version is 412, the current one passes.
        stale = {**w.enterprise(), "If-Match": '"1"'}
        r = await w.post(cid, "sign", stale)
        assert r.status_code == 412
        assert r.json()["current_version"] == 2
        r = await w.client.patch(
            f"/api/v1/contracts/{cid}", json={"fee_yuan": "1.00"}, headers={**w.agency(), "If-Match": '"1"'}
        )
        assert r.status_code == 412
        r = await w.post(cid, "sign", {**w.enterprise(), "If-Match": s1.headers["etag"]})
        assert r.status_code == 200
        assert r.headers["etag"] == '"3"'


# --- the httpx fallback ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def peer(app: FastAPI):
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, timeout=10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def fake_peers(agencies: dict[str, dict], enterprises: dict[str, dict], seen: list[str], delay: float = 0.0) -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/agencies/{agency_id}")
    async def agency(agency_id: str, request: Request):
        seen.append(request.headers.get("authorization", ""))
        await asyncio.sleep(delay)
        if agency_id not in agencies:
            return JSONResponse({"status": 404}, status_code=404)
        return agencies[agency_id]

    @app.get("/api/v1/enterprises/by-uscc/{uscc}")
    async def enterprise(uscc: str, request: Request):
        seen.append(request.headers.get("authorization", ""))
        await asyncio.sleep(delay)
        if uscc not in enterprises:
            return JSONResponse({"status": 404}, status_code=404)
        return enterprises[uscc]

    return app


async def test_unknown_parties_are_fetched_from_their_services_and_a_later_event_wins(sqlite_backend):
    agency_id, agency_uscc, ent_uscc = str(uuid.uuid4()), new_uscc(), new_uscc()
    # The registry's profile lists staff rather than engineer names; both shapes are understood.
    profile = {
        **agency_data(agency_id, agency_uscc, version=3),
        "registered_engineers": None,
        "staff": [{"name": "张伟", "role": "registered_safety_engineer"}, {"name": "赵六", "role": "safety_officer"}],
    }
    seen: list[str] = []
    async with peer(fake_peers({agency_id: profile}, {ent_uscc: enterprise_data(ent_uscc, version=2)}, seen)) as url:
        settings = sqlite_backend.settings(registry_url=url, enterprises_url=url, peer_timeout_seconds=10)
        async with world(settings, parties=False) as w:
            w.agency_id, w.agency_uscc, w.enterprise_uscc = agency_id, agency_uscc, ent_uscc
            token = w.agency()
            r = await w.client.post("/api/v1/contracts", json=w.body(), headers=token)
            assert r.status_code == 201, r.text
            assert seen == [token["Authorization"]] * 2  # the caller's token, forwarded
            r = await w.client.post(
                "/api/v1/contracts",
                json=w.body(engineer="赵六", start=date(2028, 1, 1), end=date(2028, 12, 31)),
                headers=token,
            )
            assert r.status_code == 422
            assert r.json()["code"] == "engineer_not_registered"
            assert len(seen) == 2  # now served by the read model

            # An event of the same version replaces the fetched copy; an older one does not.
            await w.agency_event("agency.suspended", version=3, wait=False)
            await w.processed(1)  # the read model already holds version 3 (fetched): wait for the event itself
            r = await w.client.post(
                "/api/v1/contracts", json=w.body(start=date(2028, 1, 1), end=date(2028, 12, 31)), headers=token
            )
            assert r.json()["code"] == "agency_not_approved"
            await w.agency_event("agency.approved", version=2, wait=False)
            await w.processed(2)
            r = await w.client.post(
                "/api/v1/contracts", json=w.body(start=date(2028, 1, 1), end=date(2028, 12, 31)), headers=token
            )
            assert r.json()["code"] == "agency_not_approved"

            # Unknown to the peer: 422 naming what is unknown.
            body = {**w.body(), "agency_id": str(uuid.uuid4())}
            r = await w.client.post("/api/v1/contracts", json=body, headers=token)
            assert r.status_code == 422
            assert r.json()["code"] == "agency_unknown"
            r = await w.client.post(
                "/api/v1/contracts", json={**w.body(), "enterprise_uscc": new_uscc()}, headers=w.agency()
            )
            # the suspended agency is known; the enterprise is not
            assert r.status_code == 422
            assert r.json()["code"] == "enterprise_unknown"


async def test_peer_down_or_slow_is_a_503_not_a_hang(sqlite_backend):
    seen: list[str] = []
    agency_id, agency_uscc = str(uuid.uuid4()), new_uscc()
    async with peer(fake_peers({agency_id: agency_data(agency_id, agency_uscc)}, {}, seen, delay=5.0)) as slow:
        settings = sqlite_backend.settings(
            registry_url=f"http://127.0.0.1:{free_port()}", enterprises_url=slow, peer_timeout_seconds=0.3
        )
        async with world(settings, parties=False) as w:
            r = await w.client.post("/api/v1/contracts", json=w.body(), headers=w.agency())
            assert r.status_code == 503
            assert r.json()["code"] == "service_unavailable"
            assert "registry" in r.json()["detail"]
            await w.agency_event("agency.approved")
            started = asyncio.get_running_loop().time()
            r = await w.client.post("/api/v1/contracts", json=w.body(), headers=w.agency())
            assert r.status_code == 503
            assert "enterprises" in r.json()["detail"]
            assert asyncio.get_running_loop().time() - started < 3.0
