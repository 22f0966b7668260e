"""The list of visits by status (SPEC §16): the bureau's queue of disputed visits is
``GET /api/v1/service-logs?status=disputed``; an unknown status is a 422, never a 500."""

from __future__ import annotations

from tests.audit.factories import audit_app, bureau, service_log

LOGS = "/api/v1/service-logs"


async def test_the_list_filters_by_status(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        ids = []
        for summary in ("一", "二"):
            r = await h.client.post(
                LOGS, json=service_log(contract, summary=summary), headers=contract.agency.headers()
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        r = await h.client.post(
            f"{LOGS}/{ids[1]}/dispute", json={"reason": "当天无人到场"}, headers=contract.enterprise.headers()
        )
        assert r.status_code == 200, r.text
        r = await h.client.get(LOGS, params={"status": "disputed"}, headers=bureau())
        assert r.status_code == 200, r.text
        assert [i["id"] for i in r.json()["items"]] == [ids[1]]
        r = await h.client.get(LOGS, params={"status": "recorded"}, headers=bureau())
        assert [i["id"] for i in r.json()["items"]] == [ids[0]]
        r = await h.client.get(LOGS, headers=bureau())
        assert sorted(i["id"] for i in r.json()["items"]) == sorted(ids)
        r = await h.client.get(LOGS, params={"status": "nope"}, headers=bureau())
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
