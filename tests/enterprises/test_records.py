"""Enterprise records over HTTP on both backends: create, read, update, validation, conflicts,
ETags, and the events each change emits (read back from the real bus)."""

from __future__ import annotations

from devtools.testing.events import read_events
from devtools.testing.wait import eventually
from tests.enterprises.factories import admin, bureau, enterprise_body, enterprise_token, register, service, uscc


async def _events(settings, n, event_type=None):
    events = await read_events(settings, event_type=event_type)
    return events if len(events) >= n else None


async def test_register_read_update_and_events(backend):
    async with service(backend) as (client, settings):
        body = enterprise_body(town="环市街道", village="440703001001", hazard_flags=["dust_explosion"], employees=30)
        r = await client.post("/api/v1/enterprises", json=body, headers=enterprise_token(body))
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["town"] == "440703001"
        assert created["village"] == "440703001001"
        assert created["risk_level"] == "orange"
        assert created["version"] == 1
        assert created["custodian"] is None
        assert r.headers["etag"] == '"1"'
        assert r.headers["location"].endswith(created["id"])

        # the same USCC again: 409
        again = await client.post("/api/v1/enterprises", json=body, headers=admin())
        assert again.status_code == 409
        assert again.json()["code"] == "enterprise_exists"

        got = await client.get(f"/api/v1/enterprises/{created['id']}", headers=bureau("440703"))
        assert got.status_code == 200
        assert got.json() == created
        assert got.headers["etag"] == '"1"'
        by = await client.get(f"/api/v1/enterprises/by-uscc/{body['uscc']}", headers=enterprise_token(body))
        assert by.status_code == 200
        assert by.json()["id"] == created["id"]

        # a field edit: version 2, enterprise.updated; the risk falls: enterprise.risk_changed too
        # (by the district bureau: the enterprise's own lowering waits for it, test_risk_inputs_pending)
        p = await client.patch(
            f"/api/v1/enterprises/{created['id']}",
            json={"hazard_flags": [], "name": "新名称有限公司"},
            headers={**bureau("440703"), "If-Match": '"1"'},
        )
        assert p.status_code == 200, p.text
        assert p.json()["version"] == 2
        assert p.json()["risk_level"] == "yellow"
        assert p.headers["etag"] == '"2"'
        # a stale If-Match: 412
        stale = await client.patch(
            f"/api/v1/enterprises/{created['id']}", json={"employees": 3}, headers={**admin(), "If-Match": '"1"'}
        )
        assert stale.status_code == 412
        # a PATCH that changes nothing keeps the version and emits nothing
        same = await client.patch(
            f"/api/v1/enterprises/{created['id']}", json={"name": "新名称有限公司"}, headers=admin()
        )
        assert same.status_code == 200
        assert same.json()["version"] == 2
        # an edit that does not change the risk: updated only
        p3 = await client.patch(
            f"/api/v1/enterprises/{created['id']}", json={"employees": 40}, headers=bureau("440700")
        )
        assert p3.status_code == 200
        assert p3.json()["version"] == 3

        events = await eventually(lambda: _events(settings, 4), timeout=15)
        assert [e.type for e in events] == [
            "enterprise.registered",
            "enterprise.updated",
            "enterprise.risk_changed",
            "enterprise.updated",
        ]
        assert all(e.source == "/enterprises" and e.subject == created["id"] for e in events)
        registered, updated, risk_changed, _ = events
        assert registered.data["version"] == 1
        assert registered.data["risk_level"] == "orange"
        assert registered.data["town"] == "440703001"
        assert updated.data["version"] == 2
        assert updated.data["previous_risk_level"] is None
        assert risk_changed.data["version"] == 2
        assert (risk_changed.data["previous_risk_level"], risk_changed.data["risk_level"]) == ("orange", "yellow")

        risk = await client.get(f"/api/v1/enterprises/{created['id']}/risk", headers=admin())
        assert risk.status_code == 200
        assert risk.json()["risk_level"] == "yellow"
        assert risk.json()["base_level"] == "yellow"
        assert [f["code"] for f in risk.json()["factors"]] == ["industry"]
        assert "机械" in risk.json()["factors"][0]["description"]
        en = await client.get(f"/api/v1/enterprises/{created['id']}/risk", headers={**admin(), "Accept-Language": "en"})
        assert "Machinery" in en.json()["factors"][0]["description"]


