"""The public directory: its reaction to credit and contract events from the real bus (both
backends), and its filters, search, pagination and CSV (SQLite: the backend does not matter)."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import date

import nats

from devtools.testing.apps import running
from devtools.testing.events import publish_event
from devtools.testing.wait import eventually
from tests.registry.factories import agency_body, agency_in, app_for, engineer

DIRECTORY = "/api/v1/directory/agencies"


def contract(contract_id: str, agency_id: str, version: int, status: str) -> dict:
    return {
        "id": contract_id,
        "version": version,
        "status": status,
        "enterprise_uscc": "91440703MA0000001X",
        "agency_id": agency_id,
        "engineer_name": "张工",
        "district_code": "440703",
        "start_date": date(2026, 4, 1).isoformat(),
        "end_date": date(2027, 3, 31).isoformat(),
    }


async def _entry(client, agency_id):
    r = await client.get(DIRECTORY, params={"limit": 200})
    assert r.status_code == 200, r.text
    return next((i for i in r.json()["items"] if i["id"] == agency_id), None)


async def test_directory_follows_credit_and_contract_events(backend):
    settings = backend.settings()
    async with running(app_for(settings)) as client:
        agency = await agency_in(client, "approved")
        aid = agency["id"]
        entry = await _entry(client, aid)
        # Before any credit event: the policy's starting score and its grade.
        assert (entry["grade"], entry["credit_score"], entry["active_contracts"], entry["remaining_capacity"]) == (
            "A",
            100,
            0,
            30,
        )
        assert entry["registered_engineers"] == ["张工", "王工"]
        assert entry["filing_no"] == agency["filing_no"]

        await publish_event(
            settings, "agency.credit_changed", {"id": aid, "version": 3, "score": 80, "grade": "B", "delta": -10}
        )
        await publish_event(
            settings, "agency.credit_changed", {"id": aid, "version": 2, "score": 90, "grade": "A"}
        )  # stale
        c1, c2, c3 = (str(uuid.uuid4()) for _ in range(3))
        duplicate = await publish_event(settings, "contract.activated", contract(c1, aid, 5, "active"))
        await publish_event(settings, "contract.activated", contract(c2, aid, 5, "active"))
        # Out of order: c3 terminated (v7) arrives before its activation (v5).
        await publish_event(settings, "contract.terminated", contract(c3, aid, 7, "terminated"))
        await publish_event(settings, "contract.activated", contract(c3, aid, 5, "active"))
        # The same event delivered again (another message id, so JetStream cannot drop it).
        nc = await nats.connect(settings.nats_servers)
        await nc.jetstream().publish(
            settings.subject_for("contract.activated"),
            duplicate.to_json(),
            headers={"Nats-Msg-Id": duplicate.id + "-again"},
        )
        await nc.close()
        # Another event of a version already applied is a duplicate (shared.readmodel): ignored.
        await publish_event(settings, "contract.terminated", contract(c1, aid, 5, "terminated"))
        await publish_event(settings, "agency.credit_changed", {"id": aid, "version": 3, "score": 70, "grade": "C"})
        await publish_event(settings, "contract.expired", contract(c2, aid, 9, "expired"))

        async def settled():
            e = await _entry(client, aid)
            return e if e and e["grade"] == "B" and e["active_contracts"] == 1 else None

        entry = await eventually(settled, timeout=15)
        await asyncio.sleep(0.5)  # nothing still in flight may change it
        entry = await _entry(client, aid)
        assert (entry["grade"], entry["credit_score"], entry["active_contracts"], entry["remaining_capacity"]) == (
            "B",
            80,
            1,
            29,
        )
        ids = [i["id"] for i in (await client.get(DIRECTORY, params={"grade": "B"})).json()["items"]]
        assert ids == [aid]
        assert (await client.get(DIRECTORY, params={"grade": "A"})).json()["items"] == []


async def test_filters_search_pagination_and_csv(sqlite_backend):
    settings = sqlite_backend.settings()
    async with running(app_for(settings)) as client:
        a = await agency_in(
            client,
            "approved",
            agency_body(
                name="江门市安泰安全技术服务有限公司",
                district="440703",
                service_districts=["440703"],
                service_industries=["machinery"],
            ),
        )
        b = await agency_in(
            client,
            "approved",
            agency_body(
                name="台山市平安咨询有限公司",
                district="440781",
                service_districts=["440781", "440705"],
                service_industries=["construction", "machinery"],
            ),
        )
        c = await agency_in(
            client,
            "approved",
            agency_body(
                name="=鹤山100%安全_服务中心",
                district="440784",
                service_districts=["440784"],
                service_industries=["fireworks"],
                engineers=[engineer("赵工", "RSE-ZH-1"), engineer("钱工", "RSE-ZH-2"), engineer("孙工", "RSE-ZH-3")],
            ),
        )
        hidden = [await agency_in(client, s) for s in ("draft", "submitted", "suspended", "revoked", "rejected")]

        async def ids(**params):
            r = await client.get(DIRECTORY, params=params)
            assert r.status_code == 200, r.text
            return [i["id"] for i in r.json()["items"]]

        assert await ids() == [a["id"], b["id"], c["id"]]
        assert not set(ids_ := await ids()) & {h["id"] for h in hidden}, ids_
        assert await ids(district="440705") == [b["id"]]
        assert await ids(district="440703") == [a["id"]]
        assert await ids(industry="machinery") == [a["id"], b["id"]]
        assert await ids(industry="machinery", district="440781") == [b["id"]]
        assert await ids(q="安泰") == [a["id"]]
        assert await ids(q="平安") == [b["id"]]
        assert await ids(q="100%") == [c["id"]]
        assert await ids(q="%") == [c["id"]]
        assert await ids(q="_") == [c["id"]]
        assert await ids(q=a["filing_no"]) == [a["id"]]
        assert await ids(q="不存在的机构") == []

        page1 = (await client.get(DIRECTORY, params={"limit": 2})).json()
        page2 = (await client.get(DIRECTORY, params={"limit": 2, "cursor": page1["next_cursor"]})).json()
        assert [i["id"] for i in page1["items"] + page2["items"]] == [a["id"], b["id"], c["id"]]
        assert page2["next_cursor"] is None

        for bad in (
            {"district": "999999"},
            {"industry": "aerospace"},
            {"grade": "E"},
            {"limit": 0},
            {"limit": 201},
            {"cursor": "not-a-cursor"},
            {"cursor": "WyJ4Il0"},
            {"cursor": "WzFd"},
            {"cursor": "W251bGxd"},
            {"district": ""},
            {"q": "长" * 101},
        ):
            r = await client.get(DIRECTORY, params=bad)
            assert r.status_code == 422, (bad, r.text)
            assert r.headers["content-type"] == "application/problem+json"

        r = await client.get(DIRECTORY, params={"industry": "machinery"}, headers={"Accept": "text/csv"})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert r.content.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0][:4] == ["机构ID", "机构名称", "统一社会信用代码", "备案编号"]
        assert [row[1] for row in rows[1:]] == ["江门市安泰安全技术服务有限公司", "台山市平安咨询有限公司"]
        assert rows[2][7] == "台山市;新会区"
        assert rows[2][8] == "建筑施工;机械"

        for accept, is_csv in (
            ("text/csv;q=0.1, application/json", False),
            ("application/json, text/csv;q=0.5", False),
            ("text/csv, */*;q=0.8", True),
            ("*/*", False),
            ("text/csv; charset=utf-8", True),
        ):
            r = await client.get(DIRECTORY, headers={"Accept": accept})
            assert r.headers["content-type"].startswith("text/csv") is is_csv, accept
        r = await client.get(DIRECTORY, params={"q": "鹤山"}, headers={"Accept": "text/csv"})
        row = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))[1]
        assert row[1] == "'=鹤山100%安全_服务中心"  # no formula injection into Excel
        assert row[-1] == "45"
        assert row[9] == "赵工;钱工;孙工"


async def test_policy_is_public(sqlite_backend):
    async with running(app_for(sqlite_backend.settings())) as client:
        r = await client.get("/api/v1/policy")
        assert r.status_code == 200
        body = r.json()
        assert body["filing_validity_years"] == 3
        assert body["min_registered_safety_engineers"] == 2
        assert body["max_enterprises_per_engineer"] == 15
        assert body["credit"]["start"] == 100
        assert body["min_visits_per_year"] == {"red": 12, "orange": 6, "yellow": 4, "blue": 2}
