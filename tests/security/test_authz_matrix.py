"""The authorization matrix (tests/security/authz_matrix.py) run against the real platform through
the gateway, on every operation of the merged OpenAPI: first every refusal and every read (with a
valid body, so that a refusal is an authorization decision). The authorized writes run last of the
package (test_writes_last.py), once nothing else depends on world A's state. Refusals must change
nothing."""

from __future__ import annotations

import pytest

from tests.security import authz_matrix as M
from tests.security.requests_ import body_for, target
from tests.security.world import ACTORS, World

OPERATIONS = list(M.ALLOW)
RESULTS: dict[tuple[str, str], int] = {}


async def call(world: World, actor: str, operation: str):
    method, path = operation.split(" ", 1)
    kw = body_for(world, method, path)
    headers = {**world.as_(actor), **kw.pop("headers", {})}
    return await world.platform.client.request(method, await target(world, method, path), headers=headers, **kw)


async def versions(world: World) -> dict[str, int]:
    api, h = world.platform.client, world.as_("admin")
    out = {}
    for name, url in (
        ("agencyA", f"/api/v1/agencies/{world.ids['agencyA']}"),
        ("enterpriseA", f"/api/v1/enterprises/{world.ids['enterpriseA']}"),
        ("contractA", f"/api/v1/contracts/{world.ids['contractA']}"),
        ("complaint", f"/api/v1/complaints/{world.ids['complaint']}"),
        ("hazard", f"/api/v1/hazards/{world.ids['hazard']}"),
        ("task", f"/api/v1/audits/{world.ids['task']}"),
        ("case", f"/api/v1/supervision/{world.ids['case']}"),
        ("webhook", f"/api/v1/webhooks/{world.ids['webhook']}"),
        ("listing", f"/api/v1/credit/listings/{world.ids['listing']}"),
    ):
        r = await api.get(url, headers=h)
        assert r.status_code == 200, r.text
        body = r.json()
        out[name] = (body.get("version"), body.get("status"))
    # entA's inbox item: unread until entA marks it (in test_writes_last.py)
    r = await api.get("/api/v1/inbox", params={"kind": "hazard.reported"}, headers=world.as_("entA"))
    assert r.status_code == 200, r.text
    item = next(i for i in r.json()["items"] if i["id"] == world.ids["inbox_item"])
    out["inbox_item"] = (None, item["read_at"])
    return out


async def test_matrix_covers_every_operation_of_the_merged_openapi(openapi):
    documented = {
        f"{m.upper()} {p}"
        for p, item in openapi["paths"].items()
        for m in item
        if m in ("get", "post", "put", "patch", "delete")
    }
    assert documented - set(M.ALLOW) - M.OAUTH == set(), "operations without a row in the matrix"
    assert set(M.ALLOW) - documented == set(), "rows for operations the gateway does not document"


@pytest.fixture(scope="module")
async def before(world):
    """World A's versions once the events of its making have all landed (custodian, risk)."""
    import asyncio

    # settled: the same versions three reads running, 1.5 s apart (a loaded machine applies the last
    # events — custodian, risk — seconds after the world's making)
    readings: list[dict] = []
    for _ in range(40):
        readings = [*readings[-2:], await versions(world)]
        if len(readings) == 3 and readings[0] == readings[1] == readings[2]:
            return readings[-1]
        await asyncio.sleep(1.5)
    raise AssertionError("world A never settled")


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_refusals_and_reads(world, before, operation):
    method = operation.split(" ", 1)[0]
    wrong = []
    for actor in ACTORS:
        expect = M.expected(operation, actor)
        if expect == M.OK or (expect == 200 and method != "GET"):
            continue  # authorized writes run last (test_authorized_writes)
        r = await call(world, actor, operation)
        RESULTS[(actor, operation)] = r.status_code
        if not M.matches(expect, r.status_code):
            wrong.append(f"{actor}: expected {expect}, got {r.status_code} {r.text[:200]}")
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json"), (actor, r.headers["content-type"])
            if r.status_code == 401:
                assert r.headers.get("www-authenticate", "").lower().startswith("bearer"), actor
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("operation", sorted(M.OAUTH))
async def test_oauth_endpoints_without_credentials(world, operation):
    method, path = operation.split(" ", 1)
    r = await world.platform.client.request(method, path)
    RESULTS[("anon", operation)] = r.status_code
    assert 400 <= r.status_code < 500


