"""Town bureaus in the audit service (SPEC §22, docs/DECISIONS.md D55): a record's town is its
enterprise's (the enterprises read model keeps it from the events), so a town bureau sees its
town's visits, hazards and cases only; ``town=`` filters the lists and the trends."""

from __future__ import annotations

from tests.audit.factories import Agency, Enterprise, audit_app, bureau, city, hazard, log_hazards

HUANSHI, CHAOLIAN = "440703001", "440703002"  # two towns of 蓬江区 440703


async def _two_towns(h):
    agency = Agency()
    mine = await h.setup(agency=agency, enterprise=Enterprise(town=HUANSHI))
    neighbour = await h.setup(agency=agency, enterprise=Enterprise(town=CHAOLIAN))
    return mine, neighbour, await log_hazards(h, mine, hazard()), await log_hazards(h, neighbour, hazard())


async def _ids(h, path, headers, **params):
    r = await h.client.get(path, params={"limit": 100, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return {item["id"] for item in r.json()["items"]}


async def test_a_town_bureau_sees_its_towns_records_only(backend):
    async with audit_app(backend) as h:
        _, _, [my_hazard], [their_hazard] = await _two_towns(h)
        town = bureau(HUANSHI)
        assert await _ids(h, "/api/v1/hazards", town) == {my_hazard}
        assert (await h.client.get(f"/api/v1/hazards/{my_hazard}", headers=town)).status_code == 200
        assert (await h.client.get(f"/api/v1/hazards/{their_hazard}", headers=town)).status_code in (403, 404)
        logs = await _ids(h, "/api/v1/service-logs", town)
        assert len(logs) == 1
        assert await _ids(h, "/api/v1/hazards", bureau("440703")) == {my_hazard, their_hazard}
        # a town bureau of another district sees none of them
        assert await _ids(h, "/api/v1/hazards", bureau("440704001")) == set()


async def test_town_filters_the_lists(backend):
    async with audit_app(backend) as h:
        _, _, [my_hazard], [their_hazard] = await _two_towns(h)
        district = bureau("440703")
        assert await _ids(h, "/api/v1/hazards", district, town=CHAOLIAN) == {their_hazard}
        assert await _ids(h, "/api/v1/hazards", city(), district="440703", town=HUANSHI) == {my_hazard}
        assert await _ids(h, "/api/v1/supervision", district, town=HUANSHI) == set()
        r = await h.client.get("/api/v1/hazards", params={"town": "440703999"}, headers=district)
        assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["town"]
        r = await h.client.get(
            "/api/v1/supervision/counts", params={"district": "440704", "town": HUANSHI}, headers=city()
        )
        assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["town"]
        # another town than its own, or another district's town: refused as another district is
        assert (
            await h.client.get("/api/v1/hazards", params={"town": HUANSHI}, headers=bureau(CHAOLIAN))
        ).status_code == 403
        assert (
            await h.client.get("/api/v1/hazards", params={"town": "440704001"}, headers=district)
        ).status_code == 403
        assert (
            await h.client.get("/api/v1/supervision/counts", params={"town": HUANSHI}, headers=bureau(HUANSHI))
        ).status_code == 200
        r = await h.client.get("/api/v1/supervision/counts", params={"by": "town,status"}, headers=district)
        assert r.status_code == 200, r.text
        assert r.json()["by"] == ["town", "status"]
        assert sum(i["count"] for i in r.json()["items"]) == r.json()["total"]
        assert {i["town"] for i in r.json()["items"]} <= {HUANSHI, CHAOLIAN}


async def test_trends_by_town(backend):
    async with audit_app(backend) as h:
        await _two_towns(h)

        async def coverage(headers, **params):
            r = await h.client.get("/api/v1/compliance/trends", params=params, headers=headers)
            assert r.status_code == 200, r.text
            return r.json()["items"][-1]["custody_coverage"]["denominator"]

        assert await coverage(bureau("440703")) == 2
        assert await coverage(bureau("440703"), town=HUANSHI) == 1
        assert await coverage(bureau(HUANSHI)) == 1
        assert await coverage(city(), district="440703", town=CHAOLIAN) == 1
        r = await h.client.get("/api/v1/compliance/trends", params={"town": CHAOLIAN}, headers=bureau(HUANSHI))
        assert r.status_code == 403


async def test_the_dashboards_counts_of_a_town_bureau(backend):
    async with audit_app(backend) as h:
        await _two_towns(h)

        async def hazards(headers):
            r = await h.client.get("/api/v1/compliance/summary", headers=headers)
            assert r.status_code == 200, r.text
            return sum(sum(district["hazards"].values()) for district in r.json()["districts"].values())

        assert await hazards(bureau("440703")) == 2
        assert await hazards(bureau(HUANSHI)) == 1
