"""Organisations (SPEC §14) in-process against the fake gateway: the bureau's verification queue
(pending by default, filters), the decision with its version and the API's problem by its field;
an organisation's own page, its admin's members, an invitation code shown once, removing a member;
both languages, 401 → login, the gateway down, no 500."""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.portal.fakes import FakePlatform
from tests.portal.test_inbox import csrf_of
from tests.portal.test_pages import BASE, login

PENDING = "91440703MA4W000009"
AGENCY = "91440700MA4UAAAA1X"


def last(fake: FakePlatform, path: str) -> httpx.Request:
    return [c for c in fake.calls if c.url.path == path][-1]


async def test_the_queue_is_pending_by_default_and_filters(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    r = await client.get("/portal/organisations")
    assert r.status_code == 200, r.text
    assert dict(last(fake, "/api/v1/organisations").url.params)["status"] == "pending"
    assert "&lt;script&gt;" in r.text and "<script>alert" not in r.text and f'id="decide-{PENDING}"' in r.text
    assert "江门市安泰" not in r.text and 'href="/portal/organisations"' in r.text
    r = await client.get("/portal/organisations", params={"status": "", "district": "440703", "kind": "enterprise"})
    sent = dict(last(fake, "/api/v1/organisations").url.params)
    assert "status" not in sent and sent["district"] == "440703" and sent["kind"] == "enterprise"
    r = await client.get("/portal/organisations", params={"status": "bogus", "district": "'; drop", "kind": "x"})
    assert r.status_code == 200
    assert set(dict(last(fake, "/api/v1/organisations").url.params)) == {"limit"}
    r = await client.get("/portal/organisations", params={"lang": "en"})
    assert "Organisations" in r.text and "Record the decision" in r.text and "Verify" in r.text


async def test_verify_sends_the_decision_and_the_version(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    page = (await client.get("/portal/organisations")).text
    r = await client.post(
        f"/portal/organisations/{PENDING}/verify",
        data={"csrf": csrf_of(page), "version": "1", "decision": "verify", "comments": " 材料齐全 "},
    )
    assert r.status_code == 303 and r.headers["location"] == "/portal/organisations?ok=org_verified"
    call = last(fake, f"/api/v1/organisations/{PENDING}/verify")
    assert call.headers["if-match"] == '"1"'
    assert json.loads(call.content) == {"decision": "verify", "comments": "材料齐全"}
    assert fake.orgs[0]["status"] == "verified"
    assert "组织已核验" in (await client.get(r.headers["location"])).text


async def test_the_apis_problem_is_by_the_rows_field(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    page = (await client.get("/portal/organisations")).text
    r = await client.post(
        f"/portal/organisations/{PENDING}/verify", data={"csrf": csrf_of(page), "version": "1", "decision": "reject"}
    )
    assert r.status_code == 422
    assert f'id="comments-{PENDING}-error"' in r.text and "驳回须说明理由" in r.text and 'aria-invalid="true"' in r.text
    assert 'value="reject" required checked' in r.text
    r = await client.post(
        f"/portal/organisations/{PENDING}/verify", data={"csrf": csrf_of(page), "version": "0", "decision": "verify"}
    )
    assert r.status_code == 412 and "记录已被他人修改" in r.text
    r = await client.post("/portal/organisations/bad!/verify", data={"csrf": csrf_of(page)})
    assert r.status_code == 404


async def test_not_for_an_agency(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake, role="agency", district=None, org_uscc=AGENCY)
    assert (await client.get("/portal/organisations")).status_code == 403


async def test_my_organisation_members_and_invitation(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake, role="agency", district=None, org_uscc=AGENCY, org_admin=True)
    r = await client.get("/portal/organisation")
    assert r.status_code == 200, r.text
    assert "江门市安泰安全技术服务有限公司" in r.text and "已核验" in r.text and "li.gong" in r.text
    assert 'id="remove-acc-2"' in r.text and 'id="remove-acc-1"' not in r.text  # not the admin
    r = await client.post("/portal/organisation/invitations", data={"csrf": csrf_of(r.text)})
    assert r.status_code == 200 and "INV-7Q2K-9XPA" in r.text and "只显示这一次" in r.text
    assert r.headers["cache-control"] == "no-store"
    assert last(fake, f"/api/v1/organisations/{AGENCY}/invitations").method == "POST"
    r = await client.post("/portal/organisation/members/acc-2/remove", data={"csrf": csrf_of(r.text)})
    assert r.status_code == 303 and r.headers["location"] == "/portal/organisation?ok=member_removed"
    assert last(fake, f"/api/v1/organisations/{AGENCY}/members/acc-2").method == "DELETE"
    r = await client.get("/portal/organisation", params={"lang": "en", "ok": "member_removed"})
    assert "My organisation" in r.text and "The member is removed." in r.text and "li.gong" not in r.text


async def test_a_member_who_is_not_admin_sees_the_status_only(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake, role="agency", district=None, org_uscc=AGENCY)
    r = await client.get("/portal/organisation")
    assert r.status_code == 200 and "已核验" in r.text and 'id="invite"' not in r.text
    assert not [c for c in fake.calls if c.url.path.endswith("/members")]


async def test_login_and_gateway_down(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    r = await client.get("/portal/organisations")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")
    await login(client, fake)
    fake.down.add("gateway")
    r = await client.get("/portal/organisations")
    assert r.status_code in (303, 503)  # the session cannot be refreshed or the API is down: never a 500


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(st.sampled_from(["status", "kind", "district", "cursor", "lang"]), st.text(max_size=200)),
    text=st.text(max_size=200),
)
async def test_no_input_gives_a_500(params: dict[str, str], text: str) -> None:
    fake = FakePlatform()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app()), base_url=BASE) as c:
        await login(c, fake)
        r = await c.get("/portal/organisations", params=params)
        assert r.status_code < 500 or r.status_code == 503
        r = await c.post(
            f"/portal/organisations/{PENDING}/verify",
            data={"csrf": csrf_of(r.text), "version": text, "decision": text, "comments": text},
        )
        assert r.status_code < 500, r.status_code
