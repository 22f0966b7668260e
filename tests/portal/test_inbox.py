"""The inbox (SPEC §15) in-process against the fake gateway: the list and its filters, mark read,
read all, the unread/urgent count in the header of every page (one summary call per page, failing
soft), item links mapped to portal pages, both languages, 401 → login, notify down, no 500."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from portal.pages.inbox import portal_link
from tests.portal.fakes import FakePlatform
from tests.portal.test_pages import BASE, login

ONE = "00000000-0000-0000-0000-000000000001"
TWO = "00000000-0000-0000-0000-000000000002"


def csrf_of(html: str) -> str:
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def inbox_calls(fake: FakePlatform, path: str) -> list[httpx.Request]:
    return [c for c in fake.calls if c.url.path == path]


async def test_the_inbox_lists_items_in_both_languages_with_portal_links(
    client: httpx.AsyncClient, fake: FakePlatform
) -> None:
    await login(client, fake)
    r = await client.get("/portal/inbox")
    assert r.status_code == 200, r.text
    html = r.text
    assert "<h1>消息" in html and "发现重大隐患" in html and "紧急" in html and "全部标为已读" in html
    assert 'href="/portal/hazards/h1"' in html and 'href="/portal/contracts/c9"' in html
    assert "/api/v1/organisations" not in html  # an organisation has no portal page yet: no link
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert 'id="next-page"' in html and "cursor=n2" in html
    assert inbox_calls(fake, "/api/v1/inbox")[-1].headers["authorization"].startswith("Bearer ")
    r = await client.get("/portal/inbox", params={"lang": "en"})
    assert "Inbox" in r.text and "Mark all read" in r.text and "Urgent" in r.text


async def test_filters_go_to_the_api_and_bad_ones_are_dropped(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    r = await client.get("/portal/inbox", params={"unread": "1", "kind": "hazard.reported"})
    assert r.status_code == 200
    sent = dict(inbox_calls(fake, "/api/v1/inbox")[-1].url.params)
    assert sent["unread"] == "true" and sent["kind"] == "hazard.reported"
    assert "发现重大隐患" in r.text and "协议已签署" not in r.text
    assert 'value="hazard.reported" selected' in r.text and 'name="unread" value="1" checked' in r.text
    r = await client.get("/portal/inbox", params={"kind": "'; drop table", "unread": "maybe"})
    assert r.status_code == 200
    sent = dict(inbox_calls(fake, "/api/v1/inbox")[-1].url.params)
    assert "kind" not in sent and "unread" not in sent


async def test_a_bad_cursor_is_a_message_and_the_first_page(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    r = await client.get("/portal/inbox", params={"cursor": "bad"})
    assert r.status_code == 200 and "分页游标无效" in r.text and "发现重大隐患" in r.text


async def test_mark_read_and_read_all(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    page = (await client.get("/portal/inbox?unread=1")).text
    r = await client.post(f"/portal/inbox/{TWO}/read", data={"csrf": csrf_of(page), "back": "/portal/inbox?unread=1"})
    assert r.status_code == 303 and r.headers["location"] == "/portal/inbox?unread=1&ok=inbox_read"
    assert inbox_calls(fake, f"/api/v1/inbox/{TWO}/read")[-1].method == "POST"
    r = await client.get(r.headers["location"])
    assert "已标为已读" in r.text and "协议已签署" not in r.text
    # "open and mark read": read, then the entity's page — only the page its own link maps to
    r = await client.post(
        f"/portal/inbox/{ONE}/read",
        data={"csrf": csrf_of(page), "link": "/api/v1/hazards/h1", "open": "/portal/hazards/h1"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/portal/hazards/h1"
    r = await client.post(
        f"/portal/inbox/{ONE}/read", data={"csrf": csrf_of(page), "link": "/api/v1/hazards/h1", "open": "https://x.y"}
    )
    assert r.headers["location"] == "/portal/inbox?ok=inbox_read"
    r = await client.post("/portal/inbox/read-all", data={"csrf": csrf_of(page), "back": "//evil.example"})
    assert r.status_code == 303 and r.headers["location"] == "/portal/inbox?ok=inbox_read_all"
    assert all(i["read_at"] for i in fake.inbox)
    r = await client.get("/portal/inbox", params={"unread": "1"})
    assert "没有消息" in r.text and 'id="inbox-count"' not in r.text


async def test_posts_need_the_csrf_token(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    r = await client.post("/portal/inbox/read-all", data={"csrf": "forged"})
    assert r.status_code == 400
    assert not inbox_calls(fake, "/api/v1/inbox/read-all")
    r = await client.post("/portal/inbox/not-an-id!/read", data={"csrf": "forged"})
    assert r.status_code == 404


async def test_the_count_is_in_the_header_of_every_page_one_call_each(
    client: httpx.AsyncClient, fake: FakePlatform
) -> None:
    await login(client, fake)
    for page in ("/portal/dashboard", "/portal/hazards", "/", "/portal/inbox"):
        before = fake.summary_calls
        r = await client.get(page)
        assert r.status_code == 200, page
        assert fake.summary_calls == before + 1, page
        assert 'id="inbox-count"' in r.text and ">3 · 紧急 1</span>" in r.text, page
        assert 'aria-label="3 条未读，其中 1 条紧急"' in r.text
    r = await client.get("/portal/dashboard", params={"lang": "en"})
    assert ">3 · Urgent 1</span>" in r.text
    # not for a download, and not for a visitor
    before = fake.summary_calls
    assert (await client.get("/portal/exports/directory.csv")).status_code == 200
    assert fake.summary_calls == before


async def test_no_count_and_no_call_when_signed_out(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    r = await client.get("/")
    assert r.status_code == 200 and 'id="inbox-link"' not in r.text and fake.summary_calls == 0


async def test_notify_down_costs_the_count_not_the_page(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    fake.down.add("notify")
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200 and 'id="inbox-link"' in r.text and 'id="inbox-count"' not in r.text
    r = await client.get("/portal/inbox")
    assert r.status_code == 503 and "服务暂时不可用" in r.text
    page = (await client.get("/portal/hazards")).text
    r = await client.post("/portal/inbox/read-all", data={"csrf": csrf_of(page)})
    assert r.status_code == 503


async def test_a_refused_token_sends_to_login(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    fake.refused_tokens.add("Bearer ")
    r = await client.get("/portal/inbox")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")


async def test_needs_login(client: httpx.AsyncClient) -> None:
    r = await client.get("/portal/inbox")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")


def test_links_map_to_portal_pages() -> None:
    assert portal_link("/api/v1/agencies/a1") == "/portal/agencies/a1"
    assert portal_link("/api/v1/credit/agencies/a1") == "/portal/agencies/a1"
    assert portal_link("/api/v1/service-logs/s1") == "/portal/visits/s1"
    assert portal_link("/api/v1/compliance/contracts/c1") == "/portal/contracts/c1"
    assert portal_link("/api/v1/complaints/p1") == "/portal/complaints/p1"
    for none in (None, 3, "", "/api/v1/supervision/x", "/api/v1/hazards/../x", "https://evil/api/v1/hazards/h1"):
        assert portal_link(none) is None


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(["unread", "kind", "cursor", "lang", "ok"]), st.text(max_size=300), max_size=4
    ),
)
async def test_no_input_gives_a_500(params: dict[str, str]) -> None:
    fake = FakePlatform()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app()), base_url=BASE) as c:
        await login(c, fake)
        r = await c.get("/portal/inbox", params=params)
        assert r.status_code < 500 or r.status_code == 503, (params, r.status_code)
        r = await c.post("/portal/inbox/read-all", data={"csrf": "x", "back": params.get("kind", "")})
        assert r.status_code < 500