async def test_refusals_changed_nothing(world, before):
    assert await versions(world) == before


async def test_a_member_who_is_not_the_admin_does_not_list_the_organisations_webhooks(world):
    r = await world.platform.client.get("/api/v1/webhooks", params={"limit": 200}, headers=world.as_("member"))
    assert r.status_code == 200, r.text
    assert world.ids["webhook"] not in {i["id"] for i in r.json()["items"]}


async def test_the_inbox_is_the_readers_own(world):
    """entA's item is in entA's inbox and nobody else's — not a fellow member's, not the bureau's
    (told of the same hazard with an item of its own), not admin's."""
    api = world.platform.client
    item = world.ids["inbox_item"]
    for actor in ("admin", "city", "bureauA", "bureauB", "agencyA", "agencyB", "entA", "entB", "readonly", "member"):
        r = await api.get("/api/v1/inbox", params={"limit": 200}, headers=world.as_(actor))
        assert r.status_code == 200, (actor, r.text)
        assert (item in {i["id"] for i in r.json()["items"]}) == (actor == "entA"), actor
    bureau = await api.get("/api/v1/inbox", params={"kind": "hazard.reported"}, headers=world.as_("bureauA"))
    told = [i for i in bureau.json()["items"] if i["subject_id"] == world.ids["hazard"]]
    assert told, "the bureau of the district is told of a major hazard (SPEC §15)"
    assert told[0]["urgent"] is True


async def test_lists_show_only_what_the_caller_may_see(world):
    api = world.platform.client
    a_records = {
        "/api/v1/contracts": world.ids["contractA"],
        "/api/v1/service-logs": world.ids["log"],
        "/api/v1/hazards": world.ids["hazard"],
        "/api/v1/complaints": world.ids["complaint"],
        "/api/v1/audits": world.ids["task"],
        "/api/v1/supervision": world.ids["case"],
        "/api/v1/agencies": world.ids["agencyA"],
        "/api/v1/enterprises": world.ids["enterpriseA"],
        "/api/v1/inbox": world.ids["inbox_item"],
        "/api/v1/webhooks": world.ids["webhook"],
    }
    leaks = []
    for actor in ("bureauB", "agencyB", "entB"):
        for url, record_id in a_records.items():
            r = await api.get(url, params={"limit": 200}, headers=world.as_(actor))
            if r.status_code == 403:
                continue
            assert r.status_code == 200, (actor, url, r.text)
            if any(item.get("id") == record_id for item in r.json()["items"]):
                leaks.append(f"{actor} sees {url} {record_id}")
    for actor in ("city", "bureauA", "agencyA", "entA"):  # and the rightful ones do see contract A
        r = await api.get("/api/v1/contracts", params={"limit": 200}, headers=world.as_(actor))
        assert any(i["id"] == world.ids["contractA"] for i in r.json()["items"]), actor
    summary = (await api.get("/api/v1/compliance/summary", headers=world.as_("bureauB"))).json()
    if "440703" in str(summary):
        leaks.append("bureauB's compliance summary mentions district 440703")
    # Non-owners of an approved agency get its public profile, not its filing (staff, documents).
    full = (await api.get(f"/api/v1/agencies/{world.ids['agencyA']}", headers=world.as_("agencyA"))).json()
    public = (await api.get(f"/api/v1/agencies/{world.ids['agencyA']}", headers=world.as_("agencyB"))).json()
    assert "staff" in full
    assert "staff" not in public
    assert "qualifications" not in public
    assert not leaks, leaks


