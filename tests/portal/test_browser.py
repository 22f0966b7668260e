"""The portal in a real headless Chromium against the real platform (every service and the gateway
as processes, SQLite + the embedded NATS), seeded through the public API by ``custody demo``'s
seeder: the public directory filters and shows a newly approved agency; a bureau logs in through
the OAuth form and sees its dashboard with its queues — in zh-CN and in English. Screenshots of each
page go to docs/screenshots/.

Chromium is Debian's package (``apt-get install -y chromium``), driven by Playwright with
``executable_path``: Playwright's own browser download does not work here.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from cli.demo import DEMO_PASSWORD, Seeder, uscc_for
from devtools.testing.platform import ADMIN_ID, ADMIN_SECRET, Platform

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# docs/screenshots/ is refreshed on request (CUSTODY_UPDATE_SCREENSHOTS=1), so that a test run does
# not leave the working tree dirty; otherwise the screenshots go to a temporary directory.
SCREENSHOTS = (
    DOCS_SCREENSHOTS
    if os.environ.get("CUSTODY_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "custody-portal-screenshots"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TEXT = {
    "zh-CN": {
        "title": "已备案安全中介机构公示名单",
        "search": "搜索",
        "dashboard": "监管看板",
        "city": "全市（各区县对比）",
        "filings": "待审核的机构备案",
        "contracts": "待备案的托管协议",
        "complaints": "待通报的投诉",
        "district": "新会区",
        "submit": "登录",
    },
    "en": {
        "title": "Filed safety agencies",
        "search": "Search",
        "dashboard": "Dashboard",
        "city": "Whole city",
        "filings": "Agency filings to review",
        "contracts": "Contracts to file",
        "complaints": "Complaints to forward",
        "district": "Xinhui District",
        "submit": "Sign in",
    },
}


@pytest.fixture(scope="module")
async def browser():
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if executable is None:
        pytest.fail(
            "Debian's chromium is not installed: apt-get install -y chromium (the Makefile's test target does it)"
        )
    async with async_playwright() as p:
        instance = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


async def _new_page(browser, platform: Platform, *, lang: str, mobile: bool = False):
    context = await browser.new_context(
        base_url=platform.url,
        locale="en-US" if lang == "en" else "zh-CN",
        viewport={"width": 390, "height": 844} if mobile else {"width": 1280, "height": 900},
    )
    page = await context.new_page()
    page.set_default_timeout(15_000)
    return context, page


async def _approve_new_agency(platform: Platform, demo, lang: str) -> dict:
    """A new agency files and the city bureau approves it — through the API, now."""
    import httpx

    async with httpx.AsyncClient(base_url=platform.url, timeout=20.0) as client:
        seeder = Seeder(client, admin_id=ADMIN_ID, admin_secret=ADMIN_SECRET)
        bureau, _ = await seeder.account(f"{demo.bureau_username}", "bureau", district="440700")
        stamp = str(int(time.time() * 1000))[-6:]
        name = f"新会区新批准安全技术有限公司{stamp}" if lang == "zh-CN" else f"新会区 Newly Approved Safety Co {stamp}"
        return await seeder.new_agency(
            name,
            "440705",
            ["440705", "440781"],
            ["textiles", "machinery"],
            ["何志明", "卢嘉欣"],
            uscc=uscc_for("browser", int(stamp), "440705", lang),
            approve_with=bureau,
        )


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
async def test_directory_filters_and_shows_a_newly_approved_agency(
    platform: Platform, demo, browser, lang: str
) -> None:
    agency = await _approve_new_agency(platform, demo, lang)
    assert agency["status"] == "approved" and agency["filing_no"]
    context, page = await _new_page(browser, platform, lang=lang)
    try:
        await page.goto(f"/?lang={lang}")
        assert TEXT[lang]["title"] in await page.inner_text("h1")
        # every seeded approved agency is listed before filtering
        assert await page.locator("table#directory tbody tr").count() >= 2
        # filter: district (it serves Xinhui), industry, and a keyword
        await page.select_option("select[name=district]", "440705")
        await page.select_option("select[name=industry]", "textiles")
        await page.fill("input[name=q]", agency["name"])
        await page.click("#search")
        await page.wait_for_url(lambda url: "q=" in url)
        rows = page.locator("table#directory tbody tr")
        assert await rows.count() == 1
        row_text = await rows.first.inner_text()
        assert agency["name"] in row_text and agency["filing_no"] in row_text and TEXT[lang]["district"] in row_text
        assert str(agency["valid_until"]) in row_text
        # a filter that excludes it
        await page.select_option("select[name=industry]", "fireworks")
        await page.click("#search")
        await page.wait_for_url(lambda url: "industry=fireworks" in url)
        assert await page.locator("table#directory tbody tr").count() == 0
        assert await page.locator("#empty").is_visible()
        # the policy link
        await page.goto("/")
        await page.click("#policy-link")
        await page.wait_for_url(lambda url: url.endswith("/policy"))
        assert await page.locator("table.policy tbody tr").count() >= 8
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"policy-{lang}.png"), full_page=True)
        await page.goto("/")
        await page.screenshot(path=str(SCREENSHOTS / f"directory-{lang}.png"), full_page=True)
    finally:
        await context.close()
    if lang == "zh-CN":  # readable on a phone
        context, page = await _new_page(browser, platform, lang=lang, mobile=True)
        try:
            await page.goto("/")
            assert await page.locator("table#directory tbody tr").count() >= 2
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 400, f"the directory scrolls sideways on a phone ({width}px)"
            await page.screenshot(path=str(SCREENSHOTS / "directory-mobile-zh-CN.png"), full_page=True)
        finally:
            await context.close()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
async def test_bureau_logs_in_and_sees_its_dashboard_and_queues(platform: Platform, demo, browser, lang: str) -> None:
    context, page = await _new_page(browser, platform, lang=lang)
    try:
        await page.goto(f"/?lang={lang}")
        await page.click("#login")
        await page.wait_for_url(lambda url: "/oauth/authorize" in url)
        await page.fill("input[name=username]", demo.bureau_username)
        await page.fill("input[name=password]", DEMO_PASSWORD)
        if lang == "zh-CN":
            await page.screenshot(path=str(SCREENSHOTS / "login-zh-CN.png"))
        await page.click("button[type=submit]")
        await page.wait_for_url(lambda url: url.endswith("/portal/dashboard"))
        assert TEXT[lang]["dashboard"] in await page.inner_text("h1")
        assert TEXT[lang]["city"] in await page.inner_text("#scope")
        filings = await page.inner_text("#queue-filings")
        contracts = await page.inner_text("#queue-contracts")
        complaints = await page.inner_text("#queue-complaints")
        assert TEXT[lang]["filings"] in filings and "江海区新安安全服务有限公司" in filings
        assert TEXT[lang]["contracts"] in contracts and "江门市江海区信达电子厂" in contracts
        assert TEXT[lang]["complaints"] in complaints
        assert await page.locator("#queue-complaints tbody tr").count() >= 1
        assert await page.locator("figure.chart-box svg").count() >= 6
        assert int(await page.inner_text(".tile-active .value")) >= 2
        await page.screenshot(path=str(SCREENSHOTS / f"dashboard-{lang}.png"), full_page=True)
        # an export with the same filters, as the signed-in bureau
        response = await page.request.get("/portal/exports/contracts.csv?status=filing")
        assert response.status == 200
        assert "江门市江海区信达电子厂" in (await response.body()).decode("utf-8-sig")
        # log out: the dashboard asks for a login again
        await page.click("#logout")
        await page.wait_for_url(lambda url: url.endswith("/?ok=logged_out"))
        await page.goto("/portal/dashboard")
        await page.wait_for_url(lambda url: "/oauth/authorize" in url)
    finally:
        await context.close()


async def test_event_documentation_page(platform: Platform, browser) -> None:
    context, page = await _new_page(browser, platform, lang="zh-CN")
    try:
        await page.goto("/asyncapi")
        assert await page.locator("section.event").count() >= 20
        await page.screenshot(path=str(SCREENSHOTS / "asyncapi-zh-CN.png"))
        response = await page.request.get("/asyncapi.json")
        assert response.status == 200 and (await response.json())["asyncapi"].startswith("3.")
    finally:
        await context.close()
