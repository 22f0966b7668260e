"""OAuth2 HTTP endpoints: RFC 8414 metadata, JWKS, the login page (``/oauth/authorize``), the token,
revocation and introspection endpoints. OAuth endpoints answer RFC 6749 ``{error,
error_description}`` JSON; the login page is HTML that works without JavaScript."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
import structlog
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from fastapi import APIRouter, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, JSONResponse, Response

from gateway.context import GatewayContext, gateway_context
from gateway.oauth.grants import AccountInfo
from gateway.oauth.server import (
    NO_STORE,
    AuthorizationServer,
    FormTooLarge,
    StarletteOAuth2Request,
    new_csrf,
    oauth_request,
    read_form,
)
from shared.errors import PROBLEM_JSON
from shared.i18n import current_language
from shared.openapi import COMPLETE

log = structlog.get_logger("gateway.oauth")

CSRF_COOKIE = "custody_csrf"
# No form-action directive: browsers apply it to the redirect that follows the POST, and that
# redirect goes to the client's own redirect URI (a loopback port for custody-cli).
PAGE_SECURITY = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
)

TEXT = {
    "zh": {
        "title": "登录 — 安全生产托管平台",
        "heading": "登录安全生产托管平台",
        "for_client": "授权给应用：",
        "username": "用户名",
        "password": "密码",
        "submit": "登录",
        "switch": "English",
        "wrong": "用户名或密码错误，请重试。",
        "csrf": "页面已过期，请重新提交。",
        "limited": "尝试次数过多，请 {s} 秒后再试。",
        "invalid": "授权请求无效：{e}",
        "too_large": "提交的内容过大。",
    },
    "en": {
        "title": "Sign in — Safety custody platform",
        "heading": "Sign in to the safety custody platform",
        "for_client": "Signing in to:",
        "username": "Username",
        "password": "Password",
        "submit": "Sign in",
        "switch": "中文",
        "wrong": "Wrong username or password. Please try again.",
        "csrf": "The page expired; please submit again.",
        "limited": "Too many attempts; try again in {s} seconds.",
        "invalid": "Invalid authorization request: {e}",
        "too_large": "The submitted form is too large.",
    },
}

router = APIRouter(tags=["oauth"])

# What the OAuth endpoints answer (RFC 6749 §5.2 errors are JSON, not problems; the login page is
# HTML), documented in full (shared.openapi adds the platform's 422 and 503 problems).
OAUTH_ERROR = {
    "application/json": {
        "schema": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
        }
    }
}
TOO_LARGE = {**OAUTH_ERROR, PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}
HTML = {"text/html": {"schema": {"type": "string"}}}


def _form(properties: dict[str, Any], example: dict[str, str]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "properties": {k: {"type": "string"} for k in properties}},
                    "example": example,
                }
            },
        },
        COMPLETE: True,
    }


def _endpoint_doc(fields: tuple[str, ...], example: dict[str, str]) -> dict[str, Any]:
    return {
        "responses": {
            200: {"description": "成功 / success", "content": JSON_OBJECT},
            400: {"description": "请求无效 / invalid_request, invalid_grant, ...", "content": OAUTH_ERROR},
            401: {"description": "客户端认证失败 / invalid_client", "content": OAUTH_ERROR},
            413: {"description": "请求体过大 / body too large", "content": TOO_LARGE},
            429: {"description": "请求过于频繁 / rate limited", "content": OAUTH_ERROR},
        },
        "openapi_extra": _form(dict.fromkeys(fields), example),
    }


TOKEN_DOC = _endpoint_doc(
    ("grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "client_id", "client_secret", "scope"),
    {
        "grant_type": "client_credentials",
        "client_id": "custody-cli",
        "client_secret": "secret",
        "scope": "custody.read",
    },
)
TOKEN_HINT_DOC = _endpoint_doc(
    ("token", "token_type_hint", "client_id", "client_secret"),
    {"token": "eyJ...", "client_id": "custody-cli", "client_secret": "secret"},
)
PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "登录页 / the login page", "content": HTML},
    302: {"description": "回到客户端 / back to the client (code or error)"},
    400: {"description": "请求无效 / invalid request (a page)", "content": HTML},
    401: {"description": "用户名或密码错误 / wrong credentials (a page)", "content": HTML},
    413: {"description": "请求体过大 / body too large", "content": {**HTML, **TOO_LARGE}},
    429: {"description": "请求过于频繁 / rate limited (a page)", "content": HTML},
}


def _address(request: Request) -> str:
    return gateway_context(request).address(request)


def oauth_error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers={**NO_STORE, **(headers or {})}
    )


# --- discovery -------------------------------------------------------------------------------
@router.get(
    "/.well-known/oauth-authorization-server",
    summary="RFC 8414 元数据 / authorization server metadata",
    openapi_extra={COMPLETE: True},
)
async def metadata(request: Request) -> dict[str, Any]:
    gw = gateway_context(request)
    issuer = gw.settings.issuer_url
    auth_methods = ["client_secret_basic", "client_secret_post", "none"]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "scopes_supported": ["custody.read", "custody.write"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "ui_locales_supported": ["zh-CN", "en"],
    }


@router.get(
    "/.well-known/jwks.json",
    summary="签名公钥 / JSON Web Key Set",
    responses={200: {"description": "JWKS", "content": JSON_OBJECT}},
    openapi_extra={COMPLETE: True},
)
async def jwks(request: Request) -> Response:
    body = orjson.dumps(gateway_context(request).keys.jwks())
    return Response(body, media_type="application/json", headers={"Cache-Control": "public, max-age=60"})


# --- token, revocation, introspection --------------------------------------------------------
def _client_id_of(request: Request, form: list[tuple[str, str]]) -> str | None:
    try:
        basic_id, _ = extract_basic_authorization(request.headers)
    except Exception:
        basic_id = None
    return basic_id or dict(form).get("client_id")


async def _endpoint(request: Request, call: Callable[[AuthorizationServer, StarletteOAuth2Request], Any]) -> Response:
    gw = gateway_context(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        form = await read_form(request)
    except FormTooLarge:
        return oauth_error(413, "invalid_request", "The request body is too large")
    if ctype != "application/x-www-form-urlencoded":
        return oauth_error(400, "invalid_request", "The body must be application/x-www-form-urlencoded")
    client_id = _client_id_of(request, form)
    address = _address(request)
    wait = gw.auth_limiter.check(address=address, account=client_id)
    if wait:
        return oauth_error(
            429, "rate_limited", f"Too many requests; retry after {wait} s", headers={"Retry-After": str(wait)}
        )
    req = oauth_request(request, gw.settings, form=form, payload_from="form")
    result = await gw.server.run(lambda: call(gw.server, req))
    if result[0] >= 400:
        gw.auth_limiter.failed(await _named_in_failure(gw, form, client_id), address)
    return AuthorizationServer.to_response(result)


async def _named_in_failure(gw: GatewayContext, form: list[tuple[str, str]], client_id: str | None) -> str | None:
    """Whom a failed request counts against besides its address: the client it names — except a
    refresh with a token we never issued, which counts against the address only (else anyone could
    lock out ``custody-cli`` or ``custody-portal`` by naming it with junk tokens)."""
    fields = dict(form)
    if fields.get("grant_type") == "refresh_token" and not await gw.store.refresh_exists(
        fields.get("refresh_token", "")
    ):
        return None
    return client_id


@router.post("/oauth/token", summary="令牌端点 / token endpoint", **TOKEN_DOC)
async def token(request: Request) -> Response:
    return await _endpoint(request, lambda server, req: server.create_token_response(req))


@router.post("/oauth/revoke", summary="撤销令牌（RFC 7009） / revocation", **TOKEN_HINT_DOC)
async def revoke(request: Request) -> Response:
    return await _endpoint(request, lambda server, req: server.create_endpoint_response("revocation", req))


@router.post("/oauth/introspect", summary="令牌自省（RFC 7662） / introspection", **TOKEN_HINT_DOC)
async def introspect(request: Request) -> Response:
    return await _endpoint(request, lambda server, req: server.create_endpoint_response("introspection", req))


# --- the login page --------------------------------------------------------------------------
def _language(request: Request) -> str:
    lang = request.query_params.get("lang")
    if lang:
        return "en" if lang.lower().startswith("en") else "zh"
    return "en" if current_language.get().startswith("en") else "zh"


def _switch_url(request: Request, lang: str) -> str:
    pairs = [(k, v) for k, v in parse_qsl(request.url.query, keep_blank_values=True) if k != "lang"]
    pairs.append(("lang", "zh-CN" if lang == "en" else "en"))
    return f"{request.url.path}?{urlencode(pairs)}"


def _page(
    request: Request,
    *,
    status: int,
    error: str | None = None,
    show_form: bool = True,
    client_name: str | None = None,
    username: str = "",
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    lang = _language(request)
    csrf = request.cookies.get(CSRF_COOKIE)
    if not csrf or len(csrf) > 64:
        csrf = new_csrf()
    query = request.url.query
    html = TEMPLATES.get_template("login.html").render(
        t=TEXT[lang],
        en=lang == "en",
        error=error,
        show_form=show_form,
        client_name=client_name,
        username=username,
        csrf=csrf,
        action=f"{request.url.path}" + (f"?{query}" if query else ""),
        switch_url=_switch_url(request, lang),
    )
    response = HTMLResponse(
        html,
        status_code=status,
        headers={**NO_STORE, **PAGE_SECURITY, **(headers or {}), "Content-Language": "en" if lang == "en" else "zh-CN"},
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        httponly=True,
        samesite="strict",
        path="/oauth/authorize",
        secure=gateway_context(request).settings.issuer_url.startswith("https://"),
    )
    return response


async def _consent_grant(request: Request, form: list[tuple[str, str]]) -> tuple[StarletteOAuth2Request, Any]:
    gw = gateway_context(request)
    req = oauth_request(request, gw.settings, form=form, payload_from="args")
    return req, await gw.server.run(lambda: gw.server.get_consent_grant(req, end_user=None))


def _error_redirect_or_page(request: Request, error: OAuth2Error) -> Response:
    if getattr(error, "redirect_uri", None):
        _status, _body, headers = error(None)
        location = dict(headers).get("Location")
        if location:
            return Response(status_code=302, headers={"Location": location, **NO_STORE})
    lang = _language(request)
    message = TEXT[lang]["invalid"].format(e=error.description or error.error)
    return _page(request, status=400, error=message, show_form=False)


@router.get(
    "/oauth/authorize",
    summary="登录页 / login page",
    response_class=HTMLResponse,
    responses={k: v for k, v in PAGE_RESPONSES.items() if k in (200, 302, 400)},
    openapi_extra={COMPLETE: True},
)
async def authorize_page(request: Request) -> Response:
    try:
        _, grant = await _consent_grant(request, [])
    except OAuth2Error as error:
        return _error_redirect_or_page(request, error)
    return _page(request, status=200, client_name=grant.client.name)


@router.post(
    "/oauth/authorize",
    summary="提交登录 / sign in",
    response_class=HTMLResponse,
    responses=PAGE_RESPONSES,
    openapi_extra=_form(
        dict.fromkeys(("username", "password", "csrf")), {"username": "admin", "password": "secret", "csrf": "x"}
    ),
)
async def authorize_submit(request: Request) -> Response:
    gw = gateway_context(request)
    lang = _language(request)
    try:
        form = await read_form(request)
    except FormTooLarge:
        return _page(request, status=413, error=TEXT[lang]["too_large"], show_form=False)
    try:
        req, grant = await _consent_grant(request, form)
    except OAuth2Error as error:
        return _error_redirect_or_page(request, error)
    fields = dict(form)
    username = fields.get("username", "")[:64]
    password = fields.get("password", "")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), fields.get("csrf", "").encode()):
        return _page(request, status=400, error=TEXT[lang]["csrf"], client_name=grant.client.name, username=username)
    wait = gw.auth_limiter.check(address=_address(request), account=username or None)
    if wait:
        return _page(
            request,
            status=429,
            error=TEXT[lang]["limited"].format(s=wait),
            client_name=grant.client.name,
            username=username,
            headers={"Retry-After": str(wait)},
        )
    account = None
    if username and password and len(password) <= 200:
        from gateway.accounts import find_account

        row = await find_account(gw.db, username)
        ok = await gw.passwords.verify(row.password_hash if row is not None else None, password)
        if ok and row is not None and not row.disabled:
            account = AccountInfo.of(row)
    if account is None:
        gw.auth_limiter.failed(username or None, _address(request))
        log.info("gateway.login.failed", username=username, address=_address(request))
        return _page(request, status=401, error=TEXT[lang]["wrong"], client_name=grant.client.name, username=username)
    result = await gw.server.run(lambda: gw.server.create_authorization_response(req, grant_user=account, grant=grant))
    log.info("gateway.login.succeeded", username=account.username, client_id=grant.client.client_id)
    return AuthorizationServer.to_response(result)
