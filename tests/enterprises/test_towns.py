"""Town bureaus in the enterprises service (SPEC §22, docs/DECISIONS.md D55): a bureau whose
``district`` is a town code sees and acts on its town's enterprises only; ``town=`` filters the
list, checked against the jurisdiction data."""

from __future__ import annotations

from tests.enterprises.factories import bureau, csv_text, enterprise_body, import_csv, register, service

HUANSHI, CHAOLIAN = "440703001", "440703002"  # two towns of 蓬江区 440703


async def test_a_town_bureau_sees_and_changes_its_town_only(backend):
    async with service(backend) as (client, _):
        mine = await register(client, town=HUANSHI)
        neighbour = await register(client, town=CHAOLIAN)
        town = bureau(HUANSHI)
        r = await client.get("/api/v1/enterprises", params={"limit": 100}, headers=town)
        assert r.status_code == 200, r.text
        assert [e["id"] for e in r.json()["items"]] == [mine["id"]]
        assert (await client.get(f"/api/v1/enterprises/{mine['id']}", headers=town)).status_code == 200
        assert (await client.get(f"/api/v1/enterprises/{neighbour['id']}", headers=town)).status_code == 403
        path = f"/api/v1/enterprises/{neighbour['id']}"
        r = await client.patch(path, json={"employees": 9}, headers={**town, "If-Match": '"1"'})
        assert r.status_code == 403
        # it may not move its enterprise to the neighbouring town
        r = await client.patch(
            f"/api/v1/enterprises/{mine['id']}", json={"town": CHAOLIAN}, headers={**town, "If-Match": '"1"'}
        )
        assert r.status_code == 403, r.text
        r = await client.patch(
            f"/api/v1/enterprises/{mine['id']}", json={"employees": 9}, headers={**town, "If-Match": '"1"'}
        )
        assert r.status_code == 200, r.text
        # it registers in its town, not the neighbour's
        assert (
            await client.post("/api/v1/enterprises", json=enterprise_body(town=HUANSHI), headers=town)
        ).status_code == 201
        r = await client.post("/api/v1/enterprises", json=enterprise_body(town=CHAOLIAN), headers=town)
        assert r.status_code == 403
        # its district's bureau sees both
        r = await client.get("/api/v1/enterprises", params={"limit": 100}, headers=bureau("440703"))
        assert {mine["id"], neighbour["id"]} <= {e["id"] for e in r.json()["items"]}


async def test_a_town_bureau_imports_into_its_town_only(backend):
    async with service(backend) as (client, _):
        rows = [enterprise_body(town=HUANSHI), enterprise_body(town=CHAOLIAN)]
        r = await import_csv(client, csv_text(rows), headers=bureau(HUANSHI))
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["accepted"] == 1 and [e["uscc"] for e in report["rejected"]] == [rows[1]["uscc"]]


async def test_the_list_filters_by_town(backend):
    async with service(backend) as (client, _):
        mine = await register(client, town=HUANSHI)
        neighbour = await register(client, town=CHAOLIAN)
        district = bureau("440703")

        async def ids(headers, **params):
            r = await client.get("/api/v1/enterprises", params={"limit": 100, **params}, headers=headers)
            assert r.status_code == 200, r.text
            return {e["id"] for e in r.json()["items"]}

        assert await ids(district, town=HUANSHI) == {mine["id"]}
        assert await ids(district, district="440703", town=CHAOLIAN) == {neighbour["id"]}
        assert mine["id"] in await ids(bureau("440700"), town=HUANSHI)
        for params, field in (({"town": "440703999"}, "town"), ({"district": "440704", "town": HUANSHI}, "town")):
            r = await client.get("/api/v1/enterprises", params=params, headers=district)
            assert r.status_code == 422, r.text
            assert [e["field"] for e in r.json()["errors"]] == [field]
        # another district's town, or for a town bureau another town: refused as another district is
        assert (
            await client.get("/api/v1/enterprises", params={"town": "440704001"}, headers=district)
        ).status_code == 403
        r = await client.get("/api/v1/enterprises", params={"town": CHAOLIAN}, headers=bureau(HUANSHI))
        assert r.status_code == 403
        assert await ids(bureau(HUANSHI), district="440703") == {mine["id"]}
