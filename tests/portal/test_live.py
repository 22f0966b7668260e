"""The portal against the real platform without a browser (httpx plays the person): a district
bureau's dashboard shows its district only; a public caller cannot read the private exports; the
pages answer in both languages."""

from __future__ import annotations

import io
import re
from urllib.parse import urljoin

import httpx
import openpyxl

from cli.demo import DEMO_PASSWORD
from devtools.testing.platform import Platform


async def _signed_in(platform: Platform, username: str, lang: str = "zh-CN") -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=platform.url, timeout=20.0)
    r = await client.get("/portal/login", params={"next": "/portal/dashboard", "lang": lang})
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    done = await client.post(str(page.url), data={"csrf": csrf, "username": username, "password": DEMO_PASSWORD})
    assert done.status_code in (302, 303), done.text
    callback = await client.get(urljoin(str(page.url), done.headers["location"]))
    assert callback.status_code == 303 and callback.headers["location"] == "/portal/dashboard", callback.text
    return client


async def test_a_district_bureau_sees_its_district_only(platform: Platform, demo) -> None:
    client = await _signed_in(platform, demo.district_bureaus["440704"])  # 江海区: one filing waits there
    try:
        r = await client.get("/portal/dashboard")
        assert r.status_code == 200, r.text
        html = r.text
        assert "辖区：江海区" in html
        assert "江海区新安安全服务有限公司" in html  # its queue: the filing to review
        assert "江门市江海区信达电子厂" in html  # its queue: the contract to file
        assert "蓬江区" not in re.sub(r"<select.*?</select>", "", html, flags=re.S)  # no other district's rows
        r = await client.get("/portal/exports/contracts.xlsx")
        assert r.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        districts = {row[6] for row in sheet.iter_rows(min_row=2, values_only=True)}
        assert districts == {"江海区"}
    finally:
        await client.aclose()


async def test_city_bureau_in_english(platform: Platform, demo) -> None:
    client = await _signed_in(platform, demo.bureau_username, lang="en")
    try:
        r = await client.get("/portal/dashboard")
        assert r.status_code == 200 and "Whole city" in r.text and "Contracts to file" in r.text
        r = await client.get("/portal/exports/hazards.csv", params={"status": "open"})
        assert r.status_code == 200
        lines = r.content.decode("utf-8-sig").splitlines()
        assert lines[0].startswith("Hazard id,Level,Status") and len(lines) >= 2
        assert all(",open," in line for line in lines[1:])
    finally:
        await client.aclose()


async def test_private_exports_and_dashboard_need_a_login(platform: Platform, demo) -> None:
    async with httpx.AsyncClient(base_url=platform.url) as anonymous:
        for path in ("/portal/dashboard", "/portal/exports/complaints.csv", "/portal/exports/contracts.xlsx"):
            r = await anonymous.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/portal/login"), path
        r = await anonymous.get("/portal/exports/directory.csv", params={"district": "440705"})
        assert r.status_code == 200 and "JM-TG-" in r.content.decode("utf-8-sig")
        r = await anonymous.get("/", params={"q": "<script>alert(1)</script>' OR 1=1--"})
        assert r.status_code == 200 and "<script>alert(1)" not in r.text


async def test_a_town_bureau_and_the_drill_down_against_the_services(platform: Platform, demo) -> None:
    """SPEC §22 towns end to end: the services take ``town=`` and count by town, so neither a town
    bureau's dashboard nor a district's town view has a figure missing or a part unavailable."""
    from shared.reference import load_jurisdiction

    town = next(a for a in load_jurisdiction().areas.values() if a.level == "town" and a.parent == "440703")
    r = await platform.client.post(
        "/api/v1/admin/accounts",
        json={"username": "live-town-bureau", "password": DEMO_PASSWORD, "role": "bureau", "district": town.code},
        headers=await platform.admin_headers(),
    )
    assert r.status_code == 201, r.text
    missing = ("部分数据暂时无法获取", "尚不能按镇街统计", "服务暂时不可用")
    client = await _signed_in(platform, "live-town-bureau")
    try:
        r = await client.get("/portal/dashboard")
        assert r.status_code == 200, r.text
        assert town.name in r.text
        assert not [m for m in missing if m in r.text], r.text[:3000]
        r = await client.get("/portal/dashboard", params={"district": "440704"})  # another district
        assert r.status_code == 403
    finally:
        await client.aclose()
    client = await _signed_in(platform, demo.district_bureaus["440703"])
    try:
        r = await client.get("/portal/dashboard")  # the district's view: a table of its towns
        assert r.status_code == 200 and town.name in r.text
        assert not [m for m in missing if m in r.text], r.text[:3000]
        r = await client.get("/portal/dashboard", params={"town": town.code})
        assert r.status_code == 200 and town.name in r.text
        assert not [m for m in missing if m in r.text], r.text[:3000]
    finally:
        await client.aclose()
