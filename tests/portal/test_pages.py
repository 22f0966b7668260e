"""Portal pages rendered in-process against a fake gateway (tests/portal/fakes.py): the directory
and its filters, languages, escaping, the OAuth login and the encrypted session, CSRF, the dashboard
for the city and a district bureau, streamed exports, the AsyncAPI document, and no 500 whatever the
input."""

from __future__ import annotations

import io
import json
from urllib.parse import parse_qs, urlsplit

import httpx
import openpyxl
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from portal import session as portal_session
from tests.portal.conftest import BASE
from tests.portal.fakes import NASTY, FakePlatform


def sealer() -> portal_session.Sealer:
    return portal_session.Sealer(portal_session.derive_key("fake-portal-secret", None))


async def login(client: httpx.AsyncClient, fake: FakePlatform, **claims) -> httpx.Response:
    fake.token_claims.update(claims)
    r = await client.get("/portal/login", params={"next": "/portal/dashboard"})
    assert r.status_code == 303
    location = urlsplit(r.headers["location"])
    assert location.path == "/oauth/authorize"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["client_id"] == "custody-portal" and query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == f"{BASE}/portal/callback"
    r = await client.get("/portal/callback", params={"code": "good-code", "state": query["state"]})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/portal/dashboard"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    return r


async def test_directory_is_chinese_first_and_escapes_names(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["content-language"] == "zh-CN"
    html = r.text
    assert "已备案安全中介机构公示名单" in html
    assert "JM-TG-2026-0001" in html and "江门市安泰安全技术服务有限公司" in html
    assert "蓬江区" in html and "江海区" in html and "机械" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "DROP TABLE agencies;--" in html
    assert 'href="/policy"' in html and 'id="next-page"' in html
    scripts = [line for line in html.splitlines() if "<script" in line and "&lt;script" not in line]
    assert scripts == ['<script src="/portal/static/portal.js" defer></script>']  # one file, nothing inline
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp


async def test_english_switch_is_remembered(client: httpx.AsyncClient) -> None:
    r = await client.get("/", params={"lang": "en"})
    assert r.status_code == 200 and "Filed safety agencies" in r.text and "Pengjiang District" in r.text
    assert r.headers["content-language"] == "en"
    r = await client.get("/")
    assert "Filed safety agencies" in r.text  # the cookie remembers
    r = await client.get("/", params={"lang": "zh-CN"})
    assert "公示名单" in r.text


async def test_accept_language_english(fake: FakePlatform) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app()), base_url=BASE, headers={"Accept-Language": "en-US,en;q=0.9"}
    ) as c:
        assert "Filed safety agencies" in (await c.get("/")).text


async def test_filters_go_to_the_directory_and_bad_ones_are_dropped(
    client: httpx.AsyncClient, fake: FakePlatform
) -> None:
    r = await client.get("/", params={"grade": "a", "district": "440703", "industry": "machinery", "q": "安泰"})
    assert r.status_code == 200
    sent = dict(fake.calls[-1].url.params)
    assert (
        sent["grade"] == "A"
        and sent["district"] == "440703"
        and sent["industry"] == "machinery"
        and sent["q"] == "安泰"
    )
    assert "JM-TG-2026-0001" in r.text and "JM-TG-2026-0002" not in r.text
    assert 'value="440703" selected' in r.text
    r = await client.get("/", params={"district": "999999", "industry": "'; drop", "grade": "Z"})
    assert r.status_code == 200
    assert "district" not in dict(fake.calls[-1].url.params)
    assert "筛选条件无效" in r.text


