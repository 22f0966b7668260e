"""Change filings (变更备案, SPEC §18, issue #16 item 5) through the real registry: a contact
change applies at once, anything else is reviewed by the bureaus that review filings with the
automatic checks run on the filing after the change; exclusivity at filing and at approval; an
engineer on a live contract (learnt from contract events on the real bus) may not leave; a renewal
may carry the same body; the sweep stops counting expired certificates and flags the agency."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from devtools.testing.apps import running
from devtools.testing.events import publish_event, read_events
from devtools.testing.wait import eventually
from tests.registry.factories import (
    TODAY,
    admin,
    agency_body,
    agency_in,
    app_for,
    bureau,
    engineer,
    officer,
    owner,
)


def changes_path(agency: dict) -> str:
    return f"/api/v1/agencies/{agency['id']}/changes"


def roster(agency: dict, *extra: dict, drop: str | None = None) -> list[dict]:
    """The agency's staff as a new roster (without ``drop``), plus ``extra``."""
    kept = [
        {k: s[k] for k in ("name", "role", "certificate_no", "certificate_valid_until", "full_time") if s.get(k)}
        | {"full_time": s["full_time"]}
        for s in agency["staff"]
        if s["name"] != drop
    ]
    return kept + list(extra)


async def _record(client, agency):
    return (await client.get(f"/api/v1/agencies/{agency['id']}", headers=admin())).json()


async def _review(client, agency, change, decision="approve", comments="同意变更", headers=None):
    return await client.post(
        f"{changes_path(agency)}/{change['id']}/review",
        json={"decision": decision, "comments": comments},
        headers=headers or bureau("440703"),
    )


async def test_a_contact_change_applies_at_once(backend):
    settings = backend.settings()
    async with running(app_for(settings)) as client:
        agency = await agency_in(client, "approved")
        r = await client.post(
            changes_path(agency),
            json={"contact_phone": "0750-3999999", "address": "江门市江海区新址 8 号", "reason": "搬迁"},
            headers=owner(agency["uscc"]),
        )
        assert r.status_code == 201, r.text
        change = r.json()
        assert (change["status"], change["changes"]["contact_phone"]) == ("applied", "0750-3999999")
        after = await _record(client, agency)
        assert (after["contact_phone"], after["address"], after["version"]) == (
            "0750-3999999",
            "江门市江海区新址 8 号",
            agency["version"] + 1,
        )
        listed = await client.get(changes_path(agency), headers=bureau("440703"))
        assert [c["id"] for c in listed.json()] == [change["id"]]
        events = await eventually(lambda: read_events(settings, event_type="agency.changed"))
        assert (events[0].data["id"], events[0].data["version"], events[0].data["status"]) == (
            agency["id"],
            after["version"],
            "approved",
        )


async def test_a_roster_change_is_reviewed_then_applied_and_announced(backend):
    settings = backend.settings()
    async with running(app_for(settings)) as client:
        agency = await agency_in(client, "approved")
        new = roster(agency, engineer("赵工", f"RSE-{agency['uscc'][-6:]}-9"))
        r = await client.post(
            changes_path(agency),
            json={"staff": new, "service_industries": ["machinery"], "reason": "新增工程师"},
            headers=owner(agency["uscc"]),
        )
        assert r.status_code == 201, r.text
        change = r.json()
        assert change["status"] == "submitted"
        assert {c["code"]: c["passed"] for c in change["checks"]}["staff.registered_engineers_min"] is True
        unchanged = await _record(client, agency)
        assert (unchanged["version"], unchanged["registered_engineers"]) == (agency["version"], ["张工", "王工"])

        # Only the bureaus that review filings decide.
        assert (await _review(client, agency, change, headers=owner(agency["uscc"]))).status_code == 403
        assert (await _review(client, agency, change, headers=bureau("440704"))).status_code in (403, 404)
        done = await _review(client, agency, change)
        assert done.status_code == 200, done.text
        assert (done.json()["status"], done.json()["review_comments"]) == ("approved", "同意变更")
        assert (await _review(client, agency, change)).status_code == 409

        after = await _record(client, agency)
        assert after["registered_engineers"] == ["张工", "王工", "赵工"]
        assert after["service_industries"] == ["machinery"]
        entry = (await client.get(f"/api/v1/directory/agencies/{agency['id']}")).json()
        assert entry["registered_engineers"] == 3  # the public detail counts them
        events = await eventually(lambda: read_events(settings, event_type="agency.changed"))
        assert events[-1].data["registered_engineers"] == ["张工", "王工", "赵工"]
        assert events[-1].data["version"] == after["version"]


