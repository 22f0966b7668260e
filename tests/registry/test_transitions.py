"""The state machine of SPEC §7 (services/registry/states.py) through the real API: every action
in every state — the cases generated from the machine itself — allowed (the machine's target state,
its event on the bus) or refused with 409 and nothing changed; who may act is judged before the
state; plus If-Match (412) on writes. SQLite only: the rules do not depend on the backend (the
lifecycle tests cover both)."""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from devtools.testing.apps import running
from devtools.testing.events import read_events
from devtools.testing.tokens import auth
from devtools.testing.wait import eventually
from services.registry.schemas import ReviewIn
from services.registry.states import AGENCY, EXPIRE, REVIEW_DECISIONS, AgencyStatus
from shared.events.catalog import CATALOG, AgencyStatusChanged, EventType
from shared.i18n import current_language
from shared.states import Action
from tests.registry.factories import PDF, act, admin, agency_body, agency_in, app_for, bureau, create, ok, owner, upload

FAR = (date.today() + timedelta(days=365 * 10)).isoformat()  # past every filing's validity


async def _take(client: httpx.AsyncClient, agency: dict, action: Action) -> httpx.Response:
    """``action`` through the API, by a party the machine lets take it."""
    if action.name == "update":
        return await client.patch(
            f"/api/v1/agencies/{agency['id']}", json={"address": "江门市江海区新址 1 号"}, headers=owner(agency["uscc"])
        )
    if action.name == "file_change":  # a contact change applies at once (SPEC §18)
        return await client.post(
            f"/api/v1/agencies/{agency['id']}/changes",
            json={"contact_phone": "0750-3888888", "reason": "换号"},
            headers=owner(agency["uscc"]),
        )
    if action.name == "upload_document":
        return await upload(client, agency, PDF)
    if action.name in ("submit", *REVIEW_DECISIONS, "suspend", "reinstate", "revoke"):
        return await act(client, agency, action.name)
    raise AssertionError(f"no API call for the action {action.name}: add it here")


async def _sweep(client: httpx.AsyncClient) -> dict:
    r = await client.post("/api/v1/admin/sweep", params={"as_of": FAR}, headers=admin())
    assert r.status_code == 200, r.text
    return r.json()


async def _record(client: httpx.AsyncClient, agency: dict) -> dict:
    return (await client.get(f"/api/v1/agencies/{agency['id']}", headers=admin())).json()


async def test_every_action_in_every_state(sqlite_backend):
    settings = sqlite_backend.settings()
    cases = list(AGENCY.cases())
    announced: set[tuple[str, str, int]] = set()  # (agency id, event type, version) the machine names
    async with running(app_for(settings)) as client:
        # Filings in ``expired`` first: the sweep expires every approved filing at once.
        expired = {action.name: await agency_in(client, "approved") for action in AGENCY.actions.values()}
        assert (await _sweep(client))["expired"] == len(expired)

        # ``expire`` is the sweep's: one filing in each state, swept; only what the machine allows expires.
        subjects = {
            state: await _record(client, expired[EXPIRE.name])
            if state == AgencyStatus.EXPIRED
            else await agency_in(client, state)
            for state in AgencyStatus
        }
        await _sweep(client)
        outcomes = []
        for action, state, allowed in (c for c in cases if c[0] is EXPIRE):
            before, after = subjects[state], await _record(client, subjects[state])
            if allowed:
                step = AGENCY.step(action, state)
                assert (after["status"], after["version"]) == (step.target, before["version"] + 1), state
                announced.add((after["id"], str(step.emits), after["version"]))
            else:
                assert (after["status"], after["version"]) == (before["status"], before["version"]), state
            outcomes.append((action.name, state))

        for action, state, allowed in (c for c in cases if c[0] is not EXPIRE):
            agency = (
                await _record(client, expired[action.name])
                if state == AgencyStatus.EXPIRED
                else await agency_in(client, state)
            )
            r = await _take(client, agency, action)
            after = await _record(client, agency)
            if allowed:
                step = AGENCY.step(action, state)
                assert r.status_code in (200, 201), (state, action.name, r.text)
                assert after["status"] == step.target, (state, action.name)
                assert after["version"] == agency["version"] + 1, (state, action.name)
                if step.emits is not None:
                    announced.add((agency["id"], str(step.emits), after["version"]))
            else:
                assert r.status_code == 409, (state, action.name, r.text)
                problem = r.json()
                assert (problem["code"], problem["current_status"], problem["action"]) == (
                    "invalid_transition",
                    state,
                    action.name,
                )
                assert (after["status"], after["version"]) == (state, agency["version"]), (state, action.name)
            outcomes.append((action.name, state))
        assert len(outcomes) == len(cases) == len(AGENCY.actions) * len(AgencyStatus)

        async def published():
            events = {(e.data["id"], e.type, e.data["version"]) for e in await read_events(settings)}
            return events if announced <= events else None

        assert await eventually(published, timeout=15)


