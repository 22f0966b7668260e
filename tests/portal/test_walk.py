"""Each role's week through pages only, against the real platform (every service, the gateway and
the portal as processes; SQLite + the embedded NATS), in a real Chromium — in zh-CN on a phone, and
in English on a desktop; axe-core on every page, a screenshot of every page (issue #19, phase 1).

An agency signs up, files with its staff, qualifications and a document, submits; the city bureau
approves it. An enterprise signs up, registers, finds the agency in the public list, drafts and
signs a contract (the page shows the terms and their hash); the agency signs and submits it; the
bureau files it. The agency records a visit with its photos and a major hazard (with its photo); the bureau
acknowledges and lists the major hazard's supervision case (SPEC §17) and looks at the agency's
credit file, the disputed visits and the accidents; the enterprise confirms the visit and rectifies
with a photo (its inbox, its credit file); the agency verifies (its inbox); the bureau closes the
case. The agency records a second visit, which the enterprise disputes and the bureau voids from its
queue of disputed visits; the agency declares an engagement (SPEC §20) that the bureau reads on the
agency's page; the bureau drills its dashboard down city → district → town. The enterprise complains; the bureau forwards; the agency responds; the bureau resolves.

SPEC §14 (coming): sign-up opens a *pending* organisation that a bureau verifies. ``verify`` is the
step where the walk will do that through the bureau's verification page.
"""

from __future__ import annotations

import base64
import itertools
import time

import pytest

from cli.demo import DEMO_PASSWORD, uscc_for
from devtools.testing.platform import Platform
from tests.portal.browser import Browsing, chromium_path, open_browsing

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]
PASSWORD = "Walk-the-week-2026"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
_walks = itertools.count(1)


@pytest.fixture(scope="module")
async def browser():
    from playwright.async_api import async_playwright

    from tests.portal.browser import CHROMIUM_ARGS

    async with async_playwright() as p:
        instance = await p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


async def verify(platform: Platform, uscc: str) -> None:
    """SPEC §14: the bureau verifies the organisation. Until the portal's verification queue lands
    (phase 2 of issue #19) this step is the API call that page will make."""
    r = await platform.client.post(
        f"/api/v1/organisations/{uscc}/verify",
        headers=await platform.admin_headers(),
        json={"decision": "verify", "comments": "营业执照核对无误"},
    )
    assert r.status_code == 200, r.text


async def reach(b: Browsing, path: str, selector: str, *, patience: int = 30) -> None:
    """Open ``path`` until it shows ``selector``: a read model (a credit file, say) is built from
    events, so it may not be there for a moment."""
    for _ in range(patience):
        await b.page.goto(path)
        if await b.page.locator(selector).count():
            return
        await b.page.wait_for_timeout(1000)
    raise AssertionError(f"{path} never showed {selector}")


def photo(name: str) -> list[dict]:
    return [{"name": name, "mimeType": "image/png", "buffer": PNG}]


async def sign_up(b: Browsing, *, role: str, uscc: str, name: str, username: str) -> None:
    await b.goto("/portal/signup")
    await b.shot("signup")
    await b.page.check(f"input[name=role][value={role}]")
    await b.page.fill("#f-org_uscc", uscc)
    await b.page.fill("#f-display_name", name)
    await b.page.fill("#f-username", username)
    await b.page.fill("#f-password", PASSWORD)
    await b.page.fill("#f-password2", PASSWORD)
    await b.page.click("#signup")
    await b.page.wait_for_selector("#signed-up")
    await b.shot("signed-up")


