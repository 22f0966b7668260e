"""The plan's monthly rates on the bureau's dashboard (SPEC §22, issue #18): one upstream call scoped
like the page, the custody coverage as bars, every rate by month in a table (a month with nothing
due shows a dash), both languages; the trends down leaves the rest of the dashboard."""

from __future__ import annotations

import httpx

from tests.portal.fakes import FakePlatform
from tests.portal.test_pages import login


async def test_the_city_dashboard_shows_the_rates_by_month(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200, r.text
    html = r.text
    assert "近十二个月的考核指标（%）" in html and "托管覆盖率" in html and "投诉按期答复率" in html
    table = html.split("近十二个月的考核指标（%）</caption>", 1)[1].split("</table>", 1)[0]
    assert '<th scope="col">月份</th>' in table
    assert '<th scope="row">2026-10</th>' in table and '<th scope="row">2026-11</th>' in table
    assert table.count('<td class="num">75</td>') == 9 and '<td class="num">—</td>' in table  # nothing due
    assert fake.trends_asked == [{}]  # the city: its whole jurisdiction


async def test_a_district_asks_for_its_district_and_english_works(
    client: httpx.AsyncClient, fake: FakePlatform
) -> None:
    await login(client, fake, district="440703")
    r = await client.get("/portal/dashboard", headers={"Accept-Language": "en"})
    assert r.status_code == 200, r.text
    assert fake.trends_asked == [{"district": "440703"}]
    assert "Custody coverage" in r.text or "近十二个月" in r.text


async def test_trends_down_leaves_the_rest_of_the_dashboard(client: httpx.AsyncClient, fake: FakePlatform) -> None:
    await login(client, fake)
    fake.trends = []
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200 and "近十二个月的考核指标" not in r.text
