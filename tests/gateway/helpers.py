"""Helpers for gateway tests: PKCE pairs, tokens through the real endpoints, the login form."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from shared.reference import make_uscc

ADMIN_ID = "test-admin"
ADMIN_SECRET = "test-admin-secret-0123456789"
VALID_USCC = make_uscc("91440703MA4UJ8XK6")
OTHER_USCC = make_uscc("91440704MA4UJ8XK7")


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def admin_token(client: httpx.AsyncClient, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    response = await client.post("/oauth/token", data=data, auth=(ADMIN_ID, ADMIN_SECRET))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_up(
    client: httpx.AsyncClient,
    username: str,
    password: str = "correct horse battery",
    role: str = "enterprise",
    org_uscc: str | None = None,
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/accounts",
        json={
            "username": username,
            "password": password,
            "role": role,
            "org_uscc": org_uscc or VALID_USCC,
            "display_name": f"{username} Ltd",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def authorize_query(
    challenge: str,
    *,
    redirect_uri: str = "http://127.0.0.1:53682/callback",
    state: str = "st-1",
    client_id: str = "custody-cli",
    **extra: str,
) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": state,
        "scope": "custody.read custody.write",
        **extra,
    }
    return urlencode(params)


async def login(client: httpx.AsyncClient, query: str, username: str, password: str) -> httpx.Response:
    """GET the login page, then POST the form to the same URL (as a browser without JS does)."""
    page = await client.get(f"/oauth/authorize?{query}")
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return await client.post(
        f"/oauth/authorize?{query}", data={"username": username, "password": password, "csrf": csrf}
    )


def code_of(response: httpx.Response) -> tuple[str, str]:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    params = parse_qs(location.query)
    return params["code"][0], params["state"][0]


async def pkce_tokens(
    client: httpx.AsyncClient, username: str, password: str, redirect_uri: str = "http://127.0.0.1:53682/callback"
) -> dict[str, Any]:
    verifier, challenge = pkce()
    response = await login(client, authorize_query(challenge, redirect_uri=redirect_uri), username, password)
    code, _ = code_of(response)
    token = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": "custody-cli",
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.text
    return token.json()
