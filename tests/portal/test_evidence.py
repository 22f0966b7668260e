"""Evidence, disputes, the hazard loop and supervision pages (SPEC §16, §17) against the fake gateway:
each page in both languages, the forms post the right API call, the API's problem shown by its
field, 401 → login, a service down → a friendly page, and no 500 on random query strings."""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.portal.fakes import NASTY, FakePlatform
from tests.portal.test_pages import BASE, login

ENTERPRISE = {"role": "enterprise", "org_uscc": "91440703MA4W000001", "username": "ent"}
AGENCY = {"role": "agency", "org_uscc": "91440700MA4UAAAA1X", "username": "agency"}
LOG = "0000000a-0000-0000-0000-000000000001"
HAZARD = "0000000b-0000-0000-0000-000000000001"
CASES = [f"0000000c-0000-0000-0000-00000000000{i}" for i in (1, 2, 3)]


def _csrf(html: str) -> str:
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def _last(fake: FakePlatform, path: str) -> httpx.Request:
    return [c for c in fake.calls if c.url.path == path][-1]


async def test_the_bureau_resolves_a_disputed_visit(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    page = await client.get(f"/portal/visits/{LOG}")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="resolve-form"' in html and 'id="dispute-form"' not in html
    assert "有异议" in html and "&lt;script&gt;" in html and NASTY not in html  # the reason, escaped
    assert 'href="/portal/attachments/00000001-0000-0000-0000-00000000000a"' in html  # through the portal
    assert "/api/v1/attachments" not in html
    english = await client.get(f"/portal/visits/{LOG}", params={"lang": "en"})
    assert "Resolve the dispute" in english.text and "Disputed" in english.text
    # no decision: the API's message by the field
    r = await client.post(f"/portal/visits/{LOG}/resolve", data={"csrf": _csrf(html), "version": "2", "notes": "核实"})
    assert r.status_code == 422 and "请选择裁决" in r.text and 'id="f-decision"' in r.text
    assert "核实" in r.text  # the input kept
    r = await client.post(
        f"/portal/visits/{LOG}/resolve",
        data={"csrf": _csrf(html), "version": "2", "decision": "void", "notes": "当天无人到场属实"},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/portal/visits/{LOG}?ok=visit_resolve"
    call = _last(fake, f"/api/v1/service-logs/{LOG}/resolve")
    assert json.loads(call.content) == {"decision": "void", "notes": "当天无人到场属实"}
    assert call.headers["if-match"] == '"2"' and call.headers["authorization"].startswith("Bearer ")


async def test_the_enterprise_disputes_a_visit(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    fake.visit_log.update(status="recorded", disputed_at=None, dispute_reason=None)
    await login(client, fake, **ENTERPRISE)
    page = await client.get(f"/portal/visits/{LOG}")
    assert 'id="dispute-form"' in page.text and 'id="resolve-form"' not in page.text
    r = await client.post(f"/portal/visits/{LOG}/dispute", data={"csrf": _csrf(page.text), "version": "2"})
    assert r.status_code == 422 and "请填写理由" in r.text
    assert 'aria-describedby=" f-reason-error"' in r.text and 'aria-invalid="true"' in r.text
    r = await client.post(
        f"/portal/visits/{LOG}/dispute", data={"csrf": _csrf(page.text), "version": "2", "reason": " 当天无人到场 "}
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?ok=visit_dispute")
    assert json.loads(_last(fake, f"/api/v1/service-logs/{LOG}/dispute").content) == {"reason": "当天无人到场"}
    # only the enterprise disputes; only a bureau resolves
    r = await client.post(f"/portal/visits/{LOG}/resolve", data={"csrf": _csrf(page.text), "decision": "void"})
    assert r.status_code == 403


async def test_the_bureaus_queue_of_disputed_visits(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    r = await client.get("/portal/disputes")
    assert r.status_code == 200 and 'id="dispute-list"' in r.text and "服务记录异议" in r.text
    assert 'href="/portal/disputes"' in r.text  # in the bureau's menu
    assert _last(fake, "/api/v1/service-logs").url.params["status"] == "disputed"
    assert "Disputed visits" in (await client.get("/portal/disputes", params={"lang": "en"})).text
    fake.visit_log["status"] = "void"
    r = await client.get("/portal/disputes", params={"lang": "zh-CN"})
    assert "没有待裁决的异议" in r.text


async def test_the_agency_rejects_a_rectification(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake, **AGENCY)
    page = await client.get(f"/portal/hazards/{HAZARD}")
    assert page.status_code == 200 and 'id="reject-form"' in page.text and 'id="bureau-verify-form"' not in page.text
    assert 'href="/portal/attachments/00000002-0000-0000-0000-00000000000a"' in page.text  # the hazard's photo
    assert 'href="/portal/attachments/00000003-0000-0000-0000-00000000000a"' in page.text  # the evidence
    assert "Reject the rectification" in (await client.get(f"/portal/hazards/{HAZARD}", params={"lang": "en"})).text
    url = f"/portal/hazards/{HAZARD}/rectification/reject"
    r = await client.post(url, data={"csrf": _csrf(page.text), "version": "3", "reason": ""})
    assert r.status_code == 422 and "请填写驳回理由" in r.text and 'id="f-reason-error"' in r.text
    r = await client.post(url, data={"csrf": _csrf(page.text), "version": "3", "reason": "照片看不到防护罩"})
    assert r.status_code == 303 and r.headers["location"].endswith("?ok=hazard_rejected")
    call = _last(fake, f"/api/v1/hazards/{HAZARD}/reject-rectification")
    assert json.loads(call.content) == {"reason": "照片看不到防护罩"} and call.headers["if-match"] == '"3"'


async def test_the_bureau_verifies_a_major_hazard(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    page = await client.get(f"/portal/hazards/{HAZARD}")
    assert 'id="bureau-verify-form"' in page.text and 'id="reject-form"' not in page.text
    r = await client.post(f"/portal/hazards/{HAZARD}/bureau/verify", data={"csrf": _csrf(page.text), "version": "3"})
    assert r.status_code == 303 and r.headers["location"].endswith("?ok=hazard_verify")
    assert json.loads(_last(fake, f"/api/v1/hazards/{HAZARD}/verify").content) == {}
    fake.hazard["level"] = "general"
    assert 'id="bureau-verify-form"' not in (await client.get(f"/portal/hazards/{HAZARD}")).text


async def test_attachments_are_served_through_the_portal_with_the_token(
    client: httpx.AsyncClient, fake: FakePlatform
) -> None:
    r = await client.get("/portal/attachments/00000001-0000-0000-0000-00000000000a")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")
    await login(client, fake)
    r = await client.get("/portal/attachments/00000001-0000-0000-0000-00000000000a")
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    assert r.headers["content-type"] == "image/png" and r.headers["content-disposition"].startswith("attachment")
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store"
    call = _last(fake, "/api/v1/attachments/00000001-0000-0000-0000-00000000000a")
    assert call.headers["authorization"].startswith("Bearer ")
    assert (await client.get("/portal/attachments/..%2F..%2Fetc")).status_code == 404
    fake.down.add("audit")
    assert (await client.get("/portal/attachments/00000001-0000-0000-0000-00000000000a")).status_code == 503


async def test_supervision_cases_with_their_clocks(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    r = await client.get("/portal/supervision", params={"district": "440703", "status": "bogus"})
    assert r.status_code == 200 and 'id="case-list"' in r.text
    params = _last(fake, "/api/v1/supervision").url.params
    assert params["district"] == "440703" and "status" not in params  # an unknown status is dropped
    assert "确认已超时" in r.text and "已超过整改期限" in r.text  # the clocks
    english = await client.get("/portal/supervision", params={"lang": "en"})
    assert "Major-hazard supervision" in english.text and "overdue" in english.text
    # a reported case: acknowledge
    page = await client.get(f"/portal/supervision/{CASES[0]}")
    assert 'id="acknowledge"' in page.text and 'id="list-form"' not in page.text
    r = await client.post(
        f"/portal/supervision/{CASES[0]}/acknowledge", data={"csrf": _csrf(page.text), "version": "1"}
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?ok=case_acknowledge")
    # an acknowledged case: list it (挂牌), the API's problem by its field
    page = await client.get(f"/portal/supervision/{CASES[1]}")
    assert 'id="list-form"' in page.text
    form = {
        "csrf": _csrf(page.text),
        "version": "1",
        "deadline": "2000-01-01",
        "measures": "停产",
        "responsible": "张三",
    }
    r = await client.post(f"/portal/supervision/{CASES[1]}/list", data=form)
    assert r.status_code == 422 and "期限不能早于今天" in r.text and 'id="f-deadline-error"' in r.text
    r = await client.post(f"/portal/supervision/{CASES[1]}/list", data={**form, "deadline": "2027-01-31"})
    assert r.status_code == 303
    call = _last(fake, f"/api/v1/supervision/{CASES[1]}/list")
    assert json.loads(call.content) == {"deadline": "2027-01-31", "measures": "停产", "responsible": "张三"}
    # a listed case: close it
    page = await client.get(f"/portal/supervision/{CASES[2]}")
    assert 'id="close-form"' in page.text and "停产整改" in page.text
    r = await client.post(
        f"/portal/supervision/{CASES[2]}/close", data={"csrf": _csrf(page.text), "version": "1", "notes": "已复查"}
    )
    assert r.status_code == 303
    assert json.loads(_last(fake, f"/api/v1/supervision/{CASES[2]}/close").content) == {"notes": "已复查"}
    r = await client.post(f"/portal/supervision/{CASES[2]}/explode", data={"csrf": _csrf(page.text)})
    assert r.status_code == 404


async def test_only_a_bureau_reads_supervision_and_disputes(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake, **AGENCY)
    for path in ("/portal/supervision", f"/portal/supervision/{CASES[0]}", "/portal/disputes"):
        assert (await client.get(path)).status_code == 403, path


async def test_expired_token_and_service_down(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    fake.down.add("audit")
    for path in ("/portal/supervision", "/portal/disputes", f"/portal/supervision/{CASES[0]}"):
        r = await client.get(path)
        assert r.status_code == 503 and 'id="main"' in r.text, path
    fake.down.clear()
    fake.refused_tokens.add("Bearer ")
    r = await client.get("/portal/supervision")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(["status", "district", "cursor", "lang", "ok"]), st.text(max_size=200), max_size=4
    ),
    page=st.sampled_from(
        [
            "/portal/supervision",
            "/portal/disputes",
            f"/portal/supervision/{CASES[1]}",
            f"/portal/visits/{LOG}",
            f"/portal/hazards/{HAZARD}",
            "/portal/attachments/00000001-0000-0000-0000-00000000000a",
        ]
    ),
)
async def test_no_query_string_gives_a_500(params: dict[str, str], page: str) -> None:
    fake = FakePlatform()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app()), base_url=BASE) as c:
        await login(c, fake)
        r = await c.get(page, params=params)
    assert r.status_code < 500 or r.status_code == 503, (page, params, r.status_code)


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


async def test_a_visit_is_recorded_with_its_photos_and_its_hazards_photos(
    client: httpx.AsyncClient, fake: FakePlatform
) -> None:
    await login(client, fake, **AGENCY)
    page = await client.get("/portal/visits/new")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    assert 'id="f-attachments"' in page.text and 'id="f-hazards-0-photos"' in page.text
    assert page.text.count('accept="image/*,application/pdf" capture="environment"') == 2
    fields = {
        "csrf": _csrf(page.text),
        "idem": "k-1",
        "contract_id": "c1",
        "visit_date": "2026-11-30",
        "engineer_name": "陈工",
        "items": "hazard_inspection",
        "summary": "例行检查",
        "hazard_rows": "2",
        "hazards.0.description": "",  # an empty row: skipped, its photos with it
        "hazards.1.description": "配电箱无防护",
        "hazards.1.level": "major",
        "hazards.1.location": "车间",
        "hazards.1.deadline": "2026-12-30",
        "op": "save",
    }
    files = [
        ("attachments", ("a.png", PNG, "image/png")),
        ("attachments", ("b.pdf", b"%PDF-1.4 x", "application/pdf")),
        ("hazards.1.photos", ("h.png", PNG, "image/png")),
    ]
    r = await client.post("/portal/visits/new", data=fields, files=files)
    assert r.status_code == 303, r.text
    uploads = [c for c in fake.calls if c.url.path == "/api/v1/attachments" and c.method == "POST"]
    assert len(uploads) == 3 and all(c.headers["authorization"].startswith("Bearer ") for c in uploads)
    assert b'filename="a.png"' in uploads[0].content and b'filename="h.png"' in uploads[2].content
    sent = json.loads(_last(fake, "/api/v1/service-logs").content)
    assert sent["attachments"] == ["00000001-0000-0000-0000-00000000000a", "00000002-0000-0000-0000-00000000000a"]
    assert len(sent["hazards"]) == 1 and sent["hazards"][0]["photos"] == ["00000003-0000-0000-0000-00000000000a"]
    assert _last(fake, "/api/v1/service-logs").headers["idempotency-key"] == "k-1"
    # a file the API refuses: its message by the input that chose it, the input kept
    r = await client.post(
        "/portal/visits/new", data=fields, files=[("hazards.1.photos", ("x.png", b"not-an-image", "image/png"))]
    )
    assert r.status_code == 415 and 'id="f-hazards-1-photos-error"' in r.text and "不是 JPEG" in r.text
    assert "配电箱无防护" in r.text
