"""The real platform in tests: the gateway and the five services as uvicorn processes on free
ports, on one test backend (its databases, its NATS, its own stream), plus helpers to act as the
admin, a bureau, an agency or an enterprise through the gateway's OAuth2 endpoints."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devtools.natsserver import free_port
from devtools.supervisor import COMPONENTS, Supervisor
from shared.settings import Settings

ADMIN_ID = "test-admin"
ADMIN_SECRET = "test-admin-secret-0123456789"
_counter = itertools.count(1)


@dataclass
class Actor:
    username: str
    role: str
    token: str
    account: dict[str, Any]
    client_id: str
    client_secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Platform:
    def __init__(self, settings: Settings, log_dir: Path, *, replicas: dict[str, int] | None = None) -> None:
        ports = {f"{name}_port": free_port() for name in COMPONENTS}
        defaults = Settings.model_fields
        self.settings = settings.model_copy(
            update={
                **ports,
                "issuer": None,
                "jwks_url": None,
                "env": "test",
                "admin_client_id": ADMIN_ID,
                "admin_client_secret": ADMIN_SECRET,
                "sweep_interval_seconds": 0,
                # every test signs its actors up from 127.0.0.1: unless a test sets its own limit
                **(
                    {"signup_rate_limit": 100_000}
                    if settings.signup_rate_limit == defaults["signup_rate_limit"].default
                    else {}
                ),
            }
        )
        self.supervisor = Supervisor(settings=self.settings, log_dir=log_dir, replicas=replicas or {})
        self.supervisor.nats = None  # tests bring their own NATS (the backend's)
        self.url = self.settings.url_of("gateway")
        self.client = httpx.AsyncClient(base_url=self.url, timeout=20.0)
        self._admin_token: str | None = None

    async def start(self, timeout: float = 60.0) -> Platform:
        self.supervisor.start()
        await asyncio.to_thread(self.supervisor.wait_ready, timeout)
        return self

    async def stop(self) -> None:
        await self.client.aclose()
        await asyncio.to_thread(self.supervisor.stop)

    def service_url(self, name: str) -> str:
        return self.settings.url_of(name)

    # --- identities -----------------------------------------------------------------------
    async def token(self, client_id: str, client_secret: str, scope: str | None = None) -> str:
        data = {"grant_type": "client_credentials"}
        if scope:
            data["scope"] = scope
        r = await self.client.post("/oauth/token", data=data, auth=(client_id, client_secret))
        assert r.status_code == 200, r.text
        token: str = r.json()["access_token"]
        return token

    async def admin_headers(self) -> dict[str, str]:
        if self._admin_token is None:
            self._admin_token = await self.token(ADMIN_ID, ADMIN_SECRET)
        return {"Authorization": f"Bearer {self._admin_token}"}

    async def actor(
        self,
        role: str,
        *,
        district: str | None = None,
        org_uscc: str | None = None,
        username: str | None = None,
        scopes: str | None = None,
        verified: bool = True,
        invitation: str | None = None,
    ) -> Actor:
        """Create an account (sign-up for agencies and enterprises, admin for bureaus), a
        client_credentials client acting as it, and a token. An agency's or enterprise's
        organisation is verified by the admin first (SPEC §14) unless ``verified=False``; with an
        ``invitation`` the account joins the organisation instead."""
        username = username or f"{role}{next(_counter)}-{free_port()}"
        password = "Pa55word-for-tests"
        admin = await self.admin_headers()
        if role in ("agency", "enterprise"):
            body = {
                "username": username,
                "password": password,
                "role": role,
                "org_uscc": org_uscc,
                "display_name": username,
            }
            if invitation:
                body["invitation"] = invitation
            r = await self.client.post("/api/v1/accounts", json=body)
            if r.status_code == 201 and verified and r.json().get("org_status") == "pending":
                v = await self.client.post(
                    f"/api/v1/organisations/{org_uscc}/verify",
                    headers=admin,
                    json={"decision": "verify", "comments": "test platform"},
                )
                assert v.status_code == 200, v.text
        else:
            body = {"username": username, "password": password, "role": role}
            if district:
                body["district"] = district
            r = await self.client.post("/api/v1/admin/accounts", json=body, headers=admin)
        assert r.status_code == 201, r.text
        account = r.json()
        body = {"username": username, "name": f"{username}-client"}
        if scopes:
            body["scopes"] = scopes
        r = await self.client.post("/api/v1/admin/clients", json=body, headers=admin)
        assert r.status_code == 201, r.text
        creds = r.json()
        token = await self.token(creds["client_id"], creds["client_secret"])
        return Actor(username, role, token, account, creds["client_id"], creds["client_secret"])


@asynccontextmanager
async def started_platform(settings: Settings, log_dir: Path, **kw: Any) -> AsyncIterator[Platform]:
    """A running platform for the duration of the block; on a failed start, the processes' logs
    are printed so the test output says why."""
    running = Platform(settings, log_dir, **kw)
    try:
        await running.start()
    except Exception:
        await running.stop()
        for log in sorted(Path(log_dir).glob("*.log")):  # noqa: ASYNC240  # start-up failed: only the report is left to do
            print(f"--- {log.name}\n{log.read_text()[-3000:]}")
        raise
    try:
        yield running
    finally:
        await running.stop()
