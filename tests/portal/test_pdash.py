"""The dashboard's watch lists (SPEC §17, §18; issue #19): open supervision cases with their clocks,
noncompliant agencies, filings ending within 30 days; and sign-up with an invitation code and the
organisation's status (SPEC §14, §21). Against the fake gateway (tests/portal/fakes.py)."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.portal.fakes import FakePlatform
from tests.portal.test_pages import login

REPORTED = "0000000c-0000-0000-0000-000000000001"


def _csrf(html: str) -> str:
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def _section(html: str, ident: str) -> str:
    return html.split(f'id="{ident}"', 1)[1].split("</section>", 1)[0]


def _tile(html: str, key: str) -> str:
    return html.split(f'class="tile tile-{key}"><span class="value">', 1)[1].split("<", 1)[0]


# --- the dashboard ------------------------------------------------------------------------------------
async def test_city_dashboard_shows_the_open_cases_with_their_clocks(client: httpx.AsyncClient, fake: FakePlatform):
    await login(client, fake)
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200, r.text
    html = r.text
    assert _tile(html, "sup_open") == "3"  # reported, acknowledged, listed; none closed
    assert _tile(html, "sup_late") == "1"  # the reported one's acknowledgement is overdue
    cases = _section(html, "queue-supervision")
    assert f'href="/portal/supervision/{REPORTED}"' in cases and "确认已超时" in cases
    assert "000000000002" not in cases  # acknowledged: not waiting
    assert 'href="/portal/supervision?status=reported"' in cases
    chart = html.split('id="chart-supervision"', 1)[1].split("</figure>", 1)[0]
    assert "<svg" in chart and "<table" in chart and "待确认督办" in chart  # its numbers as a table too
    sent = [dict(c.url.params) for c in fake.calls if c.url.path == "/api/v1/supervision/counts"]
    assert {p.get("overdue_ack") for p in sent} == {None, "true"}
    assert all(p.get("by") == "district,status" for p in sent)
    listed = [dict(c.url.params) for c in fake.calls if c.url.path == "/api/v1/supervision"]
    assert listed and all(p.get("status") == "reported" and p.get("limit") == "50" for p in listed)
    en = (await client.get("/portal/dashboard", params={"lang": "en"})).text
    assert "Supervision cases to acknowledge" in en and "Acknowledgement" in en and "h overdue" in en


async def test_noncompliant_agencies_and_expiring_filings(client: httpx.AsyncClient, fake: FakePlatform):
    await login(client, fake)
    html = (await client.get("/portal/dashboard")).text
    flagged = _section(html, "queue-noncompliant")
    assert 'href="/portal/agencies/a1"' in flagged and "江门市安泰安全技术服务有限公司" in flagged
    assert "a3" not in flagged and "新会区平安" not in flagged  # listed by the fake, not flagged
    assert _tile(html, "noncompliant") == "1" and _tile(html, "filings_expiring") == "1"
    assert 'id="chart-noncompliant"' in html and 'id="chart-filings_expiring"' in html
    sent = {c.url.path + "?" + str(c.url.query, "ascii") for c in fake.calls}
    assert any("/api/v1/agencies/counts?" in s and "noncompliant=true" in s for s in sent)
    assert any("/api/v1/agencies?" in s and "noncompliant=true" in s and "limit=50" in s for s in sent)
    assert any("valid_until_before=" in s and "status=approved" in s for s in sent)
    en = (await client.get("/portal/dashboard", params={"lang": "en"})).text
    assert "Agencies below the staffing minimums" in en and "Filings ending within 30 days" in en


async def test_a_district_bureau_sees_only_its_district(client: httpx.AsyncClient, fake: FakePlatform):
    await login(client, fake, district="440705", username="xh-bureau")
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200
    assert REPORTED not in r.text and "/portal/agencies/a1" not in r.text  # both 440703
    assert _tile(r.text, "sup_open") == "0" and _tile(r.text, "noncompliant") == "0"
    watched = [
        dict(c.url.params)
        for c in fake.calls
        if c.url.path in ("/api/v1/supervision", "/api/v1/supervision/counts")
        or "noncompliant" in str(c.url.query, "ascii")
    ]
    # the five watch-list calls and the district's supervision cases counted by town (its town table)
    assert len(watched) == 6 and all(p.get("district") == "440705" for p in watched)


async def test_audit_down_leaves_the_watch_lists_that_answer(client: httpx.AsyncClient, fake: FakePlatform):
    await login(client, fake)
    fake.down.add("audit")
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200 and "部分数据暂时无法获取" in r.text and "重大隐患督办" in r.text
    assert 'id="queue-noncompliant"' in r.text and "/portal/agencies/a1" in r.text
    assert "tile-sup_open" not in r.text


async def test_an_expired_token_on_the_dashboard_goes_to_login(client: httpx.AsyncClient, fake: FakePlatform):
    await login(client, fake)
    fake.refused_tokens.add("Bearer ")
    r = await client.get("/portal/dashboard")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.dictionaries(st.sampled_from(["status", "district", "lang", "x", "overdue_ack"]), st.text(max_size=30)))
async def test_no_500_on_any_query_string(client: httpx.AsyncClient, fake: FakePlatform, query: dict[str, str]):
    await login(client, fake)
    r = await client.get("/portal/dashboard", params=query)
    assert r.status_code < 500


# --- sign-up ------------------------------------------------------------------------------------------
FORM = {
    "role": "agency",
    "org_uscc": "91440703MA4W00000P",
    "display_name": "江门新安",
    "username": "xinan",
    "password": "secret-123",
    "password2": "secret-123",
}


async def _signup(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    page = await client.get("/portal/signup")
    return await client.post("/portal/signup", data={"csrf": _csrf(page.text), **FORM, **fields})


async def test_signup_form_has_the_invitation_field_in_both_languages(client: httpx.AsyncClient):
    zh = (await client.get("/portal/signup")).text
    assert 'name="invitation"' in zh and "邀请码" in zh and 'aria-describedby="f-invitation-help"' in zh
    assert (
        'name="invitation" type="text" value=""' in zh and 'name="invitation" type="text" value="" required' not in zh
    )
    en = (await client.get("/portal/signup", params={"lang": "en"})).text
    assert "Invitation code" in en


async def test_the_first_account_opens_a_pending_organisation_and_is_told_what_it_may_do(
    client: httpx.AsyncClient, fake: FakePlatform
):
    r = await _signup(client)
    assert r.status_code == 201, r.text
    sent = [c for c in fake.calls if c.url.path == "/api/v1/accounts"][-1]
    assert b'"invitation"' not in sent.content  # no code: opens the organisation
    assert 'id="org-pending"' in r.text and "待核验" in r.text
    assert "核验前可以" in r.text and "等待" in r.text and 'id="joined"' not in r.text
    en = await _signup(client, lang="en")
    assert en.status_code == 201


async def test_the_pending_page_in_english(client: httpx.AsyncClient):
    page = await client.get("/portal/signup", params={"lang": "en"})
    r = await client.post("/portal/signup", data={"csrf": _csrf(page.text), **FORM})
    assert "Until then you may" in r.text and "Waiting for" in r.text


async def test_an_invitation_joins_the_organisation(client: httpx.AsyncClient, fake: FakePlatform):
    r = await _signup(client, org_uscc="91440703MA4W00000X", invitation="  code-123 ")
    assert r.status_code == 201, r.text
    sent = [c for c in fake.calls if c.url.path == "/api/v1/accounts"][-1]
    assert b'"invitation":"code-123"' in sent.content.replace(b" ", b"")
    assert 'id="joined"' in r.text and "已核验" in r.text and 'id="org-pending"' not in r.text


async def test_a_registered_organisation_without_a_code_is_told_by_the_field(client: httpx.AsyncClient):
    r = await _signup(client, org_uscc="91440703MA4W00000X")
    assert r.status_code == 409
    assert 'id="f-invitation-error"' in r.text and "邀请码" in r.text and "已在平台登记" in r.text
    assert 'value="xinan"' in r.text and "secret-123" not in r.text


async def test_a_used_code_is_shown_by_the_field(client: httpx.AsyncClient):
    r = await _signup(client, org_uscc="91440703MA4W00000X", invitation="USED-CODE")
    assert r.status_code == 409
    assert 'id="f-invitation-error">无效</p>' in r.text and "邀请码无效" in r.text
    assert 'value="USED-CODE"' in r.text  # kept, to correct


async def test_signup_with_the_gateway_down_is_a_message(client: httpx.AsyncClient, fake: FakePlatform):
    page = await client.get("/portal/signup")
    fake.down.add("gateway")
    r = await client.post("/portal/signup", data={"csrf": _csrf(page.text), **FORM, "invitation": "c"})
    assert r.status_code == 503 and "服务暂时不可用" in r.text


# --- against the real platform (tests/portal/conftest.py) ----------------------------------------------
async def test_the_watch_lists_against_the_real_services(platform, demo) -> None:
    from tests.portal.test_live import _signed_in

    for username in (demo.bureau_username, demo.district_bureaus["440704"]):
        client = await _signed_in(platform, username)
        try:
            r = await client.get("/portal/dashboard")
            assert r.status_code == 200, r.text
            assert "部分数据暂时无法获取" not in r.text  # every call accepted, its parameters too
            for ident in ('id="queue-supervision"', 'id="queue-noncompliant"', "tile-sup_open", "tile-sup_late"):
                assert ident in r.text, ident
            assert "tile-noncompliant" in r.text and "tile-filings_expiring" in r.text
        finally:
            await client.aclose()


async def test_signup_against_the_real_gateway(platform, demo) -> None:
    from cli.demo import uscc_for

    uscc = uscc_for("agency", 1, "440703", tag="pdash-signup")
    async with httpx.AsyncClient(base_url=platform.url, timeout=20.0) as client:

        async def post(username: str, **extra: str) -> httpx.Response:
            page = await client.get("/portal/signup")
            form = {**FORM, "org_uscc": uscc, "username": username, **extra}
            return await client.post("/portal/signup", data={"csrf": _csrf(page.text), **form})

        first = await post("pdash-first")
        assert first.status_code == 201, first.text
        assert 'id="org-pending"' in first.text and "核验前可以" in first.text
        second = await post("pdash-second")  # the organisation exists: a code is needed
        assert second.status_code == 409 and 'id="f-invitation-error"' in second.text
        wrong = await post("pdash-third", invitation="not-a-code")
        assert wrong.status_code == 409 and 'id="f-invitation-error"' in wrong.text
