"""Builders for registry tests: valid filings, tokens of each party, documents, and a helper that
walks an agency to any status through the API."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from devtools.testing.tokens import auth, verifier
from services.registry.main import create_app
from shared.clock import FrozenClock
from shared.reference import make_uscc
from shared.settings import Settings

TODAY = date(2026, 3, 10)
_counter = itertools.count(1)

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def clock() -> FrozenClock:
    return FrozenClock(datetime(TODAY.year, TODAY.month, TODAY.day, 9, 0, tzinfo=UTC))


def app_for(settings: Settings, *, at: FrozenClock | None = None):
    return create_app(settings, clock=at or clock(), verifier=verifier())


def new_uscc() -> str:
    n = next(_counter)
    return make_uscc(f"91440703MA{n:07d}")


def engineer(name: str, cert: str, *, valid_until: date | None = None, full_time: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "role": "registered_safety_engineer",
        "certificate_no": cert,
        "certificate_valid_until": (valid_until or TODAY + timedelta(days=700)).isoformat(),
        "full_time": full_time,
    }


def officer(name: str, *, full_time: bool = True) -> dict[str, Any]:
    return {"name": name, "role": "safety_officer", "full_time": full_time}


def agency_body(
    uscc: str | None = None,
    *,
    name: str | None = None,
    district: str = "440703",
    engineers: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    uscc = uscc or new_uscc()
    tag = uscc[-6:]
    body: dict[str, Any] = {
        "uscc": uscc,
        "name": name or f"江门安泰安全技术服务有限公司{tag}",
        "legal_representative": "李明",
        "contact_phone": "0750-3123456",
        "address": "江门市蓬江区建设路 88 号",
        "district_code": district,
        "service_districts": [district, "440704"],
        "service_industries": ["machinery", "light_industry"],
        "staff": (
            engineers if engineers is not None else [engineer("张工", f"RSE-{tag}-1"), engineer("王工", f"RSE-{tag}-2")]
        )
        + [officer("陈一"), officer("陈二"), officer("陈三")],
        "qualifications": [
            {
                "type": "安全评价机构资质",
                "number": f"APJ-{tag}",
                "issuer": "广东省应急管理厅",
                "valid_from": "2024-01-01",
                "valid_until": "2028-12-31",
            }
        ],
    }
    body.update(overrides)
    return body


def owner(uscc: str) -> dict[str, str]:
    return auth("agency", org_uscc=uscc)


CITY = {"role": "bureau", "district": "440700"}


def bureau(district: str = "440700") -> dict[str, str]:
    return auth("bureau", district=district)


def admin() -> dict[str, str]:
    return auth("admin")


async def create(client: httpx.AsyncClient, body: dict[str, Any] | None = None) -> dict[str, Any]:
    body = body or agency_body()
    r = await client.post("/api/v1/agencies", json=body, headers=owner(body["uscc"]))
    assert r.status_code == 201, r.text
    return r.json()


async def act(
    client: httpx.AsyncClient, agency: dict[str, Any], action: str, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    path = f"/api/v1/agencies/{agency['id']}/{action}"
    if action == "submit":
        return await client.post(path, headers=headers or owner(agency["uscc"]))
    if action in ("approve", "reject", "request_changes"):
        payload = {"decision": action, "comments": body.pop("comments", "材料齐全，同意备案")}
        return await client.post(f"/api/v1/agencies/{agency['id']}/review", json=payload, headers=headers or bureau())
    return await client.post(path, json={"reason": body.pop("reason", "监督检查发现问题")}, headers=headers or bureau())


async def ok(client: httpx.AsyncClient, agency: dict[str, Any], action: str, **kw: Any) -> dict[str, Any]:
    r = await act(client, agency, action, **kw)
    assert r.status_code == 200, r.text
    return r.json()


PATHS = {
    "draft": [],
    "submitted": ["submit"],
    "approved": ["submit", "approve"],
    "rejected": ["submit", "reject"],
    "needs_more_info": ["submit", "request_changes"],
    "suspended": ["submit", "approve", "suspend"],
    "revoked": ["submit", "approve", "revoke"],
}


async def agency_in(client: httpx.AsyncClient, status: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    agency = await create(client, body)
    for step in PATHS[status]:
        agency = await ok(client, agency, step)
    assert agency["status"] == status
    return agency


async def upload(
    client: httpx.AsyncClient,
    agency: dict[str, Any],
    content: bytes,
    *,
    filename: str = "license.pdf",
    kind: str = "business_license",
    headers: dict[str, str] | None = None,
    content_type: str = "application/pdf",
) -> httpx.Response:
    return await client.post(
        f"/api/v1/agencies/{agency['id']}/documents",
        files={"file": (filename, content, content_type)},
        data={"kind": kind},
        headers=headers or owner(agency["uscc"]),
    )
