"""The state machine of SPEC §7 as a table: every action from every status, allowed (the new
status) or refused with 409 and nothing changed; plus If-Match (412) on writes. SQLite only: the
rules do not depend on the backend (the lifecycle tests cover both)."""

from __future__ import annotations

from datetime import date, timedelta

from devtools.testing.apps import running
from tests.registry.factories import PDF, act, admin, agency_body, agency_in, app_for, bureau, create, ok, owner, upload

STATUSES = ["draft", "submitted", "approved", "rejected", "needs_more_info", "suspended", "revoked", "expired"]
# action -> {from status: resulting status}
ALLOWED = {
    "submit": {"draft": "submitted", "needs_more_info": "submitted", "approved": "submitted", "expired": "submitted"},
    "approve": {"submitted": "approved"},
    "reject": {"submitted": "rejected"},
    "request_changes": {"submitted": "needs_more_info"},
    "suspend": {"approved": "suspended"},
    "reinstate": {"suspended": "approved"},
    "revoke": {"approved": "revoked", "suspended": "revoked"},
    "update": {"draft": "draft", "needs_more_info": "needs_more_info"},
    "upload": {s: s for s in ("draft", "needs_more_info", "approved", "expired")},
}


async def _do(client, agency, action):
    if action == "update":
        return await client.patch(
            f"/api/v1/agencies/{agency['id']}", json={"address": "江门市江海区新址 1 号"}, headers=owner(agency["uscc"])
        )
    if action == "upload":
        return await upload(client, agency, PDF)
    return await act(client, agency, action)


async def test_every_action_from_every_status(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        # Expired agencies first: the sweep expires every approved agency at once.
        expired = {action: await agency_in(client, "approved") for action in ALLOWED}
        far = (date.today() + timedelta(days=365 * 10)).isoformat()
        r = await client.post("/api/v1/admin/sweep", params={"as_of": far}, headers=admin())
        assert r.json()["expired"] == len(ALLOWED)
        outcomes = []
        for status in STATUSES:
            for action, allowed in ALLOWED.items():
                if status == "expired":
                    agency = (await client.get(f"/api/v1/agencies/{expired[action]['id']}", headers=admin())).json()
                else:
                    agency = await agency_in(client, status)
                r = await _do(client, agency, action)
                after = (await client.get(f"/api/v1/agencies/{agency['id']}", headers=admin())).json()
                if status in allowed:
                    assert r.status_code in (200, 201), (status, action, r.text)
                    assert after["status"] == allowed[status] and after["version"] == agency["version"] + 1, (
                        status,
                        action,
                    )
                else:
                    assert r.status_code == 409, (status, action, r.text)
                    problem = r.json()
                    assert problem["code"] == "invalid_transition"
                    assert problem["current_status"] == status
                    assert after["version"] == agency["version"]
                    assert after["status"] == status
                outcomes.append((status, action, r.status_code))
        assert len(outcomes) == len(STATUSES) * len(ALLOWED)


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
        resubmitted = await ok(client, updated, "submit")
        checks = {c["code"]: c["passed"] for c in resubmitted["checks"]}
        assert checks["staff.full_time_min"] is False