BAD_FIELDS = [
    ({"uscc": "91440703MA0000000X"}, "uscc"),
    ({"district_code": "440799"}, "district_code"),
    ({"town": "不存在街道"}, "town"),
    ({"town": "440704001"}, "town"),  # a town of another district
    ({"village": "440703002001"}, "village"),  # a village of another town
    ({"industry": "mining"}, "industry"),
    ({"employees": -1}, "employees"),
    ({"employees": 10_000_000}, "employees"),
    ({"hazard_flags": ["dust_explosion", "dust_explosion"]}, "hazard_flags"),
    ({"hazard_flags": ["lava"]}, "hazard_flags.0"),
    ({"contact_phone": "12345"}, "contact_phone"),
    ({"contact_phone": "23800138000"}, "contact_phone"),
    ({"name": "   "}, "name"),
    ({"major_hazard_source": "maybe"}, "major_hazard_source"),
    ({"unknown": 1}, "unknown"),
    ({"name": "零\x00字节"}, "name"),
    ({"name": "两\n行"}, "name"),
    ({"address": "地址\x07"}, "address"),
    ({"town": "环市\x00街道"}, "town"),
]


async def test_validation_names_the_field(backend):
    async with service(backend) as (client, _):
        for overrides, field in BAD_FIELDS:
            r = await client.post("/api/v1/enterprises", json=enterprise_body(**overrides), headers=admin())
            assert r.status_code == 422, (overrides, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert field in [e["field"] for e in r.json()["errors"]], (overrides, r.json())
        missing = enterprise_body()
        del missing["contact_name"]
        r = await client.post("/api/v1/enterprises", json=missing, headers=admin())
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "contact_name"
        # plausible phones are accepted: landlines with area codes, mobiles with +86
        for phone in ("0750-3456789", "0750 3456789", "020-12345678", "+86 13800138000", "0750-3456789-123"):
            r = await client.post("/api/v1/enterprises", json=enterprise_body(contact_phone=phone), headers=admin())
            assert r.status_code == 201, (phone, r.text)
        # PATCH validates the merged record: a new district needs a town of that district
        e = await register(client)
        r = await client.patch(f"/api/v1/enterprises/{e['id']}", json={"district_code": "440704"}, headers=admin())
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "town"
        r = await client.patch(
            f"/api/v1/enterprises/{e['id']}", json={"district_code": "440704", "town": "江南街道"}, headers=admin()
        )
        assert r.status_code == 200
        assert r.json()["town"] == "440704001"
        assert r.json()["village"] is None
        r = await client.patch(f"/api/v1/enterprises/{e['id']}", json={"uscc": uscc()}, headers=admin())
        assert r.status_code == 422
        r = await client.patch(f"/api/v1/enterprises/{e['id']}", json={"name": None}, headers=admin())
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "name"
        # nothing here is a 500
        for raw in (b"not json", b"[]", b'{"uscc": 5}'):
            r = await client.post(
                "/api/v1/enterprises", content=raw, headers={**admin(), "Content-Type": "application/json"}
            )
            assert r.status_code in (400, 422)
        assert (await client.get("/api/v1/enterprises/not-a-uuid", headers=admin())).status_code == 422
        missing_id = "0190a0a0-0000-7000-8000-000000000000"
        assert (await client.get(f"/api/v1/enterprises/{missing_id}", headers=admin())).status_code == 404
        assert (await client.get(f"/api/v1/enterprises/{missing_id}/risk", headers=admin())).status_code == 404
        assert (await client.get(f"/api/v1/enterprises/by-uscc/{uscc()}", headers=admin())).status_code == 404
        # odd input anywhere is a 4xx, never a 500 (PostgreSQL refuses NUL bytes, for one)
        odd = [
            "/api/v1/enterprises/by-uscc/%00",
            "/api/v1/enterprises/by-uscc/91440703MA0000000X",
            "/api/v1/enterprises/by-uscc/" + "9" * 300,
            "/api/v1/enterprises?q=%00",
            "/api/v1/enterprises?q=%25%5F%5C",
            "/api/v1/enterprises?district=%00",
            "/api/v1/enterprises?has_custodian=maybe",
            "/api/v1/enterprises?cursor=WyJ4Il0",
            "/api/v1/enterprises?cursor=WzEsMl0",
        ]
        for path in odd:
            r = await client.get(path, headers=admin())
            assert r.status_code < 500, (path, r.status_code, r.text)
            assert r.status_code != 200 or "q=%25" in path, (path, r.status_code, r.text)
        r = await client.patch(f"/api/v1/enterprises/{e['id']}", json={"employees": 2**70}, headers=admin())
        assert r.status_code == 422
        r = await client.patch(
            f"/api/v1/enterprises/{e['id']}", json={"employees": 3}, headers={**admin(), "If-Match": "garbage"}
        )
        assert r.status_code == 412
