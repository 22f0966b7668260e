"""Conflicts of interest in the portal (SPEC §20, DECISIONS D37): the agency declares an engagement
from a page and sees its list (newest first, kinds by name); the registry's problems show by their
field (the whole-body rule "to before from" by the end date); the bureau sees the declarations on the
agency's review page; an enterprise that may not read them sees the page without them; both
languages; the registry down is a message, not a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.portal.fakes import FakePlatform
from tests.portal.fakes_credit import AGENCY_USCC, ENTERPRISE_USCC, state_of
from tests.portal.test_pages import BASE, _csrf, login

PATH = "/api/v1/agencies/a1/engagements"
PROBLEM = {"content-type": "application/problem+json"}


class Engagements(FakePlatform):
    """The registry's engagements of agency a1: the agency declares, the agency and bureaus read."""

    def __init__(self) -> None:
        super().__init__()
        state_of(self).own = True
        self.engagements: list[dict[str, Any]] = [
            {
                "id": "g1",
                "agency_id": "a1",
                "enterprise_uscc": ENTERPRISE_USCC,
                "kind": "training",
                "from": "2025-03-01",
                "to": "2025-03-02",
                "declared_by": "agency-admin",
                "declared_at": "2025-02-20T08:00:00Z",
            }
        ]

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != PATH:
            return super().handler(request)
        self.calls.append(request)
        role = json.loads(_claims(request)).get("role")
        if request.method == "GET":
            if role == "enterprise":
                return httpx.Response(403, headers=PROBLEM, json={"title": "Forbidden", "status": 403})
            return httpx.Response(200, json=self.engagements)
        body = json.loads(request.content)
        if body.get("enterprise_uscc") == "BAD":
            return _problem(422, "enterprise_uscc", "统一社会信用代码无效（GB 32100-2015 校验失败）")
        if body.get("to") and body.get("from") and body["to"] < body["from"]:
            return _problem(422, "body", "to 不能早于 from / to must not be before from")
        row = {"id": f"g{len(self.engagements) + 1}", "agency_id": "a1", **body, "declared_by": "agency-admin"}
        self.engagements.append({**row, "declared_at": "2026-12-04T08:00:00Z"})
        return httpx.Response(201, json=self.engagements[-1])


def _claims(request: httpx.Request) -> str:
    import base64

    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    payload = token.split(".")[1] if token.count(".") == 2 else ""
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode() if payload else "{}"


def _problem(status: int, field: str, message: str) -> httpx.Response:
    body = {"title": "Validation failed", "status": status, "detail": "申报未通过校验", "errors": []}
    body["errors"] = [{"field": field, "message": message}]
    return httpx.Response(status, headers=PROBLEM, json=body)


@pytest.fixture
def fake() -> Engagements:
    return Engagements()


@pytest.fixture
async def client(fake: Engagements):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app()), base_url=BASE) as c:
        yield c


FORM = {"enterprise_uscc": ENTERPRISE_USCC, "engagement_kind": "safety_evaluation", "eg_from": "2026-01-05"}


async def test_the_agency_declares_and_sees_its_list(client: httpx.AsyncClient, fake: Engagements) -> None:
    await login(client, fake, role="agency", org_uscc=AGENCY_USCC)
    page = await client.get("/portal/agency/engagements")
    assert page.status_code == 200, page.text
    assert 'href="/portal/agency/engagements"' in page.text  # in the agency's menu
    assert "安全培训" in page.text and "2025-03-01 – 2025-03-02" in page.text
    for name in ("enterprise_uscc", "engagement_kind", "eg_from", "eg_to"):
        assert f'<label for="f-{name}">' in page.text  # a label on every input
    r = await client.post("/portal/agency/engagements", data={"csrf": _csrf(page.text), **FORM, "eg_to": "2026-02-28"})
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/agency/engagements")
    sent = json.loads([c for c in fake.calls if c.method == "POST" and c.url.path == PATH][-1].content)
    assert sent == {
        "enterprise_uscc": ENTERPRISE_USCC,
        "kind": "safety_evaluation",
        "from": "2026-01-05",
        "to": "2026-02-28",
    }
    after = await client.get(r.headers["location"])
    assert "已申报。" in after.text and "安全评价" in after.text
    rows = after.text.split('id="engagement-list"', 1)[1].split("</table>", 1)[0]
    assert rows.index("2026-01-05") < rows.index("2025-03-01")  # newest first


async def test_problems_show_by_their_field(client: httpx.AsyncClient, fake: Engagements) -> None:
    await login(client, fake, role="agency", org_uscc=AGENCY_USCC)
    page = await client.get("/portal/agency/engagements")
    csrf = _csrf(page.text)
    r = await client.post("/portal/agency/engagements", data={"csrf": csrf, **FORM, "eg_to": "2025-12-31"})
    assert r.status_code == 422
    assert 'id="f-eg_to-error">to 不能早于 from' in r.text and 'aria-invalid="true"' in r.text
    assert 'value="2026-01-05"' in r.text  # kept, to correct
    r = await client.post(
        "/portal/agency/engagements", data={"csrf": csrf, **FORM, "enterprise_uscc": "BAD", "eg_to": "2026-02-01"}
    )
    assert r.status_code == 422 and 'id="f-enterprise_uscc-error">统一社会信用代码无效' in r.text
    assert '<a href="#f-enterprise_uscc">企业统一社会信用代码' in r.text  # the summary links to the field


async def test_english_and_the_registry_down(client: httpx.AsyncClient, fake: Engagements) -> None:
    await login(client, fake, role="agency", org_uscc=AGENCY_USCC)
    page = await client.get("/portal/agency/engagements", params={"lang": "en"})
    assert page.status_code == 200 and "Declare an engagement" in page.text and "Training" in page.text
    fake.down.add("registry")
    r = await client.get("/portal/agency/engagements")
    assert r.status_code == 503 and "Traceback" not in r.text


async def test_the_bureau_sees_them_where_it_reviews_the_agency(client: httpx.AsyncClient, fake: Engagements) -> None:
    await login(client, fake)
    r = await client.get("/portal/agencies/a1")
    assert r.status_code == 200, r.text
    section = r.text.split('id="engagements"', 1)[1].split("</section>", 1)[0]
    assert ENTERPRISE_USCC in section and "安全培训" in section
    assert (await client.get("/portal/agency/engagements")).status_code == 403  # declaring is the agency's


async def test_an_enterprise_sees_the_agency_without_them(client: httpx.AsyncClient, fake: Engagements) -> None:
    await login(client, fake, role="enterprise", org_uscc=ENTERPRISE_USCC)
    r = await client.get("/portal/agencies/a1")
    assert r.status_code == 200 and 'id="engagements"' not in r.text
