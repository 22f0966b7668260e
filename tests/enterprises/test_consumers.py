"""Read models fed by real events on the real bus, on both backends: the current custodian from
contract events, and the escalation / de-escalation of risk by major-hazard events."""

from __future__ import annotations

import uuid
from datetime import date

from devtools.testing.events import read_events
from devtools.testing.wait import eventually
from tests.enterprises.factories import Feed, admin, csv_text, enterprise_body, import_csv, register, service, uscc

AGENCY_ID = str(uuid.uuid4())


def contract(
    enterprise_uscc: str, *, contract_id: str, version: int, status: str, end: date = date(2027, 12, 31)
) -> dict:
    return {
        "id": contract_id,
        "version": version,
        "status": status,
        "enterprise_uscc": enterprise_uscc,
        "agency_id": AGENCY_ID,
        "agency_name": "江门市安全技术服务有限公司",
        "engineer_name": "王工",
        "district_code": "440703",
        "start_date": "2026-01-01",
        "end_date": end.isoformat(),
    }


def hazard(enterprise_uscc: str, *, hazard_id: str, version: int, status: str = "open", level: str = "major") -> dict:
    return {
        "id": hazard_id,
        "version": version,
        "contract_id": str(uuid.uuid4()),
        "agency_id": AGENCY_ID,
        "enterprise_uscc": enterprise_uscc,
        "district_code": "440703",
        "level": level,
        "status": status,
        "deadline": "2027-03-01",
    }


async def _get(client, e):
    return (await client.get(f"/api/v1/enterprises/{e['id']}", headers=admin())).json()


async def test_custodian_follows_contract_events(backend):
    async with service(backend) as (client, settings):
        feed = Feed(client, settings)
        e = await register(client)
        c1, c0 = str(uuid.uuid4()), str(uuid.uuid4())

        await feed.send("contract.activated", contract(e["uscc"], contract_id=c1, version=5, status="active"))
        got = await _get(client, e)
        assert got["custodian"] == {
            "contract_id": c1,
            "agency_id": AGENCY_ID,
            "agency_name": "江门市安全技术服务有限公司",
            "until": "2027-12-31",
            "status": "active",
        }
        assert got["version"] == 2
        listed = await client.get("/api/v1/enterprises?has_custodian=true", headers=admin())
        assert [i["id"] for i in listed.json()["items"]] == [e["id"]]
        assert (await client.get("/api/v1/enterprises?has_custodian=false", headers=admin())).json()["items"] == []

        # another (older) contract of the same enterprise ending does not clear the current one
        await feed.send("contract.expired", contract(e["uscc"], contract_id=c0, version=9, status="expired"))
        assert (await _get(client, e))["custodian"]["contract_id"] == c1

        # suspended: the agency still holds it, marked suspended
        await feed.send("contract.suspended", contract(e["uscc"], contract_id=c1, version=6, status="suspended"))
        assert (await _get(client, e))["custodian"]["status"] == "suspended"
        # a stale activation (version 4 < 6) is ignored
        await feed.send("contract.activated", contract(e["uscc"], contract_id=c1, version=4, status="active"))
        assert (await _get(client, e))["custodian"]["status"] == "suspended"
        # reinstated, then terminated
        await feed.send("contract.activated", contract(e["uscc"], contract_id=c1, version=7, status="active"))
        assert (await _get(client, e))["custodian"]["status"] == "active"
        await feed.send("contract.terminated", contract(e["uscc"], contract_id=c1, version=8, status="terminated"))
        got = await _get(client, e)
        assert got["custodian"] is None
        # a late duplicate of the activation changes nothing
        await feed.send("contract.activated", contract(e["uscc"], contract_id=c1, version=7, status="active"))
        assert (await _get(client, e))["custodian"] is None

        # events about an enterprise not registered yet are kept and apply when it is registered or imported
        later, imported = uscc(), uscc()
        c2, c3 = str(uuid.uuid4()), str(uuid.uuid4())
        await feed.send("contract.activated", contract(later, contract_id=c2, version=1, status="active"))
        await feed.send("contract.activated", contract(imported, contract_id=c3, version=1, status="active"))
        created = await register(client, uscc=later)
        assert created["custodian"]["contract_id"] == c2
        r = await import_csv(client, csv_text([enterprise_body(uscc=imported)]), headers=admin())
        assert r.json()["accepted"] == 1
        got = (await client.get(f"/api/v1/enterprises/by-uscc/{imported}", headers=admin())).json()
        assert got["custodian"]["contract_id"] == c3
        assert not await client._transport.app.state.runtime.subscriber.list_dead_letters()


