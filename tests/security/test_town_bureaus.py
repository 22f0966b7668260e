"""The authorization matrix's rows for town bureaus (SPEC §22, docs/DECISIONS.md D55), through
the gateway on the security world: ``townA`` is the bureau of 环市街道 440703001 — enterprise A's
town, so contract A, its visit's major hazard and the hazard's supervision case are its town's —
and ``townN`` the bureau of the neighbouring 潮连街道 440703002 in the same district, where bureau A
registers enterprise N. Both accounts are made by the admin through the gateway (a town code as
their ``district``). Refusals act on world A's records and change nothing; the authorized writes
act on records of this module's own."""

from __future__ import annotations

import pytest

from tests.security.world import World, enterprise_body

HUANSHI, CHAOLIAN = "440703001", "440703002"
DENY = (403, 404)


@pytest.fixture(scope="module")
async def towns(world: World) -> dict[str, dict[str, str]]:
    platform, api = world.platform, world.platform.client
    headers = {
        "townA": (await platform.actor("bureau", district=HUANSHI)).headers,
        "townN": (await platform.actor("bureau", district=CHAOLIAN)).headers,
    }
    tag = world.uscc["entA"][10:15]
    from shared.reference import make_uscc

    for name, town in (("entN", CHAOLIAN), ("entA2", HUANSHI)):
        body = enterprise_body(make_uscc(f"91440703MA{tag}{name[-1]}9"[:17]), f"企业{name}{tag}", "440703")
        r = await api.post("/api/v1/enterprises", json={**body, "town": town}, headers=world.as_("bureauA"))
        assert r.status_code == 201, r.text
        world.ids[name] = r.json()["id"]
    return headers


async def _items(world: World, headers: dict[str, str], path: str, **params) -> list[dict]:
    r = await world.platform.client.get(path, params={"limit": 200, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def _ids(world: World, headers: dict[str, str], path: str, **params) -> set[str]:
    return {item["id"] for item in await _items(world, headers, path, **params)}


async def test_a_town_bureau_sees_exactly_its_towns_enterprises_contracts_and_hazards(world, towns):
    ids, district = world.ids, world.as_("bureauA")
    # the oracle: the district bureau's view, each record's town read from its enterprise
    enterprises = await _items(world, district, "/api/v1/enterprises")
    town_of = {e["uscc"]: e["town"] for e in enterprises}
    for name, town in (("townA", HUANSHI), ("townN", CHAOLIAN)):
        headers = towns[name]
        assert await _ids(world, headers, "/api/v1/enterprises") == {e["id"] for e in enterprises if e["town"] == town}
        for path in ("/api/v1/contracts", "/api/v1/hazards"):
            expected = {i["id"] for i in await _items(world, district, path) if town_of[i["enterprise_uscc"]] == town}
            assert await _ids(world, headers, path) == expected, (name, path)
    mine, neighbour = towns["townA"], towns["townN"]
    assert {ids["enterpriseA"], ids["entA2"]} <= await _ids(world, mine, "/api/v1/enterprises")
    assert ids["entN"] not in await _ids(world, mine, "/api/v1/enterprises")
    assert ids["contractA"] in await _ids(world, mine, "/api/v1/contracts")
    assert ids["contractA"] not in await _ids(world, neighbour, "/api/v1/contracts")
    assert ids["hazard"] in await _ids(world, mine, "/api/v1/hazards")
    assert ids["hazard"] not in await _ids(world, neighbour, "/api/v1/hazards")
    assert ids["case"] in await _ids(world, mine, "/api/v1/supervision")
    assert ids["case"] not in await _ids(world, neighbour, "/api/v1/supervision")
    assert ids["contractB"] not in await _ids(world, mine, "/api/v1/contracts")  # another district's


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/enterprises/{enterpriseA}",
        "/api/v1/enterprises/{enterpriseA}/risk",
        "/api/v1/contracts/{contractA}",
        "/api/v1/hazards/{hazard}",
        "/api/v1/supervision/{case}",
        "/api/v1/service-logs/{log}",
    ],
)
async def test_one_record_read_by_its_towns_bureau_only(world, towns, path):
    url = path.format(**world.ids)
    api = world.platform.client
    assert (await api.get(url, headers=towns["townA"])).status_code == 200
    assert (await api.get(url, headers=towns["townN"])).status_code in DENY
    assert (await api.get(url, headers=towns["townA"] | {"Authorization": "Bearer x"})).status_code == 401


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("POST /api/v1/contracts/{contractA}/filing-review", {"decision": "accept", "comments": "ok"}),
        ("POST /api/v1/hazards/{hazard}/verify", {"note": "已复核"}),
        ("POST /api/v1/supervision/{case}/acknowledge", {"notes": "已收到"}),
        ("POST /api/v1/enterprises/{enterpriseA}/risk-inputs/review", {"decision": "reject", "comments": "未核实"}),
    ],
)
async def test_the_neighbouring_town_may_not_act_on_world_a(world, towns, operation, body):
    method, path = operation.split(" ", 1)
    r = await world.platform.client.request(method, path.format(**world.ids), json=body, headers=towns["townN"])
    assert r.status_code in DENY, r.text


async def test_a_town_bureau_acts_in_its_town_only(world, towns):
    api = world.platform.client
    for enterprise, town, allowed in (("entA2", "townA", 200), ("entN", "townA", 403), ("entN", "townN", 200)):
        url = f"/api/v1/enterprises/{world.ids[enterprise]}"
        version = (await api.get(url, headers=world.as_("admin"))).json()["version"]
        r = await api.patch(url, json={"employees": 41}, headers=towns[town] | {"If-Match": f'"{version}"'})
        assert r.status_code == allowed, (enterprise, town, r.text)
    # registering in the neighbouring town is refused; in its own accepted
    tag = world.uscc["entA"][10:15]
    from shared.reference import make_uscc

    body = enterprise_body(make_uscc(f"91440703MA{tag}T8"[:17]), f"企业T{tag}", "440703")
    r = await api.post("/api/v1/enterprises", json={**body, "town": CHAOLIAN}, headers=towns["townA"])
    assert r.status_code == 403, r.text
    r = await api.post("/api/v1/enterprises", json={**body, "town": HUANSHI}, headers=towns["townA"])
    assert r.status_code == 201, r.text


async def test_town_filters_through_the_gateway(world, towns):
    api, city = world.platform.client, world.as_("city")
    assert world.ids["hazard"] in await _ids(world, city, "/api/v1/hazards", district="440703", town=HUANSHI)
    assert world.ids["hazard"] not in await _ids(world, city, "/api/v1/hazards", town=CHAOLIAN)
    listed = await _ids(world, city, "/api/v1/contracts", town=HUANSHI)
    r = await api.get("/api/v1/contracts/counts", params={"by": "status", "town": HUANSHI}, headers=city)
    assert r.status_code == 200 and r.json()["total"] == len(listed) >= 1, r.text
    r = await api.get("/api/v1/compliance/trends", params={"district": "440703", "town": HUANSHI}, headers=city)
    assert r.status_code == 200 and r.json()["town"] == HUANSHI, r.text
    for path in ("/api/v1/enterprises", "/api/v1/contracts", "/api/v1/hazards", "/api/v1/compliance/trends"):
        r = await api.get(path, params={"district": "440704", "town": HUANSHI}, headers=city)
        assert r.status_code == 422, (path, r.text)
        assert [e["field"] for e in r.json()["errors"]] == ["town"]
    # a town bureau asking for another town is refused as a district bureau asking for another district
    r = await api.get("/api/v1/hazards", params={"town": HUANSHI}, headers=towns["townN"])
    assert r.status_code == 403
