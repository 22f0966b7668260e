"""Signing in and out: the gateway's own OAuth login (authorization code + PKCE S256, public client
``custody-portal``), the callback that exchanges the code, logout by POST with the CSRF token
(which revokes the refresh token family at the gateway), and ``/portal`` → the role's home page."""

from __future__ import annotations

import time
from urllib.parse import urlencode, urlsplit

import httpx
import structlog
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from portal import nav
from portal import session as sessions
from portal.api import ApiError
from portal.web import PORTAL_CLIENT_ID, PORTAL_SCOPE, public_base, safe_next, token_request, view_of

log = structlog.get_logger("portal.auth")
router = APIRouter(include_in_schema=False)
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def redirect_uri(request: Request) -> str:
    """The callback as the browser sees the gateway. The gateway accepts it only when it is
    registered (its configured URL, or a loopback host on any port)."""
    candidate = f"{public_base(request)}/portal/callback"
    parts = urlsplit(candidate)
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return candidate
    settings = request.app.state.portal.settings
    configured = f"{settings.issuer_url}/portal/callback"
    return candidate if candidate == configured else f"{settings.url_of('gateway')}/portal/callback"


@router.get("/portal/login")
async def login(request: Request) -> Response:
    v = await view_of(request)
    next_path = safe_next(request.query_params.get("next"))
    verifier, challenge = sessions.pkce_pair()
    state_value = sessions.new_token()
    uri = redirect_uri(request)
    v.cookies.append(
        (
            sessions.LOGIN_COOKIE,
            v.state.sealer.seal(
                {
                    "state": state_value,
                    "verifier": verifier,
                    "next": next_path,
                    "redirect_uri": uri,
                    "exp": int(time.time()) + sessions.LOGIN_SECONDS,
                },
                purpose="login",
            ),
            {"path": "/portal/callback", "max_age": sessions.LOGIN_SECONDS},
        )
    )
    query = {
        "response_type": "code",
        "client_id": PORTAL_CLIENT_ID,
        "redirect_uri": uri,
        "scope": PORTAL_SCOPE,
        "state": state_value,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if v.en:
        query["lang"] = "en"
    return v.finish(RedirectResponse(f"/oauth/authorize?{urlencode(query)}", status_code=303))


@router.get("/portal/callback")
async def callback(request: Request) -> Response:
    v = await view_of(request)
    pending = v.state.sealer.open(
        request.cookies.get(sessions.LOGIN_COOKIE), purpose="login", max_age=sessions.LOGIN_SECONDS
    )
    v.cookies.append((sessions.LOGIN_COOKIE, None, {"path": "/portal/callback"}))
    params = request.query_params
    code, state_value = params.get("code"), params.get("state")
    if pending is None or not sessions.same(state_value, pending.get("state")) or not code or params.get("error"):
        log.info("portal.login.incomplete", error=params.get("error"), has_pending=pending is not None)
        return v.error(400, v.t("login_failed"))
    client = request.client
    try:
        tokens = await token_request(
            v.state,
            {
                "grant_type": "authorization_code",
                "code": code[:500],
                "redirect_uri": pending["redirect_uri"],
                "client_id": PORTAL_CLIENT_ID,
                "code_verifier": pending["verifier"],
            },
            client.host if client else None,
        )
    except ApiError:
        return v.error(503, v.t("unavailable"))
    if tokens is None:
        return v.error(400, v.t("login_failed"))
    v.store_session(sessions.session_from_tokens(tokens))
    log.info("portal.login.succeeded", sub=v.user.get("sub") if v.user else None, role=v.role)
    next_path = pending.get("next") or "/portal"
    return v.redirect(safe_next(next_path))


@router.post("/portal/logout")
async def logout(request: Request) -> Response:
    v = await view_of(request)
    if v.user is None:
        return v.redirect("/")
    await v.form()  # checks the CSRF token: nobody logs a person out from another site
    refresh = v.user.get("rt")
    if refresh:
        try:
            await v.state.client.post(
                "/oauth/revoke",
                data={"token": refresh, "token_type_hint": "refresh_token", "client_id": PORTAL_CLIENT_ID},
                timeout=3.0,
            )
        except (httpx.HTTPError, OSError) as exc:
            log.warning("portal.logout.revoke_failed", error=type(exc).__name__)
    v.clear_session()
    return v.redirect("/", ok="logged_out")


@router.get("/portal")
async def home(request: Request) -> Response:
    v = await view_of(request)
    user = v.require()
    return v.redirect(nav.HOME.get(str(user.get("role")), "/"))