async def test_open_major_hazards_raise_risk_until_verified(backend):
    async with service(backend) as (client, settings):
        feed = Feed(client, settings)
        e = await register(client)  # machinery: yellow
        assert e["risk_level"] == "yellow"
        h1, h2 = str(uuid.uuid4()), str(uuid.uuid4())

        await feed.send("hazard.reported", hazard(e["uscc"], hazard_id=h1, version=1))
        assert (await _get(client, e))["risk_level"] == "orange"
        await feed.send("hazard.reported", hazard(e["uscc"], hazard_id=str(uuid.uuid4()), version=1, level="general"))
        assert (await _get(client, e))["risk_level"] == "orange"
        event = await feed.send("hazard.reported", hazard(e["uscc"], hazard_id=h2, version=1))
        assert (await _get(client, e))["risk_level"] == "red"

        # the same hazard event delivered again (another message id): counted once
        bus = client._transport.app.state.runtime.bus
        await bus.publish_raw(bus.subject_for(event.type), event.to_json(), msg_id=f"{event.id}-again")
        # and a newer report of the same hazard (still open) is still one hazard
        await feed.send("hazard.reported", hazard(e["uscc"], hazard_id=h2, version=2))
        risk = (await client.get(f"/api/v1/enterprises/{e['id']}/risk", headers=admin())).json()
        assert risk["open_major_hazards"] == 2
        assert risk["risk_level"] == "red"
        assert risk["base_level"] == "yellow"
        assert risk["factors"][-1]["code"] == "open_major_hazards"
        assert risk["factors"][-1]["effect"] == "raise:2"

        await feed.send("hazard.verified", hazard(e["uscc"], hazard_id=h1, version=3, status="verified"))
        assert (await _get(client, e))["risk_level"] == "orange"
        # a stale report of the verified hazard does not reopen it
        await feed.send("hazard.reported", hazard(e["uscc"], hazard_id=h1, version=2))
        assert (await _get(client, e))["risk_level"] == "orange"
        await feed.send("hazard.verified", hazard(e["uscc"], hazard_id=h2, version=3, status="verified"))
        got = await _get(client, e)
        assert got["risk_level"] == "yellow"

        async def changes():
            events = await read_events(settings, event_type="enterprise.risk_changed")
            return events if len(events) >= 4 else None

        events = await eventually(changes, timeout=15)
        assert [(x.data["previous_risk_level"], x.data["risk_level"]) for x in events] == [
            ("yellow", "orange"),
            ("orange", "red"),
            ("red", "orange"),
            ("orange", "yellow"),
        ]
        assert [x.data["version"] for x in events] == sorted(x.data["version"] for x in events)
        assert events[-1].data["version"] == got["version"]

        # a major hazard reported before the enterprise is registered raises it from the start
        early = uscc()
        h3 = str(uuid.uuid4())
        await feed.send("hazard.reported", hazard(early, hazard_id=h3, version=1))
        created = await register(client, uscc=early, industry="commerce_trade")
        assert created["risk_level"] == "yellow"  # blue + 1
        await feed.send("hazard.verified", hazard(early, hazard_id=h3, version=2, status="verified"))
        assert (await _get(client, created))["risk_level"] == "blue"
        # a PATCH keeps counting open hazards
        h4 = str(uuid.uuid4())
        await feed.send("hazard.reported", hazard(early, hazard_id=h4, version=1))
        r = await client.patch(f"/api/v1/enterprises/{created['id']}", json={"employees": 150}, headers=admin())
        assert r.json()["risk_level"] == "orange"  # blue + many employees + one open major hazard
