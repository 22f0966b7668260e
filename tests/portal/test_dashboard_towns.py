"""The dashboard drills city → district → town (SPEC §22 "Towns", issue #18 item 2, issue #19): the
city lists its districts with their figures, each a link to the district's view; the district lists its
towns (from the jurisdiction data) with their figures, each a link to the town's view; a town bureau
account (a town code in ``district``) starts on its town. Every call of a view carries its area
(``district=``, and ``town=`` for a town), and each view makes a constant number of upstream calls.
The fake gateway answers ``town=`` and ``by=town,status`` as the services are being taught to."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.portal.fakes import FakePlatform
from tests.portal.test_pages import BASE, login

HEADER = "/api/v1/inbox/summary"
CITY_CALLS = 15  # as tests/portal/test_dashboard_scale.py counts: 8 figures and queues, 6 watch lists, 1 trends
DISTRICT_CALLS = CITY_CALLS + 2  # its towns' contracts and cases counted by town
TOWN_CALLS = CITY_CALLS - 1  # no per-district summary
HUANSHI, CHAOLIAN = "440703001", "440703002"  # two towns of 蓬江区


class Towns(FakePlatform):
    """Contracts and supervision cases that know their enterprise's town; counts by town."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse_town = False
        self.refuse_trends_town = False
        self.town_contracts = [
            {"id": "t1", "status": "active", "district_code": "440703", "town": HUANSHI},
            {"id": "t2", "status": "active", "district_code": "440703", "town": HUANSHI},
            {"id": "t3", "status": "filing", "district_code": "440703", "town": CHAOLIAN},
            {"id": "t4", "status": "active", "district_code": "440705", "town": "440705001"},
        ]
        self.town_cases = [
            {"id": "k1", "status": "reported", "district_code": "440703", "town": CHAOLIAN},
            {"id": "k2", "status": "listed", "district_code": "440703", "town": CHAOLIAN},
            {"id": "k3", "status": "closed", "district_code": "440703", "town": HUANSHI},
        ]

    def handler(self, request: httpx.Request) -> httpx.Response:
        path, params = request.url.path, dict(request.url.params)
        if self.refuse_town and "town" in params.get("by", ""):
            self.calls.append(request)  # a service that does not count by town yet
            return httpx.Response(422, json={"title": "Invalid dimensions to count by", "status": 422})
        if self.refuse_trends_town and path == "/api/v1/compliance/trends" and params.get("town"):
            self.calls.append(request)
            return httpx.Response(422, json={"title": "The town filter is not available", "status": 422})
        rows = {"/api/v1/contracts/counts": self.town_contracts, "/api/v1/supervision/counts": self.town_cases}
        if path in rows and ("town" in params.get("by", "") or params.get("town")):
            self.calls.append(request)
            by = params.get("by", "district,status").split(",")
            groups: dict[tuple[str, ...], int] = {}
            for row in rows[path]:
                if any(
                    params.get(k) and row[f] != params[k] for k, f in (("district", "district_code"), ("town", "town"))
                ):
                    continue
                key = tuple(str(row["district_code"] if b == "district" else row[b]) for b in by)
                groups[key] = groups.get(key, 0) + 1
            items = [{**dict(zip(by, k, strict=True)), "count": n} for k, n in sorted(groups.items())]
            return httpx.Response(200, json={"by": by, "items": items, "total": sum(groups.values())})
        return super().handler(request)


@pytest.fixture
def fake() -> Towns:
    return Towns()


@pytest.fixture
async def client(fake: Towns):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app()), base_url=BASE) as c:
        yield c


def upstream(fake: FakePlatform) -> list[httpx.Request]:
    return [c for c in fake.calls if c.url.path.startswith("/api/") and c.url.path != HEADER]


def params_of(fake: FakePlatform) -> list[dict[str, Any]]:
    return [dict(c.url.params) for c in upstream(fake)]


async def test_the_city_lists_its_districts_each_a_link(client: httpx.AsyncClient, fake: Towns) -> None:
    await login(client, fake)
    fake.calls.clear()
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200, r.text
    assert len(upstream(fake)) == CITY_CALLS  # the district table reads what the page fetched
    table = r.text.split('id="areas-district"', 1)[1].split("</table>", 1)[0]
    assert '<a href="/portal/dashboard?district=440703">蓬江区</a>' in table
    assert table.count("<tr>") == 1 + 7  # the header and the seven districts of Jiangmen
    assert 'id="trail"' not in r.text  # the city is the top: no breadcrumb