def test_the_machine_names_every_agency_status_event_and_the_review_decisions():
    # every agency status event (the change filing's agency.changed is not a status change)
    status_events = {t for t, model in CATALOG.items() if model is AgencyStatusChanged} - {EventType.AGENCY_CHANGED}
    assert AGENCY.events() == status_events
    assert set(ReviewIn.model_fields["decision"].annotation.__args__) == set(REVIEW_DECISIONS)


def test_a_refusal_names_state_and_action_in_each_language():
    refusal = AGENCY.refusal(AGENCY.actions["submit"], "needs_more_info")
    assert str(refusal.detail) == "机构备案当前状态为「待补正」，不能提交备案"
    token = current_language.set("en")
    try:
        english = str(refusal.detail)
    finally:
        current_language.reset(token)
    assert english == "The agency filing is needs more information; it cannot submit"
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in english)


async def test_a_party_that_may_not_act_is_refused_whatever_the_state(sqlite_backend):
    """403 before 409 and 412: the role is judged first (SPEC §5; tests/security's matrix)."""
    async with running(app_for(sqlite_backend.settings())) as client:
        approved = await agency_in(client, "approved")
        path = f"/api/v1/agencies/{approved['id']}"
        stale = {"If-Match": '"1"'}
        # The governing bureau may not edit (editing is the agency's, and not allowed when approved).
        r = await client.patch(path, json={"address": "江门市江海区新址 1 号"}, headers={**bureau("440703"), **stale})
        assert r.status_code == 403, r.text
        # The agency may not review or reinstate (the bureau's acts, and not allowed when approved).
        for action, body in (("review", {"decision": "approve", "comments": "ok"}), ("reinstate", {"reason": "x"})):
            r = await client.post(f"{path}/{action}", json=body, headers={**owner(approved["uscc"]), **stale})
            assert r.status_code == 403, (action, r.text)
        # A party allowed by role but not by state: 412 for a stale version, else 409.
        r = await client.post(f"{path}/reinstate", json={"reason": "x"}, headers={**auth("admin"), **stale})
        assert r.status_code == 412, r.text
        r = await client.post(f"{path}/reinstate", json={"reason": "x"}, headers=auth("admin"))
        assert r.status_code == 409, r.text
        assert (await _record(client, approved))["version"] == approved["version"]


async def test_if_match_and_etag(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        agency = await create(client)
        path = f"/api/v1/agencies/{agency['id']}"
        headers = owner(agency["uscc"])
        got = await client.get(path, headers=headers)
        assert got.headers["etag"] == '"1"'
        r = await client.patch(
            path, json={"name": "江门市新名称安全服务有限公司"}, headers={**headers, "If-Match": '"1"'}
        )
        assert r.status_code == 200
        assert r.headers["etag"] == '"2"'
        assert r.json()["name"] == "江门市新名称安全服务有限公司"
        stale = await client.patch(path, json={"name": "又一个名称"}, headers={**headers, "If-Match": '"1"'})
        assert stale.status_code == 412
        assert stale.json()["current_version"] == 2
        assert (await client.post(f"{path}/submit", headers={**headers, "If-Match": '"1"'})).status_code == 412
        assert (await upload(client, agency, PDF, headers={**headers, "If-Match": '"1"'})).status_code == 412
        assert (await client.post(f"{path}/submit", headers={**headers, "If-Match": '"2"'})).status_code == 200
        review = await client.post(
            f"{path}/review", json={"decision": "approve", "comments": ""}, headers={**bureau(), "If-Match": '"2"'}
        )
        assert review.status_code == 412
        review = await client.post(
            f"{path}/review", json={"decision": "approve", "comments": ""}, headers={**bureau(), "If-Match": "*"}
        )
        assert review.status_code == 200
        assert review.headers["etag"] == '"4"'
        suspend = await client.post(f"{path}/suspend", json={"reason": "检查"}, headers={**bureau(), "If-Match": '"3"'})
        assert suspend.status_code == 412
        assert (await client.get(path, headers=headers)).json()["status"] == "approved"


async def test_patch_replaces_staff_and_keeps_other_fields(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        agency = await agency_in(client, "needs_more_info")
        body = agency_body()
        r = await client.patch(
            f"/api/v1/agencies/{agency['id']}", json={"staff": body["staff"][:3]}, headers=owner(agency["uscc"])
        )
        assert r.status_code == 200, r.text
        updated = r.json()
        assert [s["name"] for s in updated["staff"]] == ["张工", "王工", "陈一"]
        assert updated["name"] == agency["name"]
        assert updated["qualifications"] == agency["qualifications"]
        assert updated["service_districts"] == agency["service_districts"]  # a field not sent is kept
        assert updated["service_industries"] == agency["service_industries"]
        deduped = await client.patch(
            f"/api/v1/agencies/{agency['id']}",
            json={"service_districts": ["440781", "440781", "440703"]},
            headers=owner(agency["uscc"]),
        )
        assert deduped.json()["service_districts"] == ["440781", "440703"]
        assert deduped.json()["service_industries"] == agency["service_industries"]
        resubmitted = await ok(client, deduped.json(), "submit")
        checks = {c["code"]: c["passed"] for c in resubmitted["checks"]}
        assert checks["staff.full_time_min"] is False
