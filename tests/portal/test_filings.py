"""Change filing (SPEC §18) and the enterprise risk-input review (SPEC §8) against the fake gateway:
the agency's form sends only what differs (with the reason), its change requests with their
checks, the bureau's review; the bureau's queue of enterprises' own changes and its review; the
enterprise's page says its change waits; both languages, problems by their field, 401 → login, a
service down → a friendly page, no 500 on random query strings."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.portal.fakes import FakePlatform
from tests.portal.fakes_credit import AGENCY_USCC, ENTERPRISE_USCC, state_of
from tests.portal.test_pages import BASE, _csrf, login


@pytest.fixture
def fake() -> FakePlatform:
    fake = FakePlatform()
    state_of(fake).own = True
    return fake


def posted(fake: FakePlatform, path: str) -> dict:
    return json.loads([c for c in fake.calls if c.method == "POST" and c.url.path == path][-1].content)


async def test_the_agency_files_only_what_changes(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake, role="agency", org_uscc=AGENCY_USCC)
    page = await client.get("/portal/agency/changes")
    assert page.status_code == 200 and 'id="change-form"' in page.text and "扩大服务区域" in page.text
    assert 'value="陈工"' in page.text and 'value="0750-3000000"' in page.text  # the filing as it is
    form = {
        "csrf": _csrf(page.text),
        "name": "江门市安泰安全技术服务有限公司",
        "legal_representative": "李总",
        "district_code": "440703",
        "staff_rows": "2",
        "qual_rows": "1",
        "reason": "办公电话变更",
        "contact_phone": "0750-3123456",
        "address": "江门市蓬江区建设路 1 号",
        "service_districts": "440703",
        "service_industries": "machinery",
        "staff.0.name": "陈工",
        "staff.0.role": "registered_safety_engineer",
        "staff.0.certificate_no": "ZC-001",
        "staff.0.certificate_valid_until": "2028-01-01",
        "staff.0.full_time": "true",
    }
    r = await client.post("/portal/agency/changes", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/portal/agency/changes?ok=change_filed"
    assert posted(fake, "/api/v1/agencies/a1/changes") == {"contact_phone": "0750-3123456", "reason": "办公电话变更"}
    r = await client.get(r.headers["location"])
    assert "变更备案已提交" in r.text and "已直接生效" in r.text


async def test_the_apis_problem_is_shown_by_the_roster(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake, role="agency", org_uscc=AGENCY_USCC)
    page = await client.get("/portal/agency/changes", params={"lang": "en"})
    assert "File a change" in page.text
    form = {"csrf": _csrf(page.text), "staff_rows": "1", "reason": "人员离职", "contact_phone": "0750-3000000"}
    form |= {"address": "江门市蓬江区建设路 1 号", "service_districts": "440703", "service_industries": "machinery"}
    r = await client.post("/portal/agency/changes", data=form)
    assert r.status_code == 422 and 'id="f-staff-error">至少需要 2 名注册安全工程师</p>' in r.text
    assert posted(fake, "/api/v1/agencies/a1/changes") == {"staff": [], "reason": "人员离职"}
    assert "人员离职</textarea>" in r.text  # the input kept
    r = await client.post("/portal/agency/changes", data={**form, "op": "add_staff"})
    assert r.status_code == 200 and 'id="staff-1"' in r.text


async def test_the_bureau_reviews_a_change(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    page = await client.get("/portal/agencies/a1/changes")
    assert page.status_code == 200 and 'id="review-ch1"' in page.text and "蓬江区" in page.text
    assert "新会区" in page.text and "扩大服务区域" in page.text and "2 ≥ 2" in page.text
    csrf = _csrf(page.text)
    r = await client.post("/portal/agencies/a1/changes/ch1/review", data={"csrf": csrf, "comments": "x"})
    assert r.status_code == 422 and "请选择批准或不予批准" in r.text
    r = await client.post(
        "/portal/agencies/a1/changes/ch1/review", data={"csrf": csrf, "decision": "approve", "comments": "同意"}
    )
    assert r.status_code == 303 and r.headers["location"].endswith("ok=change_reviewed")
    assert posted(fake, "/api/v1/agencies/a1/changes/ch1/review") == {"decision": "approve", "comments": "同意"}
    r = await client.get(r.headers["location"], params={"lang": "en"})
    assert "Approved" in r.text and 'id="review-ch1"' not in r.text
    r = await client.get("/portal/agencies/a1")
    assert 'href="/portal/agencies/a1/changes"' in r.text


async def test_the_risk_input_queue_and_its_review(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    page = await client.get("/portal/risk-inputs")
    assert page.status_code == 200 and 'id="pending-e1"' in page.text and "蓬江五金厂" in page.text
    call = [c for c in fake.calls if c.url.path == "/api/v1/enterprises"][-1]
    assert call.url.params["risk_inputs_pending"] == "true"
    csrf = _csrf(page.text)
    r = await client.post("/portal/risk-inputs/e1/review", data={"csrf": csrf})
    assert r.status_code == 422 and "请选择同意或不同意" in r.text
    r = await client.post(
        "/portal/risk-inputs/e1/review", data={"csrf": csrf, "decision": "reject", "comments": "不符"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/portal/risk-inputs?ok=risk_inputs_reviewed"
    assert posted(fake, "/api/v1/enterprises/e1/risk-inputs/review") == {"decision": "reject", "comments": "不符"}
    r = await client.get("/portal/risk-inputs", params={"lang": "en"})
    assert "Enterprises&#39; own changes to review" in r.text and "Accept" in r.text


async def test_the_enterprise_sees_its_change_waiting(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake, role="enterprise", org_uscc=ENTERPRISE_USCC)
    r = await client.get("/portal/enterprise")
    assert r.status_code == 200 and 'id="risk-inputs-pending"' in r.text and "等待所在区县监管部门审核" in r.text


async def test_roles_login_and_a_service_down(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    assert (await client.get("/portal/agency/changes")).status_code == 303
    await login(client, fake, role="enterprise", org_uscc=ENTERPRISE_USCC)
    for path in ("/portal/agency/changes", "/portal/risk-inputs", "/portal/agencies/a1/changes"):
        assert (await client.get(path)).status_code == 403, path
    fake.token_claims.update(role="bureau", org_uscc=None)
    await login(client, fake)
    fake.down.update({"registry", "enterprises"})
    for path in ("/portal/risk-inputs", "/portal/agencies/a1/changes"):
        r = await client.get(path)
        assert r.status_code == 503 and "服务暂时不可用" in r.text, path
    fake.down.clear()
    fake.refused_tokens.add("")  # "" is in every token: each one refused from now on
    r = await client.get("/portal/risk-inputs")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")


async def test_forms_need_their_csrf_token(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    for path in ("/portal/agencies/a1/changes/ch1/review", "/portal/risk-inputs/e1/review"):
        assert (await client.post(path, data={"csrf": "forged"})).status_code == 400, path
    assert not [c for c in fake.calls if c.method == "POST" and c.url.path.startswith("/api/")]


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(st.sampled_from(["cursor", "lang", "ok", "status"]), st.text(max_size=300), max_size=4),
    page=st.sampled_from(["/portal/risk-inputs", "/portal/agencies/a1/changes"]),
)
async def test_no_query_string_gives_a_500(params: dict[str, str], page: str) -> None:
    fake = FakePlatform()
    state_of(fake).own = True
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app()), base_url=BASE) as c:
        await login(c, fake)
        r = await c.get(page, params=params)
    assert r.status_code < 500 or r.status_code == 503, (page, params, r.status_code)