async def test_anonymous_complaint_is_followed_with_its_tracking_code_only(world):
    api = world.platform.client
    r = await api.post(
        "/api/v1/complaints",
        json={
            "agency_id": world.ids["agencyA"],
            "category": "fee",
            "description": "收费不透明",
            "contact_phone": "13800138000",
        },
    )
    assert r.status_code == 201, r.text
    complaint_id, code = r.json()["id"], r.json()["tracking_code"]
    ok = await api.post("/api/v1/complaints/track", json={"id": complaint_id, "tracking_code": code})
    assert ok.status_code == 200
    assert ok.json()["status"] == "received"
    assert "contact_phone" not in ok.json()
    assert "description" not in ok.json()
    wrong = await api.post(
        "/api/v1/complaints/track",
        json={"id": complaint_id, "tracking_code": code[:-1] + ("0" if code[-1] != "0" else "1")},
    )
    assert wrong.status_code in (403, 404)
    other = await api.post("/api/v1/complaints/track", json={"id": world.ids["complaint"], "tracking_code": code})
    assert other.status_code in (403, 404)


async def test_bureau_cannot_import_into_another_district(world):
    """Bureau B may import, but a row for an enterprise of district 440703 is rejected."""
    from tests.security.world import enterprise_body

    api = world.platform.client
    before_ = (await api.get(f"/api/v1/enterprises/{world.ids['enterpriseA']}", headers=world.as_("admin"))).json()
    e = {**enterprise_body(world.uscc["entA"], "篡改名称", "440703")}
    cols = [c for c in e if c not in ("hazard_flags",)]
    csv = (
        ",".join(cols)
        + "\n"
        + ",".join(str(e[c]).lower() if isinstance(e[c], bool) else str(e[c]) for c in cols)
        + "\n"
    )
    r = await api.post(
        "/api/v1/enterprises/import", content=csv.encode(), headers={**world.as_("bureauB"), "Content-Type": "text/csv"}
    )
    assert r.status_code in (200, 403), r.text
    if r.status_code == 200:
        report = r.json()
        assert (report["accepted"], report["updated"], len(report["rejected"])) == (0, 0, 1), report
    after = (await api.get(f"/api/v1/enterprises/{world.ids['enterpriseA']}", headers=world.as_("admin"))).json()
    assert after["name"] == before_["name"]
    assert after["version"] == before_["version"]


async def test_bureau_cannot_import_into_another_district_from_a_workbook_either(world):
    """The same through the gateway as an XLSX workbook with Chinese headers and values, for
    real and as a dry run: bureau B's row for enterprise A (district 440703) is rejected."""
    import io

    from openpyxl import Workbook

    from tests.security.world import enterprise_body

    api = world.platform.client
    before_ = (await api.get(f"/api/v1/enterprises/{world.ids['enterpriseA']}", headers=world.as_("admin"))).json()
    e = enterprise_body(world.uscc["entA"], "篡改名称", "440703")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["企业名录"])
    sheet.append(
        [
            "统一社会信用代码",
            "企业名称",
            "行业",
            "所在区县",
            "镇街",
            "地址",
            "从业人数",
            "重大危险源",
            "联系人",
            "联系电话",
        ]
    )
    sheet.append(
        [
            *(e["uscc"], e["name"], "机械", "蓬江区", e["town"], e["address"], e["employees"], "否"),
            *(e["contact_name"], e["contact_phone"]),
        ]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    for query in ("", "?dry_run=true"):
        r = await api.post(
            f"/api/v1/enterprises/import{query}",
            content=buffer.getvalue(),
            headers={**world.as_("bureauB"), "Content-Type": xlsx},
        )
        assert r.status_code == 200, r.text
        report = r.json()
        assert (report["encoding"], report["dry_run"]) == ("xlsx", bool(query))
        assert (report["accepted"], report["updated"]) == (0, 0), report
        assert [(x["row"], x["errors"][0]["field"]) for x in report["rejected"]] == [(3, "district_code")], report
    after = (await api.get(f"/api/v1/enterprises/{world.ids['enterpriseA']}", headers=world.as_("admin"))).json()
    assert (after["name"], after["version"]) == (before_["name"], before_["version"])
