"""Object-level authorization per role and district, and the listing's filters and pages."""

from __future__ import annotations

from devtools.testing.tokens import auth
from tests.enterprises.factories import (
    admin,
    agency,
    bureau,
    enterprise_body,
    enterprise_token,
    register,
    service,
    uscc,
)


async def test_who_may_register(backend):
    async with service(backend) as (client, _):

        async def post(body, headers):
            return (await client.post("/api/v1/enterprises", json=body, headers=headers)).status_code

        own = enterprise_body()
        assert await post(own, enterprise_token(uscc())) == 403  # an enterprise registering someone else
        assert await post(own, auth("agency", org_uscc=own["uscc"])) == 403  # an agency, even with that USCC
        assert await post(own, bureau("440704")) == 403  # a bureau of another district
        assert await post(own, auth("admin", scope="custody.read")) == 403  # a read-only client
        assert await post(own, {}) == 401
        assert await post(own, enterprise_token(own)) == 201
        assert await post(enterprise_body(), bureau("440703")) == 201
        assert await post(enterprise_body(district_code="440705", town="440705001"), bureau("440700")) == 201
        assert await post(enterprise_body(), admin()) == 201


async def test_who_may_read_and_change_a_record(backend):
    async with service(backend) as (client, _):
        e = await register(client)  # in 440703
        other = uscc()
        path = f"/api/v1/enterprises/{e['id']}"
        allowed = [admin(), bureau("440700"), bureau("440703"), enterprise_token(e["uscc"])]
        denied = [bureau("440704"), enterprise_token(other), agency(), auth("agency", org_uscc=e["uscc"])]
        for headers in allowed:
            assert (await client.get(path, headers=headers)).status_code == 200
            assert (await client.get(path + "/risk", headers=headers)).status_code == 200
        for headers in denied:
            assert (await client.get(path, headers=headers)).status_code == 403
            assert (await client.get(path + "/risk", headers=headers)).status_code == 403
            assert (await client.patch(path, json={"employees": 7}, headers=headers)).status_code == 403
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers={"Authorization": "Bearer nonsense"})).status_code == 401

        # by-uscc: any agency may look a prospective client up; others as usual
        by = f"/api/v1/enterprises/by-uscc/{e['uscc']}"
        for headers in [*allowed, agency()]:
            assert (await client.get(by, headers=headers)).status_code == 200
        for headers in (bureau("440704"), enterprise_token(other)):
            assert (await client.get(by, headers=headers)).status_code == 403
        assert (
            await client.get(f"/api/v1/enterprises/by-uscc/{other}", headers=enterprise_token(other))
        ).status_code == 404
        assert (
            await client.get(f"/api/v1/enterprises/by-uscc/{other}", headers=enterprise_token(uscc()))
        ).status_code == 403

        # a district bureau cannot move an enterprise out of its district; the city bureau can
        move = {"district_code": "440704", "town": "440704001"}
        assert (await client.patch(path, json=move, headers=bureau("440703"))).status_code == 403
        r = await client.patch(path, json=move, headers=bureau("440700"))
        assert r.status_code == 200
        assert r.json()["district_code"] == "440704"
        assert (await client.get(path, headers=bureau("440703"))).status_code == 403
        assert (await client.get(path, headers=bureau("440704"))).status_code == 200
        # the owner may edit its own record
        r = await client.patch(path, json={"contact_name": "李四"}, headers=enterprise_token(e["uscc"]))
        assert r.status_code == 200
        assert r.json()["contact_name"] == "李四"


async def test_listing_filters_scopes_and_pages(backend):
    async with service(backend) as (client, _):
        a = await register(client, name="蓬江五金厂", industry="machinery")  # yellow
        b = await register(client, name="蓬江化工厂", industry="hazardous_chemicals")  # red
        c = await register(
            client, name="江海商贸公司", industry="commerce_trade", district_code="440704", town="440704001"
        )
        d = await register(
            client,
            name="江海 100% 纸品",
            industry="light_industry",
            district_code="440704",
            town="440704002",
            employees=150,
        )  # orange

        async def ids(query="", headers=None, status=200):
            r = await client.get(f"/api/v1/enterprises{query}", headers=headers or admin())
            assert r.status_code == status, r.text
            return [i["id"] for i in r.json()["items"]] if status == 200 else None

        everyone = [a["id"], b["id"], c["id"], d["id"]]
        assert await ids() == everyone
        assert await ids(headers=bureau("440700")) == everyone
        assert await ids(headers=bureau("440703")) == [a["id"], b["id"]]
        assert await ids("?district=440704", headers=bureau("440700")) == [c["id"], d["id"]]
        assert await ids("?district=440700", headers=bureau("440700")) == everyone
        await ids("?district=440704", headers=bureau("440703"), status=403)
        await ids("?district=123456", status=422)
        assert await ids(headers=enterprise_token(c["uscc"])) == [c["id"]]
        await ids(headers=agency(), status=403)
        assert await ids("?industry=hazardous_chemicals") == [b["id"]]
        assert await ids("?risk_level=orange") == [d["id"]]
        assert await ids("?risk_level=red&district=440703") == [b["id"]]
        await ids("?risk_level=purple", status=422)
        assert await ids("?has_custodian=false") == everyone
        assert await ids("?has_custodian=true") == []
        assert await ids("?q=江海") == [c["id"], d["id"]]
        assert await ids("?q=100%") == [d["id"]]  # LIKE wildcards are literal
        assert await ids(f"?q={a['uscc'][-8:].lower()}") == [a["id"]]
        assert await ids("?q=_") == []

        # keyset pages
        seen, cursor = [], None
        while True:
            r = await client.get(
                "/api/v1/enterprises", params={"limit": 3, **({"cursor": cursor} if cursor else {})}, headers=admin()
            )
            body = r.json()
            seen += [i["id"] for i in body["items"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert seen == everyone
        assert (await client.get("/api/v1/enterprises?cursor=garbage", headers=admin())).status_code == 422
        assert (await client.get("/api/v1/enterprises?limit=500", headers=admin())).status_code == 422
