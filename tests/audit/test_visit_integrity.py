"""Visit integrity (SPEC §16): a visit is recorded within ``max_log_delay_days`` by an engineer on
the agency's current roster; the enterprise disputes it, the bureau resolves it; compliance counts
confirmed or unchallenged visits, and a period is missed only after its grace."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from devtools.testing.wait import eventually
from tests.audit.factories import (
    OTHER_DISTRICT,
    TODAY,
    Agency,
    Enterprise,
    admin,
    audit_app,
    bureau,
    city,
    clock_at,
    service_log,
)

LOGS = "/api/v1/service-logs"


async def _record(h, contract, **kw):
    r = await h.client.post(LOGS, json=service_log(contract, **kw), headers=contract.agency.headers())
    assert r.status_code == 201, r.text
    return r.json()


async def _trail(h) -> list[dict]:
    table = h.runtime.infra.audit_trail
    async with h.runtime.unit_of_work().read() as session:
        rows = (await session.execute(sa.select(table).order_by(table.c.seq))).mappings().all()
    return [dict(r) for r in rows]


async def test_a_visit_is_recorded_within_the_delay(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        await _record(h, contract, visit_date=TODAY - timedelta(days=3))  # the limit itself
        r = await h.client.post(
            LOGS, json=service_log(contract, visit_date=TODAY - timedelta(days=4)), headers=contract.agency.headers()
        )
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "visit_recorded_too_late"
        assert [e["field"] for e in r.json()["errors"]] == ["visit_date"]


async def test_the_engineer_must_be_on_the_current_roster(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        agency = Agency(engineers=["陈工", "Ｌｉ Ｗｅｉ"])  # full-width, as a Chinese input method types it
        contract = await h.setup(agency=agency)
        r = await h.client.post(LOGS, json=service_log(contract, engineer_name="王工"), headers=agency.headers())
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "engineer_not_on_roster"
        assert [e["field"] for e in r.json()["errors"]] == ["engineer_name"]
        # The same names, NFKC-normalised and without format characters, are on it.
        await _record(h, contract, engineer_name="陈\u200b工", summary="零宽字符")
        await _record(h, contract, engineer_name="Li Wei", summary="半角")

        # The roster follows the agency's events: one that leaves 陈工 off (an expired certificate).
        agency.version, agency.engineers = 2, ["Li Wei"]
        await h.publish("agency.changed", agency.event())

        async def refused():
            r = await h.client.post(LOGS, json=service_log(contract, summary="证书过期后"), headers=agency.headers())
            return r.status_code == 422 and r.json()["code"] == "engineer_not_on_roster"

        await eventually(refused)

        # An event from before the roster was carried holds nobody.
        old = Agency()
        event = old.event()
        del event["registered_engineers"]
        await h.publish("agency.approved", event)
        legacy = await h.setup(agency=old)
        r = await h.client.post(LOGS, json=service_log(legacy), headers=old.headers())
        assert r.status_code == 422 and r.json()["code"] == "engineer_not_on_roster", r.text


async def test_dispute_and_resolution(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        other = await h.setup(enterprise=Enterprise(district_code=OTHER_DISTRICT), agency=Agency())
        entry = await _record(h, contract)
        path = f"{LOGS}/{entry['id']}"
        reason = {"reason": "当天无人到场"}
        # Only the enterprise served disputes.
        for headers in (contract.agency.headers(), bureau(), admin(), other.enterprise.headers()):
            r = await h.client.post(f"{path}/dispute", json=reason, headers=headers)
            assert r.status_code in (403, 404), (headers, r.text)
        r = await h.client.post(
            f"{path}/dispute", json=reason, headers={**contract.enterprise.headers(), "If-Match": '"9"'}
        )
        assert r.status_code == 412, r.text
        # A visit not disputed cannot be resolved.
        r = await h.client.post(f"{path}/resolve", json={"decision": "void"}, headers=bureau())
        assert r.status_code == 409, r.text
        r = await h.client.post(f"{path}/dispute", json=reason, headers=contract.enterprise.headers())
        assert r.status_code == 200, r.text
        disputed = r.json()
        assert disputed["status"] == "disputed" and disputed["dispute_reason"] == "当天无人到场"
        assert disputed["disputed_at"] is not None and disputed["resolved_at"] is None
        # Disputed: neither confirmed nor disputed again.
        for action, body in (("confirm", None), ("dispute", reason)):
            r = await h.client.post(f"{path}/{action}", json=body, headers=contract.enterprise.headers())
            assert r.status_code == 409, (action, r.text)
        (event,) = await h.events("servicelog.disputed")
        assert event.data["id"] == entry["id"] and event.data["dispute_reason"] == "当天无人到场"
        assert event.data["district_code"] == contract.district_code

        # The bureau of the district (or the city) resolves; not another district's, not the parties.
        for headers in (bureau(OTHER_DISTRICT), contract.enterprise.headers(), contract.agency.headers()):
            r = await h.client.post(f"{path}/resolve", json={"decision": "uphold"}, headers=headers)
            assert r.status_code in (403, 404), (headers, r.text)
        r = await h.client.post(f"{path}/resolve", json={"decision": "void", "notes": "核实未到场"}, headers=bureau())
        assert r.status_code == 200, r.text
        voided = r.json()
        assert voided["status"] == "void" and voided["resolution"] == "void"
        assert voided["resolution_notes"] == "核实未到场" and voided["resolved_at"] is not None
        assert voided["disputed_at"] == disputed["disputed_at"]
        r = await h.client.post(f"{path}/resolve", json={"decision": "uphold"}, headers=city())
        assert r.status_code == 409, r.text

        # Upheld by the city: the visit is confirmed.
        second = await _record(h, contract, summary="第二次")
        r = await h.client.post(f"{LOGS}/{second['id']}/dispute", json=reason, headers=contract.enterprise.headers())
        assert r.status_code == 200, r.text
        r = await h.client.post(f"{LOGS}/{second['id']}/resolve", json={"decision": "uphold"}, headers=city())
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "confirmed" and r.json()["confirmed"] is True
        # The voided dispute cost the enterprise nothing; the upheld visit costs it 2 (SPEC §19).
        credit = await h.client.get(f"/api/v1/credit/enterprises/{contract.enterprise.id}", headers=bureau())
        assert credit.status_code == 200, credit.text
        assert (credit.json()["score"], [x["kind"] for x in credit.json()["records"]]) == (98, ["dispute_upheld"])
        # A confirmed visit is not disputable.
        r = await h.client.post(f"{LOGS}/{second['id']}/dispute", json=reason, headers=contract.enterprise.headers())
        assert r.status_code == 409, r.text

        acts = [(row["action"], row["entity_id"]) for row in await _trail(h) if row["entity_type"] == "service_log"]
        assert acts == [
            ("servicelog.disputed", entry["id"]),
            ("servicelog.resolved", entry["id"]),
            ("servicelog.disputed", second["id"]),
            ("servicelog.resolved", second["id"]),
        ]
        verified = (await h.client.get("/api/v1/admin/audit-trail/verify", headers=admin())).json()
        assert verified["entries"] == 4 and verified["reason"] == "witness_unavailable", verified  # no witness here


async def test_bad_bodies_are_422(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        entry = await _record(h, contract)
        path = f"{LOGS}/{entry['id']}"
        for body in (None, {}, {"reason": ""}, {"reason": "x" * 2001}, {"reason": "a\x00b"}, {"reason": 5}):
            r = await h.client.post(f"{path}/dispute", json=body, headers=contract.enterprise.headers())
            assert r.status_code == 422, (body, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
        for body in (
            {},
            {"decision": "maybe"},
            {"decision": "void", "notes": "x" * 2001},
            {"decision": "void", "x": 1},
        ):
            r = await h.client.post(f"{path}/resolve", json=body, headers=bureau())
            assert r.status_code == 422, (body, r.text)
        r = await h.client.post(
            f"{LOGS}/not-a-uuid/dispute", json={"reason": "x"}, headers=contract.enterprise.headers()
        )
        assert r.status_code == 422


YEAR = {"start_date": date(2026, 1, 1), "end_date": date(2026, 12, 31)}


async def _items(h, contract) -> dict:
    report = (await h.client.get(f"/api/v1/compliance/contracts/{contract.id}", headers=bureau())).json()
    return {i["item"]: i for i in report["items"]}


async def test_compliance_counts_confirmed_or_unchallenged_visits(backend):
    async with audit_app(backend) as h:
        contract = await h.setup(**YEAR)
        confirmed = await _record(h, contract, summary="确认")
        r = await h.client.post(f"{LOGS}/{confirmed['id']}/confirm", headers=contract.enterprise.headers())
        assert r.status_code == 200, r.text
        await _record(h, contract, summary="未确认")
        disputed = await _record(h, contract, summary="异议")
        r = await h.client.post(
            f"{LOGS}/{disputed['id']}/dispute", json={"reason": "未到场"}, headers=contract.enterprise.headers()
        )
        assert r.status_code == 200, r.text
        item = (await _items(h, contract))["hazard_inspection"]
        assert (item["recorded"], item["pending"]) == (1, 2)  # confirmed counts at once

        h.clock.set(clock_at(TODAY + timedelta(days=6)).now())
        item = (await _items(h, contract))["hazard_inspection"]
        assert (item["recorded"], item["pending"]) == (1, 2)
        h.clock.set(clock_at(TODAY + timedelta(days=7)).now())  # the window passed without a dispute
        item = (await _items(h, contract))["hazard_inspection"]
        assert (item["recorded"], item["pending"]) == (2, 1)

        r = await h.client.post(f"{LOGS}/{disputed['id']}/resolve", json={"decision": "void"}, headers=bureau())
        assert r.status_code == 200, r.text
        item = (await _items(h, contract))["hazard_inspection"]
        assert (item["recorded"], item["pending"]) == (2, 0)  # void counts nowhere


MONTHLY = {
    "start_date": date(2026, 5, 1),
    "end_date": date(2027, 4, 30),
    "services": [{"item": "hazard_inspection", "times_per_year": 12}],
}


async def test_grace_a_monthly_visit_is_missed_only_after_the_confirmation_window(backend):
    """365-day term, 12 a year: the first visit falls due on day 31 (2026-05-31)."""
    async with audit_app(backend, today=date(2026, 5, 31)) as h:
        contract = await h.setup(**MONTHLY)
        due = date(2026, 5, 31)
        for late in (0, 1, 6):  # not missed on day 32, nor within the window
            assert (await h.sweep(due + timedelta(days=late)))["visits_missed"] == 0, late
        assert (await h.sweep(due + timedelta(days=7)))["visits_missed"] == 1
        assert (await _items(h, contract))["hazard_inspection"]["missed"] == 1


async def test_grace_a_pending_visit_is_not_missed_until_voided(backend):
    async with audit_app(backend, today=date(2026, 6, 2)) as h:
        contract = await h.setup(**MONTHLY)
        entry = await _record(h, contract, visit_date=date(2026, 6, 1))  # a day after it fell due
        r = await h.client.post(
            f"{LOGS}/{entry['id']}/dispute", json={"reason": "未到场"}, headers=contract.enterprise.headers()
        )
        assert r.status_code == 200, r.text
        h.clock.set(clock_at(date(2026, 6, 10)).now())
        assert (await h.sweep(date(2026, 6, 10)))["visits_missed"] == 0  # awaiting the bureau
        r = await h.client.post(f"{LOGS}/{entry['id']}/resolve", json={"decision": "void"}, headers=bureau())
        assert r.status_code == 200, r.text
        assert (await h.sweep(date(2026, 6, 10)))["visits_missed"] == 1