async def test_the_district_view_lists_its_towns_with_their_figures(client: httpx.AsyncClient, fake: Towns) -> None:
    await login(client, fake)
    fake.calls.clear()
    r = await client.get("/portal/dashboard", params={"district": "440703"})
    assert r.status_code == 200, r.text
    calls = params_of(fake)
    assert len(calls) == DISTRICT_CALLS
    by_town = [c for c in calls if c.get("by") == "town,status"]
    assert len(by_town) == 2 and all(c["district"] == "440703" for c in by_town)
    counted = [c for c in calls if c.get("by", "").startswith("district")]
    assert counted and all(c.get("district") == "440703" for c in counted if "grade" not in c["by"])
    html = r.text
    assert "辖区：蓬江区" in html
    table = html.split('id="areas-town"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 1 + 6  # 蓬江区's six towns from the jurisdiction data
    huanshi = table.split(f'href="/portal/dashboard?town={HUANSHI}">环市街道</a>', 1)[1].split("</tr>", 1)[0]
    assert [c.split(">", 1)[1].split("<", 1)[0] for c in huanshi.split("<td")[1:]] == ["2", "0", "0", "0"]
    chaolian = table.split(f'href="/portal/dashboard?town={CHAOLIAN}">潮连街道</a>', 1)[1].split("</tr>", 1)[0]
    assert [c.split(">", 1)[1].split("<", 1)[0] for c in chaolian.split("<td")[1:]] == ["0", "1", "2", "1"]
    trail = html.split('id="trail"', 1)[1].split("</nav>", 1)[0]
    assert '<a href="/portal/dashboard">江门市</a>' in trail and '<span aria-current="page">蓬江区</span>' in trail


async def test_the_town_view_sends_its_town_on_every_call(client: httpx.AsyncClient, fake: Towns) -> None:
    await login(client, fake)
    fake.calls.clear()
    r = await client.get("/portal/dashboard", params={"town": CHAOLIAN})
    assert r.status_code == 200, r.text
    calls = upstream(fake)
    assert len(calls) == TOWN_CALLS
    assert "/api/v1/compliance/summary" not in [c.url.path for c in calls]
    scoped = [dict(c.url.params) for c in calls if c.url.path != "/api/v1/directory/counts"]
    scoped = [p for p in scoped if c_has_scope(p)]
    assert scoped and all(p == {**p, "district": "440703", "town": CHAOLIAN} for p in scoped)
    assert fake.trends_asked == [{"district": "440703", "town": CHAOLIAN}]
    html = r.text
    assert "辖区：潮连街道" in html and 'id="areas-' not in html  # a town has nothing below it
    assert "隐患、投诉和漏检次数按区县统计" in html
    trail = html.split('id="trail"', 1)[1].split("</nav>", 1)[0]
    assert '<a href="/portal/dashboard?district=440703">蓬江区</a>' in trail and "潮连街道</span>" in trail


def c_has_scope(params: dict[str, Any]) -> bool:
    """Every call but the complaints' queue and the summary is scoped (they never were)."""
    return "district" in params or "town" in params or params.get("by") is not None


async def test_a_town_bureau_starts_on_its_town(client: httpx.AsyncClient, fake: Towns) -> None:
    await login(client, fake, district=HUANSHI, username="hs-bureau")
    fake.calls.clear()
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200, r.text
    assert "辖区：环市街道" in r.text and len(upstream(fake)) == TOWN_CALLS
    assert fake.trends_asked == [{"district": "440703", "town": HUANSHI}]
    # its district and a neighbouring town are not its own
    assert (await client.get("/portal/dashboard", params={"district": "440703"})).status_code == 403
    assert (await client.get("/portal/dashboard", params={"town": CHAOLIAN})).status_code == 403


async def test_a_district_bureau_drills_into_its_towns_only(client: httpx.AsyncClient, fake: Towns) -> None:
    await login(client, fake, district="440703", username="pj-bureau")
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200 and 'id="areas-town"' in r.text
    trail = r.text.split('id="trail"', 1)[1].split("</nav>", 1)[0]
    assert "<span>江门市</span>" in trail and 'href="/portal/dashboard"' not in trail  # not its level
    town = await client.get("/portal/dashboard", params={"town": HUANSHI})
    assert town.status_code == 200 and '<a href="/portal/dashboard?district=440703">蓬江区</a>' in town.text
    other = await client.get("/portal/dashboard", params={"town": "440705001"})
    assert other.status_code == 403 and "不在您的管辖范围内" in other.text
    assert (await client.get("/portal/dashboard", params={"district": "440705"})).status_code == 403
    assert (await client.get("/portal/dashboard", params={"district": "999999"})).status_code == 404
    assert (await client.get("/portal/dashboard", params={"town": "440703"})).status_code == 404  # not a town


async def test_english_and_a_failed_town_count(client: httpx.AsyncClient, fake: Towns) -> None:
    await login(client, fake)
    fake.town_cases = None  # type: ignore[assignment]  # the supervision count by town fails
    r = await client.get("/portal/dashboard", params={"district": "440703", "lang": "en"})
    assert r.status_code == 200, r.text
    html = r.text
    assert "By town (open a town)" in html and "Jiangmen" in html
    chaolian = html.split(f'href="/portal/dashboard?town={CHAOLIAN}">', 1)[1].split("</tr>", 1)[0]
    assert [c.split(">", 1)[1].split("<", 1)[0] for c in chaolian.split("<td")[1:]] == ["0", "1", "—", "—"]
    assert "Some data is temporarily unavailable" in html


async def test_a_service_that_does_not_count_by_town_yet_is_a_note(client: httpx.AsyncClient, fake: Towns) -> None:
    await login(client, fake, district="440703", username="pj-bureau")
    fake.refuse_town = True
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200, r.text
    assert "部分服务尚不能按镇街统计" in r.text and "部分数据暂时无法获取" not in r.text
    table = r.text.split('id="areas-town"', 1)[1].split("</table>", 1)[0]
    assert f'href="/portal/dashboard?town={HUANSHI}"' in table and "—" in table  # the towns still link


async def test_a_town_view_a_service_does_not_filter_yet_is_a_note(client: httpx.AsyncClient, fake: Towns) -> None:
    await login(client, fake, district=HUANSHI, username="hs-bureau")
    fake.refuse_trends_town = True  # audit's records carry no town yet (D43)
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200, r.text
    assert "以下数据尚不能按镇街筛选，暂不显示：近十二个月的考核指标" in r.text
    assert "部分数据暂时无法获取" not in r.text