async def test_registry_down_is_a_friendly_page(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    fake.down.add("registry")
    r = await client.get("/")
    assert r.status_code == 503 and "服务暂时不可用" in r.text
    r = await client.get("/policy")
    assert r.status_code == 503 and "服务暂时不可用" in r.text


async def test_bad_cursor_is_a_message_not_an_error(client: httpx.AsyncClient) -> None:
    r = await client.get("/", params={"cursor": "bad"})
    assert r.status_code == 200 and "请求无效" in r.text


async def test_policy_page(client: httpx.AsyncClient) -> None:
    r = await client.get("/policy")
    assert r.status_code == 200
    assert "江门市企业安全生产委托管理实施方案" in r.text and "备案有效期" in r.text and "10%" in r.text
    r = await client.get("/policy", params={"lang": "en"})
    assert "Filing validity" in r.text


async def test_dashboard_needs_login(client: httpx.AsyncClient) -> None:
    r = await client.get("/portal/dashboard")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")


async def test_login_flow_and_city_dashboard(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200, r.text
    html = r.text
    assert "全市（各区县对比）" in html and "jm-bureau" in html
    assert html.count("<svg") >= 6
    for queue in ("queue-filings", "queue-contracts", "queue-complaints"):
        assert f'id="{queue}"' in html
    assert "新会区平安安全咨询有限公司" in html and "新会塑料制品厂" in html and "三个月没来检查" in html
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert r.headers["cache-control"] == "no-store"
    # every token the portal used is the bureau's
    assert all(
        c.headers.get("authorization", "").startswith("Bearer ")
        for c in fake.calls
        if "/api/v1/contracts" in c.url.path
    )
    r = await client.get("/portal/dashboard", params={"lang": "en"})
    assert "Whole city" in r.text and "Agency filings to review" in r.text


async def test_district_bureau_sees_its_district(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake, district="440703", username="pj-bureau")
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200
    assert "辖区：蓬江区" in r.text
    assert "新会区平安安全咨询有限公司" not in r.text  # 440705 is not its district
    sent = [dict(c.url.params) for c in fake.calls if c.url.path == "/api/v1/contracts"]
    assert sent and all(p.get("district") == "440703" for p in sent)


async def test_not_a_bureau(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake, role="agency", district=None)
    r = await client.get("/portal/dashboard")
    assert r.status_code == 403 and "不能使用此页面" in r.text


async def test_a_service_down_leaves_the_rest_of_the_dashboard(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    fake.down.add("audit")
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200
    assert "部分数据暂时无法获取" in r.text and 'id="chart-contracts"' in r.text


async def test_expired_token_sends_back_to_login(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    fake.refused_tokens.add("Bearer ")
    r = await client.get("/portal/dashboard")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")


async def test_callback_checks_state(client: httpx.AsyncClient) -> None:
    r = await client.get("/portal/callback", params={"code": "good-code", "state": "forged"})
    assert r.status_code == 400 and "登录未完成" in r.text
    r = await client.get("/portal/callback", params={"error": "access_denied"})
    assert r.status_code == 400


async def test_login_keeps_next_on_site(client: httpx.AsyncClient) -> None:
    r = await client.get("/portal/login", params={"next": "https://evil.example/x"})
    cookie = r.cookies.get(portal_session.LOGIN_COOKIE) or ""
    payload = sealer().open(cookie.strip('"'), purpose="login", max_age=600)
    assert payload is not None and payload["next"] == "/portal"


async def test_tampered_session_is_ignored(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    value = client.cookies.get(portal_session.SESSION_COOKIE)
    assert "rt-1" not in value and "access_token" not in value  # encrypted, not just signed
    client.cookies.set(portal_session.SESSION_COOKIE, value[:-3] + "AAA", domain="127.0.0.1")
    r = await client.get("/portal/dashboard")
    assert r.status_code == 303


async def test_logout_is_a_post_with_the_csrf_token(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    assert (await client.get("/portal/logout")).status_code in (404, 405)
    r = await client.post("/portal/logout", data={"csrf": "forged"})
    assert r.status_code == 400 and (await client.get("/portal/dashboard")).status_code == 200
    page = (await client.get("/portal/dashboard")).text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    r = await client.post("/portal/logout", data={"csrf": csrf})
    assert r.status_code == 303
    revoke = [c for c in fake.calls if c.url.path == "/oauth/revoke"][-1]
    assert b"token=rt-1" in revoke.content
    assert (await client.get("/portal/dashboard")).status_code == 303


async def test_directory_exports(client: httpx.AsyncClient) -> None:
    r = await client.get("/portal/exports/directory.csv", params={"grade": "B"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("备案编号,机构名称")
    assert "JM-TG-2026-0002" in text and "JM-TG-2026-0001" not in text
    r = await client.get("/portal/exports/directory.xlsx", params={"lang": "en"})
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert sheet["A1"].value == "Filing no." and sheet["B3"].value == NASTY


async def test_private_exports_need_login_and_neutralise_formulas(
    client: httpx.AsyncClient, fake: FakePlatform
) -> None:
    r = await client.get("/portal/exports/hazards.csv")
    assert r.status_code == 303
    await login(client, fake)
    r = await client.get("/portal/exports/hazards.csv", params={"status": "overdue"})
    assert r.status_code == 200
    assert "'=cmd|" in r.content.decode("utf-8-sig")
    assert dict(fake.calls[-1].url.params)["status"] == "overdue"
    for name in ("contracts", "complaints", "hazards"):
        r = await client.get(f"/portal/exports/{name}.xlsx")
        assert r.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        assert sheet.max_row >= 2
    assert (await client.get("/portal/exports/secrets.csv")).status_code == 404
    assert (await client.get("/portal/exports/contracts.exe")).status_code == 404


async def test_asyncapi(client: httpx.AsyncClient) -> None:
    r = await client.get("/asyncapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["asyncapi"].startswith("3.") and "contract_filed" in doc["channels"]
    r = await client.get("/asyncapi")
    assert r.status_code == 200 and "contract.filed" in r.text and "custody.contract.filed" in r.text


async def test_stylesheet(client: httpx.AsyncClient) -> None:
    r = await client.get("/portal/static/portal.css")
    assert r.status_code == 200 and "@media (max-width: 640px)" in r.text


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(["q", "district", "industry", "grade", "cursor", "lang", "next", "status"]),
        st.text(max_size=300),
        max_size=5,
    ),
    page=st.sampled_from(
        [
            "/",
            "/policy",
            "/portal/login",
            "/portal/callback",
            "/portal/dashboard",
            "/portal/exports/directory.csv",
            "/asyncapi",
        ]
    ),
)
async def test_no_input_gives_a_500(params: dict[str, str], page: str) -> None:
    fake = FakePlatform()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app()), base_url=BASE) as c:
        r = await c.get(page, params=params)
    assert r.status_code < 500 or r.status_code == 503, (page, params, r.status_code)


def test_svg_charts_escape_labels_and_scale() -> None:
    from portal.svg import bar_chart, stacked_bar_chart

    svg = str(bar_chart([("<script>x</script>", 3), ("蓬江区", 0)], title="a & b"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a &amp; b" in svg
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    svg = str(stacked_bar_chart(["Pengjiang", "Jianghai"], [("Active", [2, 0]), ("Filing", [1, 5])], title="t"))
    assert svg.count("<rect") == 2 + 3  # legend squares + non-zero segments
    assert str(bar_chart([], title="empty")).count("<rect") == 0


def test_the_event_docs_are_up_to_date() -> None:
    from pathlib import Path

    from portal import eventdoc

    doc = (Path(__file__).resolve().parents[2] / "docs" / "PORTAL.md").read_text(encoding="utf-8")
    assert eventdoc.markdown() in doc, (
        "the event catalog changed: run `python -m portal.eventdoc --write docs/PORTAL.md`"
    )


async def test_an_expired_access_token_is_refreshed_with_rotation(
    client: httpx.AsyncClient, fake: FakePlatform
) -> None:
    from tests.portal.fakes import fake_jwt

    def session_cookie(rt: str) -> str:
        return sealer().seal(
            {
                "at": fake_jwt(role="bureau", district="440700"),
                "rt": rt,
                "at_exp": 0,
                "csrf": "c" * 40,
                "role": "bureau",
                "district": "440700",
                "exp": 2_000_000_000,
            },
            purpose="session",
        )

    client.cookies.set(portal_session.SESSION_COOKIE, session_cookie("rt-1"), domain="127.0.0.1")
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200
    renewed = sealer().open(r.cookies.get(portal_session.SESSION_COOKIE).strip('"'), purpose="session", max_age=3600)
    assert renewed["rt"] == "rt-2" and renewed["at_exp"] > 0 and renewed["csrf"] == "c" * 40
    refresh = [c for c in fake.calls if c.url.path == "/oauth/token"][-1]
    assert b"grant_type=refresh_token" in refresh.content
    client.cookies.clear()
    client.cookies.set(portal_session.SESSION_COOKIE, session_cookie("revoked"), domain="127.0.0.1")
    r = await client.get("/portal/dashboard")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")


async def test_ensure_portal_client_is_idempotent(tmp_path) -> None:
    from gateway.models import Client
    from gateway.portal_client import PORTAL_CLIENT_ID, ensure_portal_client
    from shared import migrations
    from shared.db import Database
    from shared.settings import Settings

    settings = Settings(_env_file=None, env="test", data_dir=tmp_path, gateway_port=18123)
    db = Database(settings.database_url_for("gateway"), service="gateway")
    try:
        await db.ensure_database()
        await migrations.upgrade(db, "gateway")
        await ensure_portal_client(db, settings)
        await ensure_portal_client(db, settings)
        async with db.reader() as session:
            client = await session.get(Client, PORTAL_CLIENT_ID)
        assert client.secret_hash is None and client.scopes == "custody.read custody.write"
        assert client.grant_types.split() == ["authorization_code", "refresh_token"]
        assert "http://127.0.0.1:18123/portal/callback" in client.redirect_uris.split()
    finally:
        await db.dispose()


def _csrf(html: str) -> str:
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


async def test_a_form_shows_the_apis_message_next_to_its_field_and_keeps_the_input(client: httpx.AsyncClient) -> None:
    page = await client.get("/portal/signup")
    form = {
        "csrf": _csrf(page.text),
        "role": "agency",
        "org_uscc": "BAD",
        "display_name": "<b>安泰</b>",
        "username": "antai",
        "password": "secret-123",
        "password2": "secret-123",
    }
    r = await client.post("/portal/signup", data=form)
    assert r.status_code == 422
    html = r.text
    assert 'id="f-org_uscc-error">统一社会信用代码无效</p>' in html  # next to the field
    assert 'aria-invalid="true"' in html and 'id="form-errors"' in html and "注册信息未通过校验" in html
    assert 'value="&lt;b&gt;安泰&lt;/b&gt;"' in html and 'value="antai"' in html  # the input kept, escaped
    assert "secret-123" not in html  # never a password
    r = await client.post("/portal/signup", data={**form, "org_uscc": "91440700MA4UAAAA1X"})
    assert r.status_code == 201 and 'id="signed-up"' in r.text


async def test_every_form_post_needs_its_csrf_token(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    r = await client.post("/portal/signup", data={"role": "agency", "username": "x"})
    assert r.status_code == 400 and "页面已过期" in r.text
    await login(client, fake)
    for path in ("/portal/contracts/c1/sign", "/portal/complaints/p1/forward", "/portal/agencies/a3/review"):
        r = await client.post(path, data={"csrf": "forged", "version": "1"})
        assert r.status_code == 400, path
    assert not [c for c in fake.calls if c.method == "POST" and c.url.path.startswith("/api/")]


async def test_the_gateway_down_is_a_message_not_a_500(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    page = await client.get("/portal/signup")
    fake.down.add("gateway")
    r = await client.post(
        "/portal/signup",
        data={
            "csrf": _csrf(page.text),
            "role": "agency",
            "org_uscc": "X",
            "display_name": "n",
            "username": "user1",
            "password": "p" * 8,
            "password2": "p" * 8,
        },
    )
    assert r.status_code == 503 and "服务暂时不可用" in r.text and 'value="user1"' in r.text


async def test_csv_exports_are_streamed(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    async with client.stream("GET", "/portal/exports/complaints.csv") as r:
        assert r.status_code == 200 and "content-length" not in r.headers  # streamed, not built whole
        body = b"".join([chunk async for chunk in r.aiter_bytes()])
    assert body.decode("utf-8-sig").splitlines()[0].startswith("投诉ID,状态")


async def test_signing_names_the_terms_shown_and_a_swap_signs_nothing(
    client: httpx.AsyncClient, fake: FakePlatform
) -> None:
    """The sign form carries the hash of the terms on the page (SPEC §9 v2) and the portal sends
    that, not the version: the other party's signature meanwhile does not spoil it; changed terms
    do — 412, the page says so, nothing is signed."""
    await login(client, fake, role="enterprise", org_uscc=fake.draft["enterprise_uscc"], username="wujin")
    page = await client.get("/portal/contracts/c9")
    assert page.status_code == 200, page.text
    assert f'name="content_sha256" value="{"a" * 64}"' in page.text
    form = {"csrf": _csrf(page.text), "version": "2", "content_sha256": "a" * 64}

    # the agency amends the terms after the page was read: the signature is refused
    fake.draft["content_sha256"] = "b" * 64
    r = await client.post("/portal/contracts/c9/sign", data=form)
    assert r.status_code == 412, r.text
    assert "协议条款已变更，签署未生效" in r.text
    assert [s["party"] for s in fake.draft["signatures"]] == ["agency"]

    # the terms as read (only the version moved): signed, with the hash shown and no If-Match
    fake.draft["content_sha256"], fake.draft["version"] = "a" * 64, 3
    r = await client.post("/portal/contracts/c9/sign", data=form)
    assert r.status_code == 303, r.text
    (sent,) = [c for c in fake.calls if c.url.path == "/api/v1/contracts/c9/sign" and c.method == "POST"][-1:]
    assert json.loads(sent.content) == {"content_sha256": "a" * 64}
    assert "if-match" not in sent.headers
    assert [s["party"] for s in fake.draft["signatures"]] == ["agency", "enterprise"]


async def test_a_version_that_is_not_ascii_is_the_apis_problem_not_a_500(
    client: httpx.AsyncClient, fake: FakePlatform
) -> None:
    """A hidden ``version`` field is the person's input: one an HTTP header cannot carry goes to the
    API as an If-Match that matches nothing, so the API answers (412), never the page a 500."""
    await login(client, fake)
    page = await client.get("/portal/complaints/p1")
    csrf = _csrf(page.text)
    for path in ("/portal/complaints/p1/forward", "/portal/agencies/a3/review", "/portal/visits/v1/confirm"):
        r = await client.post(path, data={"csrf": csrf, "version": "版本\u200b", "decision": "approve"})
        assert r.status_code < 500, (path, r.status_code, r.text[:300])
    sent = [c.headers.get("if-match") for c in fake.calls if c.method == "POST" and c.url.path.startswith("/api/")]
    assert sent and all(h in (None, '"unmatchable"') for h in sent), sent


async def test_policy_versions_page_is_public(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    """SPEC §22: every version, newest first, the one in force marked; no login; escaped."""
    r = await client.get("/portal/policy/versions")
    assert r.status_code == 200
    assert "实施方案历次版本" in r.text and "自始施行" in r.text and "2027-01-01" in r.text and "2026-12-01" in r.text
    assert r.text.index("2027.1") < r.text.index("2026.1")  # newest first
    assert "<script>x</script>" not in r.text and "&lt;script&gt;" in r.text
    assert 'href="/portal/policy/versions"' in r.text  # in the public menu
    r = await client.get("/portal/policy/versions", params={"lang": "en"})
    assert "Versions of the implementation plan" in r.text and "From the beginning" in r.text
    fake.down.add("registry")
    r = await client.get("/portal/policy/versions", params={"lang": "zh-CN"})
    assert r.status_code == 503 and "服务暂时不可用" in r.text
