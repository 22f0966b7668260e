"""An enterprise cannot move its own district, nor lower its own risk, without its district bureau
(issue #16, DECISIONS D44): the change waits as ``risk_inputs_pending``, the old values rule
meanwhile, and the bureau accepts or rejects it. Both backends, events read back from the real bus."""

from __future__ import annotations

from devtools.testing.events import read_events
from devtools.testing.wait import eventually
from tests.enterprises.factories import admin, bureau, enterprise_body, enterprise_token, register, service

MOVE = {"district_code": "440704", "town": "440704001"}


async def _orange(client):
    """An enterprise whose dust-explosion flag makes it orange (yellow without it)."""
    body = enterprise_body(hazard_flags=["dust_explosion"], employees=30)
    created = await register(client, headers=enterprise_token(body), **body)
    assert created["risk_level"] == "orange"
    return body, created


async def _patch(client, created, changes, headers):
    r = await client.patch(f"/api/v1/enterprises/{created['id']}", json=changes, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _review(client, created, headers, **body):
    return await client.post(f"/api/v1/enterprises/{created['id']}/risk-inputs/review", json=body, headers=headers)


async def test_lowering_its_own_risk_waits_for_the_bureau_and_the_rest_applies(backend):
    async with service(backend) as (client, settings):
        body, created = await _orange(client)
        own = enterprise_token(body)
        after = await _patch(client, created, {"hazard_flags": [], "contact_name": "李四"}, own)
        # the contact applies at once; the risk input waits, the old value and level rule
        assert after["contact_name"] == "李四"
        assert after["hazard_flags"] == ["dust_explosion"]
        assert after["risk_level"] == "orange"
        assert after["risk_inputs_pending"]["changes"]["hazard_flags"] == []
        assert after["version"] == 2

        # raising it applies at once (nothing to hide in more risk)
        raised = await _patch(client, created, {"major_hazard_source": True}, own)
        assert raised["major_hazard_source"] is True
        assert raised["risk_level"] == "red"
        assert raised["risk_inputs_pending"] is None  # the new inputs replaced the claim: no longer lower

        # the bureau's queue, and its acceptance
        await _patch(client, created, {"major_hazard_source": False}, own)
        queue = await client.get("/api/v1/enterprises?risk_inputs_pending=true", headers=bureau("440703"))
        assert [e["id"] for e in queue.json()["items"]] == [created["id"]]
        assert (await _review(client, created, own, decision="accept")).status_code == 403
        accepted = await _review(client, created, bureau("440703"), decision="accept", comments="现场核实")
        assert accepted.status_code == 200, accepted.text
        record = accepted.json()
        assert record["major_hazard_source"] is False
        assert record["risk_level"] == "orange"
        assert record["risk_inputs_pending"] is None
        assert record["risk_inputs_review"]["decision"] == "accept"
        assert record["risk_inputs_review"]["comments"] == "现场核实"
        queue = await client.get("/api/v1/enterprises?risk_inputs_pending=true", headers=bureau("440703"))
        assert queue.json()["items"] == []

        # only the raise and the accepted change moved the risk: orange → red → orange
        async def two_changes():
            found = await read_events(settings, event_type="enterprise.risk_changed")
            return found if len(found) >= 2 else None

        changed = await eventually(two_changes, timeout=15)
        assert [(e.data["previous_risk_level"], e.data["risk_level"]) for e in changed] == [
            ("orange", "red"),
            ("red", "orange"),
        ]


async def test_a_move_waits_and_a_rejection_keeps_the_old_values(backend):
    async with service(backend) as (client, _):
        body, created = await _orange(client)
        own = enterprise_token(body)
        after = await _patch(client, created, MOVE, own)
        assert after["district_code"] == "440703"
        assert after["risk_inputs_pending"]["changes"]["district_code"] == "440704"
        # the other district's bureau does not see it yet, nor may it review it
        other = await client.get("/api/v1/enterprises?district=440704", headers=bureau("440704"))
        assert other.json()["items"] == []
        assert (await _review(client, created, bureau("440704"), decision="accept")).status_code in (403, 404)

        rejected = await _review(client, created, bureau("440703"), decision="reject", comments="未迁址")
        assert rejected.status_code == 200, rejected.text
        record = rejected.json()
        assert record["district_code"] == "440703"
        assert record["risk_inputs_pending"] is None
        assert record["risk_inputs_review"]["decision"] == "reject"
        assert record["risk_inputs_review"]["changes"]["district_code"] == "440704"
        # nothing waits any more: 409
        again = await _review(client, created, bureau("440703"), decision="accept")
        assert again.status_code == 409
        assert again.headers["content-type"].startswith("application/problem+json")


async def test_the_enterprise_may_withdraw_its_move_and_bureaus_change_at_once(backend):
    async with service(backend) as (client, _):
        body, created = await _orange(client)
        own = enterprise_token(body)
        await _patch(client, created, MOVE, own)
        withdrawn = await _patch(client, created, {"district_code": "440703", "town": "440703001"}, own)
        assert withdrawn["risk_inputs_pending"] is None

        # the city bureau moves it and lowers it at once: nothing waits
        moved = await _patch(client, created, {**MOVE, "hazard_flags": []}, bureau("440700"))
        assert moved["district_code"] == "440704"
        assert moved["risk_level"] == "yellow"
        assert moved["risk_inputs_pending"] is None
        # the accepted move takes the enterprise to the new district's bureau
        r = await client.get(f"/api/v1/enterprises/{created['id']}", headers=bureau("440704"))
        assert r.status_code == 200


async def test_review_bad_input_is_a_problem(backend):
    async with service(backend) as (client, _):
        body, created = await _orange(client)
        await _patch(client, created, {"hazard_flags": []}, enterprise_token(body))
        for bad in (
            {"decision": "maybe"},
            {},
            {"decision": "accept", "extra": 1},
            {"decision": "accept", "comments": "x" * 2001},
        ):
            r = await _review(client, created, admin(), **bad)
            assert r.status_code == 422, (bad, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
        r = await client.post(
            "/api/v1/enterprises/00000000-0000-0000-0000-000000000000/risk-inputs/review",
            json={"decision": "accept"},
            headers=admin(),
        )
        assert r.status_code == 404
