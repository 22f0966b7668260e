"""The accident pages (SPEC §20) against the fake gateway: record (Jiangmen time sent with its
offset), the list, an accident with its dossier as tables, the XLSX proxied with the bureau's token
and the right Accept, the findings form; both languages, problems by their field, bureau only,
401 → login, a service down → a friendly page, no 500 on random query strings."""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from portal.pages.accidents import occurred_at
from tests.portal.fakes import FakePlatform
from tests.portal.fakes_credit import ENTERPRISE_USCC, XLSX
from tests.portal.test_pages import BASE, _csrf, login


def test_a_local_time_is_jiangmen_time() -> None:
    assert occurred_at("2026-11-30T14:30") == "2026-11-30T14:30:00+08:00"
    assert occurred_at(" 2026-11-30T06:30:00Z ") == "2026-11-30T06:30:00Z"
    assert occurred_at("yesterday") == "yesterday"  # the API says what is wrong


async def test_bureau_records_an_accident(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    page = await client.get("/portal/accidents/new", params={"enterprise_uscc": ENTERPRISE_USCC})
    assert page.status_code == 200 and "登记事故" in page.text and 'type="datetime-local"' in page.text
    form = {
        "csrf": _csrf(page.text),
        "idem": "k-3",
        "enterprise_uscc": "91440703MA4W999999",
        "occurred_at": "2026-11-30T14:30",
        "severity": "general",
        "deaths": "0",
        "injuries": "2",
        "description": "冲床伤手",
    }
    r = await client.post("/portal/accidents/new", data=form)
    assert r.status_code == 422 and 'id="f-enterprise_uscc-error">未登记的企业</p>' in r.text
    assert 'value="2026-11-30T14:30"' in r.text  # the input kept
    r = await client.post("/portal/accidents/new", data={**form, "enterprise_uscc": ENTERPRISE_USCC})
    assert r.status_code == 303 and r.headers["location"] == "/portal/accidents/x1?ok=accident_recorded"
    call = [c for c in fake.calls if c.method == "POST" and c.url.path == "/api/v1/accidents"][-1]
    assert json.loads(call.content) == {
        "enterprise_uscc": ENTERPRISE_USCC,
        "occurred_at": "2026-11-30T14:30:00+08:00",
        "severity": "general",
        "deaths": 0,
        "injuries": 2,
        "description": "冲床伤手",
    }
    assert call.headers["idempotency-key"] == "k-3"


async def test_the_list_and_an_accident_with_its_dossier(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    r = await client.get("/portal/accidents", params={"district": "440703"})
    assert r.status_code == 200 and 'href="/portal/accidents/x1"' in r.text and "蓬江五金厂" in r.text
    call = [c for c in fake.calls if c.url.path == "/api/v1/accidents"][-1]
    assert call.url.params["district"] == "440703"
    r = await client.get("/portal/accidents", params={"district": "<x>"})
    call = [c for c in fake.calls if c.url.path == "/api/v1/accidents"][-1]
    assert r.status_code == 200 and "district" not in call.url.params  # a bad filter is dropped
    r = await client.get("/portal/accidents/x1")
    assert r.status_code == 200
    for section in ("dossier-contracts", "dossier-visits", "dossier-hazards", "dossier-credit", "dossier-standing"):
        assert f'id="{section}"' in r.text, section
    assert "企业有异议" in r.text and 'data-label="当时状态">逾期</td>' in r.text
    assert "<script>alert(1)</script>" not in r.text and 'href="/portal/accidents/x1/dossier.xlsx"' in r.text
    r = await client.get("/portal/accidents/x1", params={"lang": "en"})
    assert "The custody record as of the accident" in r.text and "Disputed" in r.text


async def test_the_dossier_xlsx_is_the_apis_with_the_bureaus_token(
    client: httpx.AsyncClient, fake: FakePlatform
) -> None:
    await login(client, fake)
    r = await client.get("/portal/accidents/x1/dossier.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX and r.content.startswith(b"PK")
    assert r.headers["content-disposition"] == 'attachment; filename="accident-x1-dossier.xlsx"'
    call = [c for c in fake.calls if c.url.path == "/api/v1/accidents/x1/dossier"][-1]
    assert call.headers["accept"] == XLSX and call.headers["authorization"].startswith("Bearer ")


async def test_findings_once(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    page = await client.get("/portal/accidents/x1")
    csrf = _csrf(page.text)
    r = await client.post("/portal/accidents/x1/findings", data={"csrf": csrf, "findings": ""})
    assert r.status_code == 422 and 'id="f-findings-error">不能为空</p>' in r.text
    r = await client.post(
        "/portal/accidents/x1/findings", data={"csrf": csrf, "agency_at_fault": "true", "findings": "漏检冲床"}
    )
    assert r.status_code == 303 and r.headers["location"].endswith("ok=findings_recorded")
    call = [c for c in fake.calls if c.url.path == "/api/v1/accidents/x1/findings"][-1]
    assert json.loads(call.content) == {"agency_at_fault": True, "findings": "漏检冲床"}
    r = await client.get(r.headers["location"])
    assert "机构有责" in r.text and 'id="findings-form"' not in r.text and "调查结论已登记" in r.text


async def test_bureau_only_login_and_service_down(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    r = await client.get("/portal/accidents")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")
    await login(client, fake, role="enterprise", org_uscc=ENTERPRISE_USCC)
    for path in ("/portal/accidents", "/portal/accidents/x1", "/portal/accidents/x1/dossier.xlsx"):
        assert (await client.get(path)).status_code == 403, path
    fake.token_claims.update(role="bureau", org_uscc=None)
    await login(client, fake)
    fake.down.add("audit")
    for path in ("/portal/accidents", "/portal/accidents/x1", "/portal/accidents/x1/dossier.xlsx"):
        r = await client.get(path)
        assert r.status_code == 503 and "服务暂时不可用" in r.text, path
    fake.down.clear()
    fake.refused_tokens.add("")  # "" is in every token: each one refused from now on
    r = await client.get("/portal/accidents/x1")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")


async def test_forms_need_their_csrf_token(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    for path in ("/portal/accidents/new", "/portal/accidents/x1/findings"):
        assert (await client.post(path, data={"csrf": "forged"})).status_code == 400, path
    assert not [c for c in fake.calls if c.method == "POST" and c.url.path.startswith("/api/")]


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(["district", "cursor", "lang", "enterprise_uscc", "ok"]), st.text(max_size=300), max_size=4
    ),
    page=st.sampled_from(["/portal/accidents", "/portal/accidents/new", "/portal/accidents/x1"]),
)
async def test_no_query_string_gives_a_500(params: dict[str, str], page: str) -> None:
    fake = FakePlatform()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app()), base_url=BASE) as c:
        await login(c, fake)
        r = await c.get(page, params=params)
    assert r.status_code < 500 or r.status_code == 503, (page, params, r.status_code)