async def test_exclusivity_at_filing_and_again_at_approval(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        other = await agency_in(client, "approved")
        agency = await agency_in(client, "approved")
        theirs = engineer("借工", other["staff"][0]["certificate_no"])
        r = await client.post(
            changes_path(agency), json={"staff": roster(agency, theirs), "reason": "x"}, headers=owner(agency["uscc"])
        )
        assert (r.status_code, r.json()["code"]) == (422, "staff_exclusive"), r.text
        assert other["name"] not in r.text

        free = engineer("新工", "RSE-FREE-" + agency["uscc"][-6:])
        change = (
            await client.post(
                changes_path(agency), json={"staff": roster(agency, free), "reason": "x"}, headers=owner(agency["uscc"])
            )
        ).json()
        # Meanwhile a new filing takes that engineer.
        await agency_in(
            client, "submitted", agency_body(engineers=[free, engineer("甲工", "RSE-JIA-" + agency["uscc"][-6:])])
        )
        r = await _review(client, agency, change)
        assert (r.status_code, r.json()["code"]) == (422, "staff_exclusive"), r.text
        assert (await _record(client, agency))["registered_engineers"] == ["张工", "王工"]


async def test_checks_after_the_change_and_comments(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        agency = await agency_in(client, "approved")
        r = await client.post(
            changes_path(agency),
            json={"staff": roster(agency, drop="王工"), "reason": "离职"},
            headers=owner(agency["uscc"]),
        )
        change = r.json()
        assert {c["code"]: c["passed"] for c in change["checks"]}["staff.registered_engineers_min"] is False
        r = await _review(client, agency, change, comments="")
        assert (r.status_code, r.json()["code"]) == (422, "review_override_comment_required")
        r = await _review(client, agency, change, decision="reject", comments="")
        assert (r.status_code, r.json()["code"]) == (422, "review_comments_required")
        r = await _review(client, agency, change, decision="reject", comments="人员不足")
        assert r.json()["status"] == "rejected"
        assert (await _record(client, agency))["registered_engineers"] == ["张工", "王工"]


async def test_an_engineer_on_a_live_contract_stays(backend):
    settings = backend.settings()
    async with running(app_for(settings)) as client:
        agency = await agency_in(client, "approved")
        contract_id = str(uuid.uuid4())
        facts = {
            "id": contract_id,
            "enterprise_uscc": "91440703MA0000001X",
            "agency_id": agency["id"],
            "engineer_name": "王工",
            "district_code": "440703",
            "start_date": "2026-04-01",
            "end_date": "2027-03-31",
        }
        await publish_event(settings, "contract.drafted", facts | {"version": 1, "status": "draft"})
        body = {"staff": roster(agency, drop="王工"), "reason": "离职"}

        async def refused():
            r = await client.post(changes_path(agency), json=body, headers=owner(agency["uscc"]))
            return r if r.status_code == 422 else None

        r = await eventually(refused, timeout=15)
        assert r.json()["code"] == "engineer_under_contract"
        assert r.json()["contracts"] == [contract_id]
        assert contract_id in r.json()["detail"]

        await publish_event(settings, "contract.terminated", facts | {"version": 4, "status": "terminated"})

        async def accepted():
            r = await client.post(changes_path(agency), json=body, headers=owner(agency["uscc"]))
            return r if r.status_code == 201 else None

        assert (await eventually(accepted, timeout=15)).json()["status"] == "submitted"


async def test_who_files_and_reads_and_when(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        draft = await agency_in(client, "draft")
        body = {"address": "江门市新会区 1 号", "reason": "搬迁"}
        assert (await client.post(changes_path(draft), json=body, headers=owner(draft["uscc"]))).status_code == 409
        agency = await agency_in(client, "approved")
        for headers in (bureau("440703"), admin()):
            assert (await client.post(changes_path(agency), json=body, headers=headers)).status_code == 403
        assert (await client.post(changes_path(agency), json=body, headers=owner(draft["uscc"]))).status_code in (
            403,
            404,
        )
        assert (
            await client.post(changes_path(agency), json={"reason": "无"}, headers=owner(agency["uscc"]))
        ).status_code == 422
        assert (await client.get(changes_path(agency), headers=bureau("440704"))).status_code in (403, 404)
        assert (await client.get(changes_path(agency))).status_code == 401
        missing = f"{changes_path(agency)}/{uuid.uuid4()}/review"
        assert (await client.post(missing, json={"decision": "approve"}, headers=bureau())).status_code == 404


async def test_a_renewal_carries_changes(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        agency = await agency_in(client, "approved")
        r = await client.post(
            f"/api/v1/agencies/{agency['id']}/submit",
            json={"service_industries": ["machinery"], "staff": roster(agency, officer("陈四"))},
            headers=owner(agency["uscc"]),
        )
        assert r.status_code == 200, r.text
        renewed = r.json()
        assert (renewed["status"], renewed["service_industries"]) == ("submitted", ["machinery"])
        assert [s["name"] for s in renewed["staff"]][-1] == "陈四"


async def test_the_sweep_stops_counting_expired_certificates(backend):
    settings = backend.settings()
    async with running(app_for(settings)) as client:
        tag = str(uuid.uuid4().int)[-6:]
        body = agency_body(
            engineers=[
                engineer("张工", f"RSE-{tag}-1"),
                engineer("短工", f"RSE-{tag}-2", valid_until=TODAY + timedelta(days=10)),
            ]
        )
        agency = await agency_in(client, "approved", body)
        as_of = (TODAY + timedelta(days=30)).isoformat()
        swept = await client.post("/api/v1/admin/sweep", params={"as_of": as_of}, headers=admin())
        assert swept.status_code == 200, swept.text
        assert swept.json()["certificates_lapsed"] == 1
        again = await client.post("/api/v1/admin/sweep", params={"as_of": as_of}, headers=admin())
        assert again.json()["certificates_lapsed"] == 0

        after = await _record(client, agency)
        assert (after["registered_engineers"], after["noncompliant"]) == (["张工"], True)
        listed = await client.get("/api/v1/agencies", params={"limit": 200}, headers=bureau("440703"))
        flagged = {a["id"]: a["noncompliant"] for a in listed.json()["items"]}
        assert flagged[agency["id"]] is True
        entry = (await client.get(f"/api/v1/directory/agencies/{agency['id']}")).json()
        assert entry["registered_engineers"] == 1
        events = await eventually(lambda: read_events(settings, event_type="agency.changed"))
        assert events[-1].data["registered_engineers"] == ["张工"]
        assert date.fromisoformat(as_of) > TODAY
