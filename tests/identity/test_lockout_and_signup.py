"""Lockout abuse closed (issue #14 item 4), sign-up that cannot stall the platform (item 5) and the
refresh race (item 8), in process on both backends where state is kept. Addresses are told apart
with ``X-Forwarded-For`` from a trusted proxy (the test transport's peer, 10.1.2.3)."""

from __future__ import annotations

import asyncio
import threading
import time

from shared.clock import FrozenClock
from tests.gateway.conftest import gateway_settings, running_gateway
from tests.gateway.helpers import ADMIN_ID, ADMIN_SECRET, authorize_query, code_of, pkce, pkce_tokens
from tests.identity.helpers import PASSWORD, admin_account, assert_problem, fresh_uscc, signup, unique

PROXY = "10.1.2.3"


def at(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def _login_from(gw, address: str, username: str, password: str):
    verifier, challenge = pkce()
    query = authorize_query(challenge)
    page = await gw.get(f"/oauth/authorize?{query}", headers=at(address))
    import re

    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return await gw.post(
        f"/oauth/authorize?{query}",
        data={"username": username, "password": password, "csrf": csrf},
        headers=at(address),
    ), verifier


async def test_someone_elses_failures_never_lock_out_the_rightful_owner(backend):
    settings = gateway_settings(backend, auth_rate_limit=10, auth_rate_window_seconds=60, trusted_proxies=PROXY)
    async with running_gateway(settings) as gw:
        bureau = await admin_account(gw, "bureau", district="440703")
        attacker = "198.51.100.66"
        statuses = []
        for i in range(25):  # failing refreshes naming custody-cli (tokens we never issued)
            r = await gw.post(
                "/oauth/token",
                data={"grant_type": "refresh_token", "refresh_token": f"junk-{i}", "client_id": "custody-cli"},
                headers=at(attacker),
            )
            statuses.append(r.status_code)
        for _ in range(15):  # wrong passwords for the bureau's username
            r, _ = await _login_from(gw, attacker, bureau["username"], "wrong-password")
            statuses.append(r.status_code)
        assert 429 in statuses  # the attacker's address is refused …
        assert (
            await gw.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(ADMIN_ID, ADMIN_SECRET),
                headers=at(attacker),
            )
        ).status_code == 429  # … whatever it sends
        # … the rightful owner, from its own address, signs in at once
        r, verifier = await _login_from(gw, "203.0.113.10", bureau["username"], PASSWORD)
        code, _ = code_of(r)
        token = await gw.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": "http://127.0.0.1:53682/callback",
                "client_id": "custody-cli",
                "code_verifier": verifier,
            },
            headers=at("203.0.113.10"),
        )
        assert token.status_code == 200, token.text
        # custody-cli's refreshes work for everyone else
        refreshed = await gw.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "client_id": "custody-cli",
                "refresh_token": token.json()["refresh_token"],
            },
            headers=at("203.0.113.10"),
        )
        assert refreshed.status_code == 200, refreshed.text
        # and the admin's client_credentials token
        admin = await gw.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(ADMIN_ID, ADMIN_SECRET),
            headers=at("203.0.113.20"),
        )
        assert admin.status_code == 200


async def test_failures_count_per_account_and_address_and_an_unknown_refresh_token_per_address_only(sqlite_backend):
    settings = gateway_settings(sqlite_backend, auth_rate_limit=3, auth_rate_window_seconds=60, trusted_proxies=PROXY)
    async with running_gateway(settings) as gw:
        # three wrong secrets for the admin client from one address lock that pair only
        for _ in range(3):
            assert (
                await gw.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(ADMIN_ID, "wrong"),
                    headers=at("198.51.100.1"),
                )
            ).status_code == 401
        assert (
            await gw.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(ADMIN_ID, ADMIN_SECRET),
                headers=at("198.51.100.1"),
            )
        ).status_code == 429
        assert (
            await gw.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(ADMIN_ID, ADMIN_SECRET),
                headers=at("198.51.100.2"),
            )
        ).status_code == 200
        # unknown refresh tokens naming custody-cli from many addresses: custody-cli is never locked
        for i in range(12):
            await gw.post(
                "/oauth/token",
                data={"grant_type": "refresh_token", "refresh_token": "junk", "client_id": "custody-cli"},
                headers=at(f"198.51.100.{10 + i}"),
            )
        account = (await signup(gw, "enterprise", fresh_uscc())).json()
        tokens = await pkce_tokens(gw, account["username"], PASSWORD)
        ok = await gw.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "client_id": "custody-cli", "refresh_token": tokens["refresh_token"]},
            headers=at("198.51.100.99"),
        )
        assert ok.status_code == 200, ok.text
        assert gw.app.state.gw.auth_limiter.pair_failures.level("acct:custody-cli@198.51.100.10") == 3  # not counted


async def test_a_distributed_guess_refuses_only_the_addresses_that_failed(sqlite_backend):
    settings = gateway_settings(sqlite_backend, auth_rate_limit=1, auth_rate_window_seconds=600, trusted_proxies=PROXY)
    async with running_gateway(settings) as gw:
        bureau = await admin_account(gw, "bureau", district="440703")
        for i in range(12):  # more failures for the account than ACCOUNT_FAILURES × limit, one per address
            await _login_from(gw, f"198.51.100.{i}", bureau["username"], "guess")
        again, _ = await _login_from(gw, "198.51.100.0", bureau["username"], "guess")
        assert again.status_code == 429
        rightful, _ = await _login_from(gw, "203.0.113.50", bureau["username"], PASSWORD)
        assert rightful.status_code == 302  # a clean address still gets in


