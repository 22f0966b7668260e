"""The credit pages (SPEC §19) against the fake gateway: an agency's credit file and the bureau's
"record a credit fact" form, the enterprise credit file, the dishonesty list (start, object,
decide) and its public page without login; both languages, the API's problems next to their
fields, 401 → login, a service down → a friendly page, no 500 on random query strings."""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.portal.fakes import FakePlatform
from tests.portal.fakes_credit import AGENCY_USCC, ENTERPRISE_USCC
from tests.portal.test_pages import BASE, _csrf, login


def posts(fake: FakePlatform, path: str) -> list[httpx.Request]:
    return [c for c in fake.calls if c.method == "POST" and c.url.path == path]


# --- the public list --------------------------------------------------------------------------------
async def test_the_public_list_needs_no_login_and_escapes(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    r = await client.get("/portal/credit/public")
    assert r.status_code == 200
    assert "严重失信主体名单（公示）" in r.text and "91440705MA4UCCCC3X" in r.text and "2029-06-01" in r.text
    assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;" in r.text
    call = [c for c in fake.calls if c.url.path == "/api/v1/credit/listings"][-1]
    assert call.url.params["status"] == "listed" and "authorization" not in call.headers
    r = await client.get("/portal/credit/public", params={"lang": "en"})
    assert r.status_code == 200 and "Serious-dishonesty list (public)" in r.text and "Listed until" in r.text


async def test_the_public_list_is_the_publics_even_signed_in(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    r = await client.get("/portal/credit/public")
    assert r.status_code == 200 and "91440705MA4UCCCC3X" in r.text
    call = [c for c in fake.calls if c.url.path == "/api/v1/credit/listings"][-1]
    assert "authorization" not in call.headers  # the public view, not the bureau's


async def test_the_public_list_when_audit_is_down(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    fake.down.add("audit")
    r = await client.get("/portal/credit/public")
    assert r.status_code == 503 and "服务暂时不可用" in r.text


# --- an agency's credit file ------------------------------------------------------------------------
async def test_bureau_records_a_credit_fact(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    page = await client.get("/portal/credit/agencies/a1")
    assert page.status_code == 200
    assert 'id="credit-score">95<' in page.text and "投诉属实" in page.text and 'id="record-form"' in page.text
    form = {
        "csrf": _csrf(page.text),
        "idem": "k-1",
        "kind": "commendation",
        "delta": "3",
        "reason": "抢险救援表现突出",
        "ref": "江应急〔2026〕12号",
    }
    r = await client.post("/portal/credit/agencies/a1/records", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/portal/credit/agencies/a1?ok=credit_recorded"
    (call,) = posts(fake, "/api/v1/credit/agencies/a1/records")
    assert json.loads(call.content) == {
        "kind": "commendation",
        "delta": 3,
        "reason": "抢险救援表现突出",
        "ref": "江应急〔2026〕12号",
    }
    assert call.headers["idempotency-key"] == "k-1"
    r = await client.get(r.headers["location"])
    assert "诚信记录已登记" in r.text and "抢险救援表现突出" in r.text and 'id="credit-score">98<' in r.text


async def test_the_apis_problem_is_shown_by_the_delta(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    page = await client.get("/portal/credit/agencies/a1", params={"lang": "en"})
    assert "Record a credit fact" in page.text
    form = {"csrf": _csrf(page.text), "kind": "violation", "delta": "5", "reason": "<b>x</b>"}
    r = await client.post("/portal/credit/agencies/a1/records", data=form)
    assert r.status_code == 422
    assert 'id="f-delta-error">违规记录须为负分，表彰须为正分</p>' in r.text and 'aria-invalid="true"' in r.text
    assert "&lt;b&gt;x&lt;/b&gt;</textarea>" in r.text  # the input kept, escaped


async def test_an_agency_reads_its_file_but_records_nothing(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake, role="agency", org_uscc=AGENCY_USCC)
    page = await client.get("/portal/credit/agencies/a1")
    assert page.status_code == 200 and 'id="record-form"' not in page.text
    r = await client.post("/portal/credit/agencies/a1/records", data={"csrf": _csrf(page.text), "delta": "1"})
    assert r.status_code == 403
    assert not posts(fake, "/api/v1/credit/agencies/a1/records")


async def test_the_credit_file_needs_a_login_and_a_401_sends_back(
    client: httpx.AsyncClient, fake: FakePlatform
) -> None:
    r = await client.get("/portal/credit/agencies/a1")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")
    await login(client, fake)
    fake.refused_tokens.add("")  # "" is in every token: each one refused from now on
    r = await client.get("/portal/credit/agencies/a1")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")


async def test_a_service_down_is_a_friendly_page(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    fake.down.add("audit")
    for path in ("/portal/credit/agencies/a1", "/portal/credit/listings", "/portal/credit/enterprises/e1"):
        r = await client.get(path)
        assert r.status_code == 503 and "服务暂时不可用" in r.text, path
    page = await client.get("/portal/signup")
    r = await client.post(
        "/portal/credit/agencies/a1/records",
        data={"csrf": _csrf(page.text), "kind": "violation", "delta": "-2", "reason": "r"},
    )
    assert r.status_code == 503 and "服务暂时不可用" in r.text


# --- the enterprise credit file ---------------------------------------------------------------------
async def test_the_enterprise_credit_file(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    r = await client.get("/portal/credit/enterprises/e1")
    assert r.status_code == 200 and "企业诚信档案" in r.text
    assert 'id="credit-score">90<' in r.text and 'href="/portal/hazards/h1"' in r.text


async def test_the_enterprise_reads_its_own_file(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    from tests.portal.fakes_credit import state_of

    state_of(fake).own = True
    await login(client, fake, role="enterprise", org_uscc=ENTERPRISE_USCC)
    r = await client.get("/portal/credit/enterprise", params={"lang": "en"})
    assert r.status_code == 200 and "Enterprise credit file" in r.text and ENTERPRISE_USCC in r.text


# --- the dishonesty list ----------------------------------------------------------------------------
async def test_bureau_starts_a_listing(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    page = await client.get("/portal/credit/listings/new", params={"org_uscc": AGENCY_USCC})
    assert page.status_code == 200 and f'value="{AGENCY_USCC}"' in page.text
    form = {
        "csrf": _csrf(page.text),
        "idem": "k-2",
        "org_uscc": "BAD",
        "org_kind": "agency",
        "reason": "出具虚假报告",
        "legal_basis": "第六条",
    }
    r = await client.post("/portal/credit/listings/new", data=form)
    assert r.status_code == 422 and 'id="f-org_uscc-error">统一社会信用代码无效</p>' in r.text
    assert "出具虚假报告</textarea>" in r.text
    r = await client.post("/portal/credit/listings/new", data={**form, "org_uscc": AGENCY_USCC})
    assert r.status_code == 303 and r.headers["location"] == "/portal/credit/listings/l9?ok=listing_noticed"
    call = posts(fake, "/api/v1/credit/listings")[-1]
    assert json.loads(call.content) == {
        "org_uscc": AGENCY_USCC,
        "org_kind": "agency",
        "reason": "出具虚假报告",
        "legal_basis": "第六条",
    }


async def test_bureau_lists_listings_by_state(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    r = await client.get("/portal/credit/listings", params={"status": "noticed"})
    assert r.status_code == 200 and 'href="/portal/credit/listings/l1"' in r.text and "已告知" in r.text
    r = await client.get("/portal/credit/listings", params={"status": "nonsense"})
    call = [c for c in fake.calls if c.url.path == "/api/v1/credit/listings"][-1]
    assert r.status_code == 200 and "status" not in call.url.params  # a bad filter is dropped


async def test_the_organisation_objects_and_the_bureau_decides(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake, role="agency", org_uscc=AGENCY_USCC)
    page = await client.get("/portal/credit/listings/l1")
    assert page.status_code == 200 and 'id="objection-section"' in page.text and 'id="decide-section"' not in page.text
    csrf = _csrf(page.text)
    r = await client.post("/portal/credit/listings/l1/objection", data={"csrf": csrf, "version": "1", "statement": ""})
    assert r.status_code == 422 and 'id="f-statement-error">不能为空</p>' in r.text
    r = await client.post(
        "/portal/credit/listings/l1/objection", data={"csrf": csrf, "version": "1", "statement": "报告属实，有证据"}
    )
    assert r.status_code == 303 and r.headers["location"].endswith("ok=listing_objection")
    assert posts(fake, "/api/v1/credit/listings/l1/objection")[-1].headers["if-match"] == '"1"'
    r = await client.post(
        "/portal/credit/listings/l1/objection", data={"csrf": csrf, "version": "1", "statement": "再次异议"}
    )
    assert r.status_code == 412 and "记录已被他人修改" in r.text

    fake.token_claims.update(role="bureau", org_uscc=None)
    await login(client, fake)
    page = await client.get("/portal/credit/listings/l1", params={"lang": "en"})
    assert 'id="decide-section"' in page.text and 'value="withdraw"' in page.text and 'value="repair"' not in page.text
    assert "报告属实，有证据" in page.text
    r = await client.post(
        "/portal/credit/listings/l1/decide",
        data={"csrf": _csrf(page.text), "version": "2", "decision": "list", "reasons": "异议不成立"},
    )
    assert r.status_code == 303
    assert json.loads(posts(fake, "/api/v1/credit/listings/l1/decide")[-1].content) == {
        "decision": "list",
        "reasons": "异议不成立",
    }
    r = await client.get(r.headers["location"])
    assert 'id="listing-status">Listed<' in r.text and 'id="decide-section"' not in r.text


async def test_repair_only_while_repairable(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    from tests.portal.fakes_credit import state_of

    state_of(fake).listing.update(status="repairable")
    await login(client, fake, role="agency", org_uscc=AGENCY_USCC)
    page = await client.get("/portal/credit/listings/l1")
    assert 'id="repair-section"' in page.text and 'id="objection-section"' not in page.text
    csrf = _csrf(page.text)
    r = await client.post(
        "/portal/credit/listings/l1/repair", data={"csrf": csrf, "version": "1", "statement": "已整改"}
    )
    assert r.status_code == 303 and r.headers["location"].endswith("ok=listing_repair")
    r = await client.post("/portal/credit/listings/l1/repair", data={"csrf": csrf, "version": "2", "statement": "再次"})
    assert r.status_code == 409 and "当前状态不允许此操作" in r.text
    r = await client.post("/portal/credit/listings/l1/nonsense", data={"csrf": csrf})
    assert r.status_code == 404


async def test_forms_need_their_csrf_token(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    for path in (
        "/portal/credit/agencies/a1/records",
        "/portal/credit/listings/new",
        "/portal/credit/listings/l1/decide",
    ):
        r = await client.post(path, data={"csrf": "forged", "version": "1"})
        assert r.status_code == 400, path
    assert not [c for c in fake.calls if c.method == "POST" and c.url.path.startswith("/api/")]


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(["status", "cursor", "lang", "org_uscc", "org_kind", "ok"]), st.text(max_size=300), max_size=4
    ),
    page=st.sampled_from(
        [
            "/portal/credit/public",
            "/portal/credit/listings",
            "/portal/credit/listings/new",
            "/portal/credit/listings/l1",
            "/portal/credit/agencies/a1",
            "/portal/credit/enterprises/e1",
            "/portal/credit/enterprise",
        ]
    ),
)
async def test_no_query_string_gives_a_500(params: dict[str, str], page: str) -> None:
    fake = FakePlatform()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app()), base_url=BASE) as c:
        await login(c, fake)
        r = await c.get(page, params=params)
    assert r.status_code < 500 or r.status_code == 503, (page, params, r.status_code)