async def walk(b: Browsing, platform: Platform, demo) -> None:
    page = b.page
    n = next(_walks)
    stamp = f"{int(time.time()) % 100000}{n}"
    en = b.lang == "en"
    agency_name = f"Walk Safety Services {stamp}" if en else f"江门市走查安全技术服务有限公司{stamp}"
    enterprise_name = f"Walk Hardware Works {stamp}" if en else f"江门市走查五金制品厂{stamp}"
    agency_uscc = uscc_for("walk-agency", int(stamp), "440703", b.lang)
    enterprise_uscc = uscc_for("walk-enterprise", int(stamp), "440703", b.lang)
    agency_user, enterprise_user = f"walk-ag-{stamp}", f"walk-ent-{stamp}"

    # --- the public ---------------------------------------------------------------------------
    await b.goto("/")
    await b.shot("directory")
    await page.keyboard.press("Tab")  # the keyboard: the first stop is "skip to content", then the page
    assert await page.evaluate("document.activeElement.className") == "skip"
    await page.keyboard.press("Enter")
    assert await page.evaluate("location.hash") == "#main"
    await b.goto("/asyncapi")
    await b.shot("asyncapi")
    await b.goto("/policy")
    await b.shot("policy")
    await b.goto("/portal/complaints/track")
    await b.shot("complaint-track")

    # --- an agency signs up, files, submits ----------------------------------------------------
    await sign_up(b, role="agency", uscc=agency_uscc, name=agency_name, username=agency_user)
    # the agency's organisation is verified by the approval of its first filing (SPEC §14)
    await page.click("#login-after-signup")
    await page.wait_for_url(lambda url: "/oauth/authorize" in url)
    await page.fill("input[name=username]", agency_user)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(lambda url: url.endswith("/portal/agency/filing"))
    await b.shot("agency-filing-new")
    await page.fill("#f-name", agency_name)
    await page.fill("#f-legal_representative", "陈志远")
    await page.fill("#f-contact_phone", "0750-3301234")
    await page.fill("#f-address", "江门市蓬江区建设路 88 号")
    await page.select_option("#f-district_code", "440703")
    for code in ("440703", "440704"):
        await page.check(f"input[name=service_districts][value='{code}']")
    for code in ("machinery", "light_industry"):
        await page.check(f"input[name=service_industries][value='{code}']")
    valid = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 3 * 365 * 86400))
    since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 365 * 86400))
    staff = [
        ("梁工程师", "registered_safety_engineer"),
        ("黄工程师", "registered_safety_engineer"),
        ("安全员甲", "safety_officer"),
        ("安全员乙", "safety_officer"),
        ("安全员丙", "safety_officer"),
    ]
    for i, (person, role) in enumerate(staff):
        await page.fill(f"#f-staff-{i}-name", person)
        await page.select_option(f"#f-staff-{i}-role", role)
        if role == "registered_safety_engineer":
            await page.fill(f"#f-staff-{i}-certificate_no", f"ZA{stamp}{i}")
            await page.fill(f"#f-staff-{i}-certificate_valid_until", valid)
        await page.check(f"#f-staff-{i}-full_time")
    await page.fill("#f-qualifications-0-type", "安全生产技术服务机构备案")
    await page.fill("#f-qualifications-0-number", f"粤应急备{stamp}")
    await page.fill("#f-qualifications-0-issuer", "广东省应急管理厅")
    await page.fill("#f-qualifications-0-valid_from", since)
    await page.fill("#f-qualifications-0-valid_until", valid)
    await page.click("#save-filing")
    await page.wait_for_selector("#flash")
    assert "draft" in (await page.get_attribute("#agency-status", "class") or "")
    await page.set_input_files("#f-file", files=[{"name": "licence.png", "mimeType": "image/png", "buffer": PNG}])
    await page.click("#upload")
    await page.wait_for_selector("#flash")
    assert await page.locator("#documents a").count() == 1
    await b.shot("agency-filing-draft")
    await page.click("#submit-filing")
    await page.wait_for_selector("#flash")
    assert "submitted" in (await page.get_attribute("#agency-status", "class") or "")
    assert await page.locator("#checks li.pass").count() >= 4
    await b.shot("agency-filing-submitted")
    await page.goto("/portal/agency")
    await b.shot("agency-home-pending")
    await b.logout()

    # --- the city bureau approves it -----------------------------------------------------------
    await b.login(demo.bureau_username, DEMO_PASSWORD)
    await page.wait_for_url(lambda url: url.endswith("/portal/dashboard"))
    await b.shot("dashboard")
    await page.click(f"#queue-filings a:text-is('{agency_name}')")
    await page.wait_for_selector("#review-form")
    await b.shot("agency-review")
    await page.check("input[name=decision][value=approve]")
    await page.fill("#f-comments", "材料齐全，准予备案" if not en else "Complete; approved")
    await page.click("#review-submit")
    await page.wait_for_selector("#flash")
    assert "approved" in (await page.get_attribute("#agency-status", "class") or "")
    agency_id = page.url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    await b.goto("/portal/enterprises/new")  # a bureau registers an enterprise of its district
    await page.fill("#f-uscc", uscc_for("walk-bureau-enterprise", int(stamp), "440704", b.lang))
    await page.fill("#f-name", f"Walk Textile {stamp}" if en else f"江海区走查纺织厂{stamp}")
    await page.select_option("#f-industry", "textiles")
    await page.select_option("#f-district_code", "440704")
    await page.select_option(
        "#f-town", label=await page.locator("#f-town optgroup >> nth=1").locator("option >> nth=0").inner_text()
    )
    await page.fill("#f-address", "江门市江海区 1 号")
    await page.fill("#f-employees", "30")
    await page.fill("#f-contact_name", "李经理")
    await page.fill("#f-contact_phone", "13807509999")
    await b.shot("bureau-enterprise-new")
    await page.click("#save-enterprise")
    await page.wait_for_selector("#flash")
    await b.shot("bureau-enterprise")
    for path, name in (
        ("/portal/agencies", "filings"),
        ("/portal/enterprises", "enterprises"),
        ("/portal/enterprises/import", "enterprise-import"),
        ("/portal/audits", "audits"),
        ("/portal/hazards", "hazards"),
        ("/portal/visits", "visits"),
    ):
        await b.goto(path)
        await b.shot(f"bureau-{name}")
    await b.logout()

    # --- an enterprise signs up, registers, finds the agency, drafts and signs ------------------
    await sign_up(b, role="enterprise", uscc=enterprise_uscc, name=enterprise_name, username=enterprise_user)
    await verify(platform, enterprise_uscc)
    await page.click("#login-after-signup")
    await page.wait_for_url(lambda url: "/oauth/authorize" in url)
    await page.fill("input[name=username]", enterprise_user)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(lambda url: url.endswith("/portal/enterprise/record"))
    await b.shot("enterprise-record")
    await page.fill("#f-name", enterprise_name)
    await page.select_option("#f-industry", "machinery")
    await page.select_option("#f-district_code", "440703")
    await page.select_option("#f-town", index=1)  # the first town of 蓬江区, the first district
    await page.fill("#f-address", "江门市蓬江区工业大道 9 号")
    await page.fill("#f-employees", "20")
    await page.fill("#f-contact_name", "张经理")
    await page.fill("#f-contact_phone", "13807501234")
    await page.click("#save-enterprise")
    await page.wait_for_url(lambda url: "/portal/enterprise?ok=saved" in url)
    await b.shot("enterprise-home")
    await page.goto(f"/?q={agency_name}")
    await page.wait_for_selector("table#directory tbody tr")
    await page.click("table#directory a.choose-agency")
    await page.wait_for_url(lambda url: "/portal/contracts/new?agency_id=" in url)
    await page.select_option("#f-engineer_name", "梁工程师")
    await page.fill("#f-fee_yuan", "12000")
    await b.shot("contract-new")
    await b.submit_until("#create-contract", "#contract-status")
    assert "draft" in (await page.get_attribute("#contract-status", "class") or "")
    digest = await page.inner_text("#content-sha256")
    assert len(digest) == 64
    await b.shot("contract-draft")
    await page.click("#amend")  # the terms can change until both have signed (signatures are voided)
    await page.fill("#f-fee_yuan", "12800")
    await b.shot("contract-amend")
    await page.click("#create-contract")
    await page.wait_for_selector("#flash")
    assert await page.inner_text("#content-sha256") != digest  # new terms, new hash
    await page.click("#sign")
    await page.wait_for_selector("#flash")
    assert "signed" in (await page.inner_text("#signature-enterprise")).lower() or "签署于" in await page.inner_text(
        "#signature-enterprise"
    )
    contract_url = page.url.split("?")[0]
    await b.logout()

    # --- the agency signs and submits it for filing ---------------------------------------------
    await b.login(agency_user, PASSWORD)
    await page.wait_for_url(lambda url: url.endswith("/portal/agency"))
    await page.click(f"#queue-sign a:text-is('{enterprise_name}')")
    await page.click("#sign")
    await page.wait_for_selector("#flash")
    assert "signed" in (await page.get_attribute("#contract-status", "class") or "")
    await page.click("#file")
    await page.wait_for_selector("#flash")
    assert "filing" in (await page.get_attribute("#contract-status", "class") or "")
    await b.shot("contract-filing")
    await b.logout()

    # --- the bureau files it --------------------------------------------------------------------
    await b.login(demo.bureau_username, DEMO_PASSWORD)
    await page.click(f"#queue-contracts a:text-is('{enterprise_name}')")
    await page.wait_for_selector("#filing-review-form")
    await b.shot("contract-review")
    await page.check("input[name=decision][value=accept]")
    await page.click("#review-submit")
    await page.wait_for_selector("#flash")
    status = await page.get_attribute("#contract-status", "class") or ""
    assert "filed" in status or "active" in status
    assert await page.inner_text("#contract-filing-no")
    await b.logout()

    # --- the agency records a visit with a major hazard -----------------------------------------
    await b.login(agency_user, PASSWORD)
    await page.goto(contract_url)
    for _ in range(30):  # filed → active on the start date (today): the contracts service's own step
        if "active" in (await page.get_attribute("#contract-status", "class") or ""):
            break
        await page.wait_for_timeout(1000)
        await page.reload()
    await page.click("#record-visit")
    await page.wait_for_selector("#visit-form")
    await page.fill(
        "#f-summary",
        "月度隐患排查：检查配电、消防通道和特种设备。"
        if not en
        else "Monthly inspection: wiring, fire exits, equipment.",
    )
    await page.fill("#f-hazards-0-description", "冲压机安全光栅失效" if not en else "Press safety light curtain broken")
    await page.select_option("#f-hazards-0-level", "major")
    await page.fill("#f-hazards-0-location", "冲压车间" if not en else "Press shop")
    await page.set_input_files("#f-attachments", files=photo("site.png"))
    await page.set_input_files("#f-hazards-0-photos", files=photo("light-curtain.png"))
    await b.shot("visit-new")
    for _ in range(40):  # as submit_until, but a refused form comes back without its files: choose them again
        await page.click("#save-visit")
        await page.wait_for_load_state("load")
        if await page.locator("#visit-hazards").count():
            break
        await page.wait_for_timeout(1000)
        await page.set_input_files("#f-attachments", files=photo("site.png"))
        await page.set_input_files("#f-hazards-0-photos", files=photo("light-curtain.png"))
    assert await page.locator("#visit-attachments a").count() == 1
    await b.shot("visit")
    visit_url = page.url.split("?")[0]
    await page.click("#visit-hazards a")
    assert await page.locator("#hazard-photos a").count() == 1
    hazard_photo = await page.get_attribute("#hazard-photos a", "href")
    served = await page.request.get(hazard_photo or "")  # through the portal, with the reader's token
    assert served.ok and served.headers.get("content-type", "").startswith("image/png")
    await b.shot("hazard-open")
    # a second visit, which the enterprise will dispute (SPEC §16, D45)
    await page.goto(contract_url)
    await page.click("#record-visit")
    await page.wait_for_selector("#visit-form")
    await page.fill("#f-summary", "消防设施专项检查。" if not en else "Fire equipment check.")
    await b.submit_until("#save-visit", "#visit-confirmed")
    disputed_url = page.url.split("?")[0]
    # conflicts of interest (SPEC §20): the agency declares its training for the enterprise
    await b.goto("/portal/agency/engagements")
    await page.fill("#f-enterprise_uscc", enterprise_uscc)
    await page.select_option("#f-engagement_kind", "training")
    await page.fill("#f-eg_from", time.strftime("%Y-%m-%d", time.gmtime()))
    await page.fill("#f-eg_to", time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400)))
    await page.click("#declare-engagement")
    await page.wait_for_selector("#flash")
    assert await page.locator("#engagement-list tbody tr").count() == 1
    await b.shot("engagements")
    await b.goto("/portal/agency/changes")
    await b.shot("agency-changes")
    await b.goto("/portal/organisation")
    await b.shot("organisation")
    await b.goto("/portal/agency")
    await b.shot("agency-home")
    await b.goto("/portal/agency/filing")
    await b.shot("agency-filing-approved")
    await b.logout()

    # --- the bureau acknowledges and lists the major hazard's supervision case (SPEC §17) -------
    await b.login(demo.bureau_username, DEMO_PASSWORD)
    await b.goto("/portal/inbox")
    await b.shot("bureau-inbox")
    await b.goto("/portal/supervision?status=reported&district=440703")
    await b.shot("supervision")
    await page.click(f"#case-list a:text-is('{enterprise_uscc}')")
    await page.wait_for_selector("#acknowledge-section")
    assert "reported" in (await page.get_attribute("#case-status", "class") or "")
    await b.shot("supervision-case")
    await page.click("#acknowledge")
    await page.wait_for_selector("#flash")
    assert "acknowledged" in (await page.get_attribute("#case-status", "class") or "")
    case_url = page.url.split("?")[0]
    deadline = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
    await page.fill("#f-deadline", deadline)
    await page.fill("#f-measures", "停用冲压机，更换安全光栅。" if not en else "Press stopped; light curtain replaced.")
    await page.fill("#f-responsible", "张经理")
    await b.shot("supervision-acknowledged")
    await page.click("#list")
    await page.wait_for_selector("#flash")
    assert "listed" in (await page.get_attribute("#case-status", "class") or "")
    await b.shot("supervision-listed")
    await reach(b, f"/portal/credit/agencies/{agency_id}", "#credit-score")
    await b.shot("credit-agency")
    await b.goto(f"/portal/agencies/{agency_id}")
    assert await page.locator("#engagement-list tbody tr").count() == 1  # the bureau reads the declaration
    await b.shot("bureau-agency-engagements")
    await b.goto("/portal/dashboard")
    await page.click("#areas-district a[href='/portal/dashboard?district=440703']")  # city → district
    await page.wait_for_selector("#areas-town")
    await b.shot("dashboard-district")
    await page.click("#areas-town tbody a >> nth=0")  # district → town
    await page.wait_for_selector("#trail")
    assert "town=" in page.url
    await b.shot("dashboard-town")
    await b.goto("/portal/organisations")
    await b.shot("organisations")
    await b.goto("/portal/webhooks")
    await b.shot("webhooks")
    await b.goto("/portal/disputes")
    await b.shot("disputes")
    await b.goto("/portal/accidents")
    await b.shot("accidents")
    await page.click("#new-accident")
    await page.wait_for_selector("#accident-form")
    await b.shot("accident-new")
    await b.logout()

    # --- the enterprise confirms the visit and rectifies ----------------------------------------
    await b.login(enterprise_user, PASSWORD)
    await page.wait_for_url(lambda url: url.endswith("/portal/enterprise"))
    await page.click(f"#queue-confirm a[href$='{visit_url.rsplit('/', 1)[-1]}']")
    await page.click("#confirm-visit")
    await page.wait_for_selector("#flash")
    await b.shot("visit-confirmed")
    await page.goto(disputed_url)  # the second visit: the enterprise says it did not happen so
    await page.fill("#f-reason", "当天工程师未到场。" if not en else "The engineer did not come that day.")
    await b.shot("visit-dispute")
    await page.click("#dispute")
    await page.wait_for_selector("#flash")
    assert await page.locator("#dispute-facts").count() == 1
    await page.goto(visit_url)
    await page.click("#visit-hazards a")
    await page.fill("#f-note", "已更换安全光栅并试机合格。" if not en else "Light curtain replaced and tested.")
    # a major hazard: the rectification carries its evidence (SPEC §16)
    await page.set_input_files("#f-attachments", files=photo("after.png"))
    await b.shot("hazard-rectify")
    await page.click("#rectify")
    await page.wait_for_selector("#flash")
    assert "rectified" in (await page.get_attribute("#hazard-status", "class") or "")
    assert await page.locator("#rectify-attachments a").count() == 1
    hazard_url = page.url.split("?")[0]
    await b.goto("/portal/inbox")
    await b.shot("enterprise-inbox")
    await reach(b, "/portal/credit/enterprise", "#credit-score")
    await b.shot("credit-enterprise")
    await b.logout()

    # --- the agency verifies ----------------------------------------------------------------------
    await b.login(agency_user, PASSWORD)
    await page.click("#queue-verify a")
    await page.wait_for_selector("#verify-form")
    await page.click("#verify")
    await page.wait_for_selector("#flash")
    assert "verified" in (await page.get_attribute("#hazard-status", "class") or "")
    await b.shot("hazard-verified")
    await b.goto("/portal/inbox")
    await b.shot("agency-inbox")
    await b.logout()

    # --- the enterprise complains ----------------------------------------------------------------
    await b.login(enterprise_user, PASSWORD)
    await page.goto(contract_url)
    await page.click("#complain-contract")
    await page.wait_for_selector("#complaint-form")
    await page.select_option("#f-category", "service_quality")
    await page.fill(
        "#f-description", "隐患排查报告未附整改建议。" if not en else "The inspection report gives no advice."
    )
    await b.shot("complaint-new")
    await b.submit_until("#send-complaint", "#complaint-status")
    complaint_url = page.url.split("?")[0]
    await b.shot("complaint")
    await b.goto("/portal/hazards")
    await b.shot("enterprise-hazards")
    await b.logout()

    # --- the bureau forwards, the agency responds, the bureau resolves --------------------------
    await b.login(demo.bureau_username, DEMO_PASSWORD)
    await page.goto(complaint_url)
    await page.click("#forward")
    await page.wait_for_selector("#flash")
    assert "forwarded" in (await page.get_attribute("#complaint-status", "class") or "")
    await b.logout()
    await b.login(agency_user, PASSWORD)
    await page.click("#queue-respond a")
    await page.fill(
        "#f-response", "已补充整改建议并与企业沟通。" if not en else "Advice added; discussed with the enterprise."
    )
    await b.shot("complaint-respond")
    await page.click("#respond")
    await page.wait_for_selector("#flash")
    assert "responded" in (await page.get_attribute("#complaint-status", "class") or "")
    await b.logout()
    await b.login(demo.bureau_username, DEMO_PASSWORD)
    await page.goto(complaint_url)
    await page.check("input[name=outcome][value=upheld]")
    await page.fill("#f-notes", "投诉属实，已责令整改。" if not en else "Upheld; corrected.")
    await page.click("#resolve")
    await page.wait_for_selector("#flash")
    assert "closed" in (await page.get_attribute("#complaint-status", "class") or "")
    await b.shot("complaint-closed")
    await reach(b, "/portal/disputes", f"#dispute-list a[href$='{disputed_url.rsplit('/', 1)[-1]}']")
    await b.shot("disputes-queue")
    await page.click(f"#dispute-list a[href$='{disputed_url.rsplit('/', 1)[-1]}']")
    await page.wait_for_selector("#resolve-form")
    await page.check("input[name=decision][value=void]")
    await page.fill("#f-notes", "经核实工程师未到场，记录作废。" if not en else "Checked: nobody came; voided.")
    await b.shot("visit-resolve")
    await page.click("#resolve")
    await page.wait_for_selector("#visit-resolution")
    assert await page.locator("#resolve-section").count() == 0
    await b.shot("visit-resolved")
    await page.goto(hazard_url)
    await b.shot("bureau-hazard")
    await page.goto(case_url)  # the hazard is verified: the case is closed (销号)
    await page.fill("#f-notes", "隐患已整改验收，予以销号。" if not en else "Rectified and verified; closed.")
    await page.click("#close")
    await page.wait_for_selector("#flash")
    assert "closed" in (await page.get_attribute("#case-status", "class") or "")
    await b.shot("supervision-closed")
    await b.goto("/portal/contracts")
    await b.shot("bureau-contracts")
    await b.goto("/portal/complaints")
    await b.shot("bureau-complaints")
    await b.logout()


