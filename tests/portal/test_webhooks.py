"""Webhooks (SPEC §15) in-process against the fake gateway: list, subscribe (the secret shown once,
on the answer page only), the API's problem by its field, delete, one subscription's deliveries,
retry one; both languages; an organisation's non-admin member gets the API's 403 as a page;
401 → login; notify down; no 500."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from portal.pages.webhooks import events_of
from tests.portal.fakes import FakePlatform
from tests.portal.test_inbox import csrf_of
from tests.portal.test_pages import BASE, login

HOOK = "00000001-0000-0000-0000-00000000000a"
DELIVERY = "0000000d-0000-0000-0000-000000000001"


def sent(fake: FakePlatform, method: str, path: str) -> list[httpx.Request]:
    return [c for c in fake.calls if c.method == method and c.url.path == path]


async def subscribe(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    page = (await client.get("/portal/webhooks")).text
    idem = page.split('name="idem" value="', 1)[1].split('"', 1)[0]
    return await client.post("/portal/webhooks", data={"csrf": csrf_of(page), "idem": idem, **fields})


async def test_subscribe_shows_the_secret_once(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    r = await client.get("/portal/webhooks")
    assert r.status_code == 200 and "尚无回调订阅" in r.text and 'id="webhook-form"' in r.text
    assert 'href="/portal/webhooks"' in r.text  # in the bureau's menu
    r = await subscribe(
        client, url="https://hooks.example.com/x", events="agency.approved, contract.filed\nagency.approved"
    )
    assert r.status_code == 200, r.text
    assert "whsec_c2VjcmV0LXNob3duLW9uY2U=" in r.text and "只显示这一次" in r.text
    assert r.headers["cache-control"] == "no-store"
    call = sent(fake, "POST", "/api/v1/webhooks")[-1]
    assert call.headers.get("idempotency-key")
    import json

    assert json.loads(call.content) == {
        "url": "https://hooks.example.com/x",
        "events": ["agency.approved", "contract.filed"],
        "description": None,
    }
    r = await client.get("/portal/webhooks")
    assert "https://hooks.example.com/x" in r.text and "whsec_" not in r.text
    assert f'href="/portal/webhooks/{HOOK}"' in r.text and "正常" in r.text
    r = await client.get("/portal/webhooks", params={"lang": "en"})
    assert "Webhooks" in r.text and "Active" in r.text and "Subscribe" in r.text


async def test_the_apis_problem_is_shown_by_its_field(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    r = await subscribe(client, url="http://10.0.0.1/x", events="agency.approved", description="内网")
    assert r.status_code == 422
    assert 'id="f-url-error"' in r.text and "须为 https 地址" in r.text and 'aria-invalid="true"' in r.text
    assert 'value="http://10.0.0.1/x"' in r.text and 'value="内网"' in r.text  # the input is kept
    assert not fake.hooks


async def test_deliveries_retry_and_delete(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    await subscribe(client, url="https://hooks.example.com/x", events="agency.approved")
    r = await client.get(f"/portal/webhooks/{HOOK}")
    assert r.status_code == 200
    assert "agency.approved" in r.text and "ev-1" in r.text and "timeout &lt;b&gt;" in r.text
    assert f'action="/portal/webhooks/{HOOK}/deliveries/{DELIVERY}/retry"' in r.text
    csrf = csrf_of(r.text)
    r = await client.post(f"/portal/webhooks/{HOOK}/deliveries/{DELIVERY}/retry", data={"csrf": csrf})
    assert r.status_code == 303 and r.headers["location"] == f"/portal/webhooks/{HOOK}?ok=webhook_retry"
    assert sent(fake, "POST", f"/api/v1/webhooks/{HOOK}/deliveries/{DELIVERY}/retry")
    assert "已重新排队投递" in (await client.get(r.headers["location"])).text
    r = await client.post(f"/portal/webhooks/{HOOK}/delete", data={"csrf": "forged"})
    assert r.status_code == 400 and fake.hooks
    r = await client.post(f"/portal/webhooks/{HOOK}/delete", data={"csrf": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/portal/webhooks?ok=webhook_deleted"
    assert sent(fake, "DELETE", f"/api/v1/webhooks/{HOOK}") and not fake.hooks
    r = await client.get(f"/portal/webhooks/{HOOK}")
    assert r.status_code == 404
    r = await client.get("/portal/webhooks/not-an-id!")
    assert r.status_code == 404


async def test_an_organisation_member_who_is_not_its_admin(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake, role="agency", district=None, org_uscc="91440700MA4UAAAA1X")
    r = await client.get("/portal/inbox")
    assert 'id="webhooks-link"' not in r.text
    r = await client.get("/portal/webhooks")
    assert r.status_code == 403 and "仅组织管理员可管理回调" in r.text


async def test_an_organisation_admin_finds_them_from_the_inbox(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake, role="enterprise", district=None, org_uscc="91440703MA4W000001", org_admin=True)
    r = await client.get("/portal/inbox")
    assert 'id="webhooks-link"' in r.text
    assert (await client.get("/portal/webhooks")).status_code == 200


async def test_notify_down_and_login(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    assert (await client.get("/portal/webhooks")).headers["location"].startswith("/portal/login")
    await login(client, fake)
    page = (await client.get("/portal/webhooks")).text
    fake.down.add("notify")
    r = await client.get("/portal/webhooks")
    assert r.status_code == 503 and "服务暂时不可用" in r.text
    r = await client.post("/portal/webhooks", data={"csrf": csrf_of(page), "url": "https://a.example/x", "events": "x"})
    assert r.status_code == 503  # the list cannot be shown either: a friendly page
    r = await client.post(f"/portal/webhooks/{HOOK}/deliveries/{DELIVERY}/retry", data={"csrf": csrf_of(page)})
    assert r.status_code == 503
    fake.down.clear()
    fake.refused_tokens.add("Bearer ")
    r = await client.get("/portal/webhooks")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")


def test_events_as_typed() -> None:
    assert events_of(" a.b, c.d\n a.b 、e.f；g.h ") == ["a.b", "c.d", "e.f", "g.h"]
    assert events_of("") == []


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300), page=st.sampled_from(["/portal/webhooks", f"/portal/webhooks/{HOOK}"]))
async def test_no_input_gives_a_500(text: str, page: str) -> None:
    fake = FakePlatform()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app()), base_url=BASE) as c:
        await login(c, fake)
        r = await c.get(page, params={"cursor": text, "lang": text})
        assert r.status_code < 500 or r.status_code == 503
        html = (await c.get("/portal/webhooks")).text
        r = await c.post("/portal/webhooks", data={"csrf": csrf_of(html), "url": text, "events": text})
        assert r.status_code < 500, r.status_code