async def test_sign_up_is_rate_limited_per_address_and_the_username_is_checked_before_hashing(sqlite_backend):
    settings = gateway_settings(
        sqlite_backend, signup_rate_limit=3, signup_rate_window_seconds=3600, trusted_proxies=PROXY
    )
    async with running_gateway(settings) as gw:
        passwords = gw.app.state.gw.passwords
        hashed = []
        original = passwords.hash

        async def counting(password: str) -> str:
            hashed.append(password)
            return await original(password)

        passwords.hash = counting
        taken = (await signup(gw, "agency", fresh_uscc(), **at("198.51.100.1"))).json()
        assert len(hashed) == 1
        assert_problem(
            await signup(gw, "agency", fresh_uscc(), username=taken["username"], expect=409, **at("198.51.100.1")),
            409,
            "username_taken",
        )
        assert_problem(
            await signup(gw, "agency", taken["org_uscc"], expect=409, **at("198.51.100.1")), 409, "organisation_exists"
        )
        assert len(hashed) == 1  # refused before any Argon2
        limited = await signup(gw, "agency", fresh_uscc(), expect=429, **at("198.51.100.1"))
        assert_problem(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1
        assert len(hashed) == 1
        await signup(gw, "agency", fresh_uscc(), **at("198.51.100.2"))  # another address is not affected


async def test_argon2_runs_with_bounded_concurrency(sqlite_backend):
    settings = gateway_settings(sqlite_backend, password_hash_concurrency=1)
    async with running_gateway(settings) as gw:
        passwords = gw.app.state.gw.passwords
        active, peak, lock = [0], [0], threading.Lock()
        original = passwords.hasher.hash

        def watched(password: str) -> str:
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            try:
                time.sleep(0.05)
                return original(password)
            finally:
                with lock:
                    active[0] -= 1

        class Watched:
            hash = staticmethod(watched)
            verify = staticmethod(passwords.hasher.verify)

        passwords.hasher = Watched()
        results = await asyncio.gather(
            *(
                gw.post(
                    "/api/v1/accounts",
                    json={
                        "username": unique("flood"),
                        "password": PASSWORD,
                        "role": "enterprise",
                        "org_uscc": fresh_uscc(),
                        "display_name": "x",
                    },
                )
                for _ in range(8)
            )
        )
        assert [r.status_code for r in results] == [201] * 8
        assert peak[0] == 1
        # a token request meanwhile does not queue behind the sign-ups' Argon2
        started = time.monotonic()
        waiting = [
            asyncio.create_task(
                gw.post(
                    "/api/v1/accounts",
                    json={
                        "username": unique("flood"),
                        "password": PASSWORD,
                        "role": "enterprise",
                        "org_uscc": fresh_uscc(),
                        "display_name": "x",
                    },
                )
            )
            for _ in range(8)
        ]
        await asyncio.sleep(0.05)
        token = await gw.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(ADMIN_ID, ADMIN_SECRET))
        elapsed = time.monotonic() - started
        assert token.status_code == 200 and elapsed < 0.4 * 8 / 2, elapsed  # well before the 8 × 50 ms of hashing end
        await asyncio.gather(*waiting)


async def test_a_racing_refresh_of_the_same_client_gets_the_same_pair_but_not_another_client(backend):
    clock = FrozenClock()
    async with running_gateway(gateway_settings(backend), clock) as gw:
        account = (await signup(gw, "enterprise", fresh_uscc())).json()
        tokens = await pkce_tokens(gw, account["username"], PASSWORD)
        refresh = tokens["refresh_token"]
        first = await gw.post(
            "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": refresh, "client_id": "custody-cli"}
        )
        clock.advance(seconds=4)
        second = await gw.post(
            "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": refresh, "client_id": "custody-cli"}
        )
        assert first.status_code == second.status_code == 200 and first.json() == second.json()
        # the pair keeps working (the family was not revoked)
        from tests.gateway.helpers import bearer

        assert (await gw.get("/api/v1/me", headers=bearer(second.json()["access_token"]))).status_code == 200
        # another client presenting the used token gets nothing, and the family is revoked
        other = await gw.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh},
            auth=(ADMIN_ID, ADMIN_SECRET),
        )
        assert other.status_code in (400, 401) and "access_token" not in other.text
        clock.advance(seconds=2)  # past the grace
        late = await gw.post(
            "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": refresh, "client_id": "custody-cli"}
        )
        assert late.status_code == 400
        assert (await gw.get("/api/v1/me", headers=bearer(second.json()["access_token"]))).status_code == 401
        # the stored successor is sealed: the database alone does not give the pair away
        import sqlalchemy as sa

        from gateway.models import RefreshToken

        async with gw.app.state.gw.db.reader() as session:
            sealed = (
                (await session.execute(sa.select(RefreshToken.successor).where(RefreshToken.successor.is_not(None))))
                .scalars()
                .all()
            )
        assert sealed and all(
            second.json()["access_token"] not in s and second.json()["refresh_token"] not in s for s in sealed
        )


async def test_the_portal_style_token_calls_from_loopback_count_per_browser_address(sqlite_backend):
    """The portal exchanges codes and refreshes from the gateway's own host; with loopback trusted
    (the default), the address it forwards is what counts, so one user's failures do not lock out
    every portal user."""
    settings = gateway_settings(sqlite_backend, auth_rate_limit=2, auth_rate_window_seconds=60)
    assert settings.trusted_proxies == "127.0.0.1,::1"
    import httpx

    from gateway.main import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as gw:
            for _ in range(8):
                await gw.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(ADMIN_ID, "wrong"),
                    headers=at("198.51.100.7"),
                )
            ok = await gw.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(ADMIN_ID, ADMIN_SECRET),
                headers=at("198.51.100.8"),
            )
            assert ok.status_code == 200
    await app.state.gw.db.dispose()
