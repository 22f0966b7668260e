"""Helpers for the identity tests (SPEC §14): fresh USCCs, accounts of every kind and their tokens
through the gateway's real endpoints."""

from __future__ import annotations

import itertools
import random
from typing import Any

import httpx

from shared.reference import make_uscc
from tests.gateway.helpers import admin_token, bearer, pkce_tokens

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def fresh_uscc(district: str = "440703") -> str:
    """A valid USCC whose positions 3–8 name ``district``."""
    return make_uscc(f"91{district}MA{random.randint(0, 9_999_999):07d}")


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_seq)}-{random.randint(0, 99999)}"


async def admin_headers(gw: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await admin_token(gw))


async def token(gw: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    return (await pkce_tokens(gw, username, password))["access_token"]


async def signup(
    gw: httpx.AsyncClient,
    role: str,
    uscc: str,
    *,
    username: str | None = None,
    invitation: str | None = None,
    expect: int = 201,
    **headers: str,
) -> httpx.Response:
    body: dict[str, Any] = {
        "username": username or unique(role),
        "password": PASSWORD,
        "role": role,
        "org_uscc": uscc,
        "display_name": f"{role} {uscc}",
    }
    if invitation is not None:
        body["invitation"] = invitation
    r = await gw.post("/api/v1/accounts", json=body, headers=headers)
    assert r.status_code == expect, r.text
    return r


async def admin_account(
    gw: httpx.AsyncClient,
    role: str,
    *,
    district: str | None = None,
    org_uscc: str | None = None,
    username: str | None = None,
    expect: int = 201,
) -> dict[str, Any]:
    body: dict[str, Any] = {"username": username or unique(role), "password": PASSWORD, "role": role}
    if district:
        body["district"] = district
    if org_uscc:
        body["org_uscc"] = org_uscc
    r = await gw.post("/api/v1/admin/accounts", json=body, headers=await admin_headers(gw))
    assert r.status_code == expect, r.text
    return r.json()


async def bureau(gw: httpx.AsyncClient, district: str) -> dict[str, str]:
    account = await admin_account(gw, "bureau", district=district)
    return bearer(await token(gw, account["username"]))


async def verify(gw: httpx.AsyncClient, uscc: str, headers: dict[str, str], decision: str = "verify") -> httpx.Response:
    return await gw.post(
        f"/api/v1/organisations/{uscc}/verify", json={"decision": decision, "comments": "checked"}, headers=headers
    )


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body = r.json()
    assert body["code"] == code and body["type"].endswith(code), body
    return body