@pytest.mark.parametrize(
    ("lang", "device"),
    [
        ("zh-CN", "phone"),
        ("en", "desktop"),
        # the other two combinations make the rest of docs/screenshots/ (make test-slow)
        pytest.param("zh-CN", "desktop", marks=pytest.mark.slow),
        pytest.param("en", "phone", marks=pytest.mark.slow),
    ],
)
async def test_each_roles_week_through_pages(platform: Platform, demo, browser, lang: str, device: str) -> None:
    b = await open_browsing(browser, platform.url, lang=lang, device=device)
    try:
        await walk(b, platform, demo)
    finally:
        await b.context.close()


async def _visits(platform: Platform, token: str, contract_id: str) -> int:
    import httpx

    async with httpx.AsyncClient(base_url=platform.url, timeout=20.0) as client:
        r = await client.get(
            "/api/v1/service-logs",
            params={"contract_id": contract_id, "limit": 200},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text
        return len(r.json()["items"])


async def test_a_visit_recorded_offline_is_sent_once_when_the_connection_returns(
    platform: Platform, demo, browser
) -> None:
    contract = next(c for c in demo.contracts if c.get("status") in ("active", "filed"))
    agency = contract["agency"]
    before = await _visits(platform, agency["token"], contract["id"])
    b = await open_browsing(browser, platform.url, lang="zh-CN", device="phone")
    page = b.page
    try:
        messages: list[str] = []
        page.on("console", lambda m: messages.append(m.text))
        await b.login(f"agency-{agency['uscc'].lower()}", DEMO_PASSWORD)
        await page.goto(f"/portal/visits/new?contract_id={contract['id']}")
        for i in range(40):  # the worker installs, activates and takes the page over (clients.claim)
            if await page.evaluate("!!(navigator.serviceWorker && navigator.serviceWorker.controller)"):
                break
            await page.wait_for_timeout(250)
            if i == 20:
                await page.reload()
        state = await page.evaluate(
            "navigator.serviceWorker.getRegistrations().then(rs => JSON.stringify(rs.map(r => [r.scope, !!r.active, !!r.installing, !!r.waiting])))"
        )
        assert await page.evaluate("!!navigator.serviceWorker.controller"), (
            f"the offline queue did not start: {state} {messages}"
        )
        await page.fill("#f-summary", f"离线填报测试 {time.time()}")
        await b.context.set_offline(True)
        await page.click("#save-visit")
        await page.wait_for_selector("#offline-saved")
        assert await _visits(platform, agency["token"], contract["id"]) == before  # nothing left the phone
        await b.shot("visit-offline")
        await b.context.set_offline(False)
        for _ in range(60):
            if await _visits(platform, agency["token"], contract["id"]) == before + 1:
                break
            await page.wait_for_timeout(500)
        assert await _visits(platform, agency["token"], contract["id"]) == before + 1
        await page.goto("/portal/visits")  # another flush finds nothing waiting: sent once
        await page.wait_for_timeout(1500)
        assert await _visits(platform, agency["token"], contract["id"]) == before + 1
    finally:
        await b.context.close()


async def test_api_docs_render_under_the_csp_without_a_cdn(platform: Platform, browser) -> None:
    b = await open_browsing(browser, platform.url, lang="zh-CN", device="desktop")
    violations: list[str] = []
    external: list[str] = []
    b.page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    b.page.on("request", lambda r: external.append(r.url) if not r.url.startswith(platform.url) else None)
    try:
        await b.page.goto("/docs")
        await b.page.wait_for_selector(".swagger-ui .information-container", timeout=30_000)
        assert "custody" in (await b.page.inner_text(".swagger-ui")).lower() or await b.page.locator(".opblock").count()
        assert not violations, violations
        assert not external, external
        csp = (await b.page.request.get("/docs")).headers["content-security-policy"]
        assert "script-src 'self'" in csp and "cdn" not in csp
        await b.page.screenshot(
            path=str(
                __import__("tests.portal.browser", fromlist=["SCREENSHOTS"]).SCREENSHOTS / "docs-zh-CN-desktop.png"
            )
        )
    finally:
        await b.context.close()
