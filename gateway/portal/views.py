"""The portal's pages (SPEC §12): the public directory, the policy, the bureau dashboard after the
OAuth login, exports, and the AsyncAPI document.

Server-rendered with Jinja2 (autoescape on), no JavaScript. Data comes from the platform's own
API — each list from the service that owns it, with the signed-in user's token, or anonymously for
the public directory. A service that is down gives a friendly page, never a 500.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import structlog
from fastapi import APIRouter, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from gateway.portal import dashboard as dash
from gateway.portal import exports, labels, session
from gateway.portal.upstream import Upstream, UpstreamError
from shared.events.catalog import CATALOG, asyncapi_document, source_of
from shared.i18n import negotiate
from shared.reference import Industry, load_jurisdiction
from shared.settings import Settings

log = structlog.get_logger("gateway.portal")

HERE = Path(__file__).resolve().parent
PORTAL_CLIENT_ID = "custody-portal"
PORTAL_CLIENT_NAME = "安全生产托管平台门户 / custody portal"
PORTAL_SCOPE = "custody.read"
DIRECTORY_PAGE_SIZE = 25
EXPORT_MAX_ROWS = 50_000
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
NO_STORE = {"Cache-Control": "no-store"}

TEMPLATES = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                        trim_blocks=True, lstrip_blocks=True)

router = APIRouter(include_in_schema=False)


# --- state ------------------------------------------------------------------------------------
@dataclass
class PortalState:
    settings: Settings
    secret: bytes
    transport: httpx.AsyncBaseTransport | None = None  # tests: where the API and the token endpoint are
    client_ready: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _find_settings(app: Any) -> Settings:
    state = getattr(app.state, "_state", {})
    for value in state.values():
        if isinstance(value, Settings):
            return value
        inner = getattr(value, "settings", None)
        if isinstance(inner, Settings):
            return inner
    return Settings()


def configure(app: Any, settings: Settings | None = None, *, transport: httpx.AsyncBaseTransport | None = None,
              secret: bytes | None = None) -> PortalState:
    """Optional: give the portal its settings (and, in tests, a transport). Without it the portal
    finds the gateway's settings on ``app.state`` at the first request."""
    settings = settings or _find_settings(app)
    state = PortalState(settings=settings, secret=secret or session.derive_secret(settings.admin_client_secret),
                        transport=transport)
    app.state.portal = state
    return state


def state_of(request: Request) -> PortalState:
    state = getattr(request.app.state, "portal", None)
    if state is None:
        state = configure(request.app)
    return state


def portal_redirect_uris(settings: Settings) -> list[str]:
    """The redirect URIs of the portal client: the configured gateway URL, and the loopback forms
    (which the gateway matches on any port, RFC 8252)."""
    uris = [f"{settings.url_of('gateway')}/portal/callback"]
    for host in ("127.0.0.1", "localhost", "[::1]"):
        uri = f"http://{host}/portal/callback"
        if uri not in uris:
            uris.append(uri)
    return uris


async def ensure_portal_client(db: Any, settings: Settings, *, now: Any = None) -> None:
    """Make sure the public PKCE client ``custody-portal`` exists in the gateway's database with the
    portal's redirect URIs and the read scope. Idempotent; the gateway calls it at start-up
    (``await ensure_portal_client(gw.db, gw.settings, now=gw.clock.now())``), and the portal calls it
    once lazily before its first login if it finds the gateway's state."""
    from datetime import datetime, timezone

    from gateway.models import Client

    now = now or datetime.now(timezone.utc)
    uris = " ".join(portal_redirect_uris(settings))
    async with db.transaction() as s:
        client = await s.get(Client, PORTAL_CLIENT_ID)
        if client is None:
            s.add(Client(client_id=PORTAL_CLIENT_ID, name=PORTAL_CLIENT_NAME, secret_hash=None, account_id=None,
                         grant_types="authorization_code refresh_token", redirect_uris=uris, scopes=PORTAL_SCOPE,
                         created_at=now))
        else:
            client.name = PORTAL_CLIENT_NAME
            client.secret_hash = None
            client.account_id = None
            client.grant_types = "authorization_code refresh_token"
            client.redirect_uris = uris
            client.scopes = PORTAL_SCOPE


async def _ensure_client_lazily(request: Request, state: PortalState) -> None:
    if state.client_ready:
        return
    gw = getattr(request.app.state, "gw", None)
    db = getattr(gw, "db", None)
    if db is None:
        return
    try:
        await ensure_portal_client(db, state.settings)
        state.client_ready = True
    except Exception as exc:  # noqa: BLE001 - the login then fails visibly at the gateway
        log.warning("portal.client.ensure_failed", error=str(exc))


# --- language and rendering ----------------------------------------------------------------------
def language_of(request: Request) -> tuple[str, bool]:
    """``(language, chosen_now)``: ``?lang=`` (remembered in a cookie), else the cookie, else the
    browser's Accept-Language; zh-CN by default."""
    asked = request.query_params.get("lang")
    if asked:
        return ("en" if asked.lower().startswith("en") else "zh-CN"), True
    cookie = request.cookies.get(session.LANG_COOKIE)
    if cookie in labels.LANGUAGES:
        return cookie, False
    return negotiate(request.headers.get("accept-language")), False


def _query_without(request: Request, *drop: str, **add: str) -> str:
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in drop and k not in add]
    pairs.extend((k, v) for k, v in add.items() if v not in (None, ""))
    return urlencode(pairs)


def switch_url(request: Request, lang: str) -> str:
    query = _query_without(request, "lang", lang="zh-CN" if labels.is_en(lang) else "en")
    return f"{request.url.path}?{query}"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


@dataclass
class View:
    """What every page needs: the language, the session, and cookies to set on the way out."""

    request: Request
    state: PortalState
    lang: str
    lang_chosen: bool
    user: dict[str, Any] | None = None
    cookies: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)

    def t(self, key: str, **params: object) -> str:
        return labels.message(key, self.lang, **params)

    def finish(self, response: Response, *, private: bool = False) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers["Content-Language"] = self.lang
        if private:
            response.headers["Cache-Control"] = "no-store"
        if self.lang_chosen:
            response.set_cookie(session.LANG_COOKIE, self.lang, max_age=365 * 86400, httponly=True, samesite="lax",
                                secure=_secure(self.request), path="/")
        for name, value, options in self.cookies:
            if value is None:
                response.delete_cookie(name, path=options.get("path", "/"))
            else:
                response.set_cookie(name, value, httponly=True, samesite="lax", secure=_secure(self.request), **options)
        return response

    def render(self, template: str, status: int = 200, *, private: bool = False, **context: Any) -> Response:
        html = TEMPLATES.get_template(template).render(
            lang=self.lang, en=labels.is_en(self.lang), t=self.t, user=self.user,
            name=lambda vocabulary, code: labels.name(vocabulary, code, self.lang),
            district_name=lambda code: labels.district_name(code, self.lang),
            switch_url=switch_url(self.request, self.lang), path=self.request.url.path,
            sep=", " if labels.is_en(self.lang) else "、", **context)
        return self.finish(HTMLResponse(html, status_code=status), private=private)

    def error(self, status: int, message: str) -> Response:
        return self.render("error.html", status=status, message=message, private=True)


async def view_of(request: Request) -> View:
    state = state_of(request)
    lang, chosen = language_of(request)
    v = View(request=request, state=state, lang=lang, lang_chosen=chosen)
    v.user = await _session_user(v)
    return v


# --- the session ----------------------------------------------------------------------------------
def _store_session(v: View, data: dict[str, Any]) -> None:
    value = session.sign(data, v.state.secret, purpose="session")
    if len(value) > session.MAX_COOKIE_BYTES and data.get("rt"):
        data = {**data, "rt": None}  # too large for a cookie: keep the access token only
        value = session.sign(data, v.state.secret, purpose="session")
    v.cookies.append((session.SESSION_COOKIE, value, {"path": "/", "max_age": 30 * 86400}))
    v.user = data


def _clear_session(v: View) -> None:
    v.cookies.append((session.SESSION_COOKIE, None, {"path": "/"}))
    v.user = None


def _browser(request: Request) -> dict[str, str]:
    """The user's address for the gateway's lockout counting (SPEC §14): the portal calls the token
    endpoint from the gateway's host, which the gateway trusts as a proxy by default."""
    gw = getattr(request.app.state, "gw", None)
    address = gw.address(request) if gw is not None else (request.client.host if request.client else None)
    return {"X-Forwarded-For": address} if address else {}


async def _token_request(state: PortalState, form: dict[str, str], headers: dict[str, str] | None = None) -> dict[str, Any] | None:
    url = f"{state.settings.url_of('gateway')}/oauth/token"
    try:
        async with httpx.AsyncClient(transport=state.transport, timeout=httpx.Timeout(5.0, connect=2.0)) as client:
            response = await client.post(url, data=form, headers=headers)
    except (httpx.HTTPError, OSError) as exc:
        log.warning("portal.token.unreachable", error=type(exc).__name__)
        raise UpstreamError("gateway", 0, type(exc).__name__) from exc
    if response.status_code != 200:
        log.info("portal.token.refused", status=response.status_code, body=response.text[:200])
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) and body.get("access_token") else None


def _session_from_tokens(tokens: dict[str, Any]) -> dict[str, Any]:
    claims = session.jwt_claims(tokens["access_token"])
    expires_in = tokens.get("expires_in")
    exp = claims.get("exp") or (time.time() + float(expires_in or 300))
    return {"at": tokens["access_token"], "rt": tokens.get("refresh_token"), "at_exp": int(exp),
            "sub": claims.get("sub"), "role": claims.get("role"), "district": claims.get("district"),
            "org_uscc": claims.get("org_uscc"), "username": claims.get("username") or claims.get("preferred_username"),
            "exp": int(time.time()) + 30 * 86400}


async def _session_user(v: View) -> dict[str, Any] | None:
    data = session.unsign(v.request.cookies.get(session.SESSION_COOKIE), v.state.secret, purpose="session")
    if data is None or not isinstance(data.get("at"), str):
        return None
    if float(data.get("at_exp") or 0) > time.time() + 20:
        return data
    if not data.get("rt"):
        _clear_session(v)
        return None
    try:
        tokens = await _token_request(v.state, {"grant_type": "refresh_token", "refresh_token": data["rt"],
                                                "client_id": PORTAL_CLIENT_ID}, _browser(v.request))
    except UpstreamError:
        return data  # the gateway is busy: try with what we have; a 401 sends the user to log in
    if tokens is None:
        _clear_session(v)
        return None
    fresh = _session_from_tokens(tokens)
    if not fresh.get("rt"):
        fresh["rt"] = None
    _store_session(v, fresh)
    return fresh


def _safe_next(value: str | None) -> str:
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 500:
        return "/portal/dashboard"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/portal/dashboard"
    return value


def _redirect_uri(request: Request, state: PortalState) -> str:
    """The callback URL as the browser sees this gateway, when it is one the client has registered."""
    candidate = f"{str(request.base_url).rstrip('/')}/portal/callback"
    registered = portal_redirect_uris(state.settings)
    if candidate in registered:
        return candidate
    parts = urlsplit(candidate)
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return candidate  # loopback: the gateway accepts any port (RFC 8252)
    return registered[0]


def _login_redirect(v: View, next_path: str) -> Response:
    return v.finish(RedirectResponse(f"/portal/login?{urlencode({'next': next_path})}", status_code=303), private=True)


# --- routes: public ---------------------------------------------------------------------------------
@router.get("/portal/static/portal.css")
async def stylesheet() -> Response:
    return Response((HERE / "static" / "portal.css").read_bytes(), media_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})


def directory_filters(request: Request) -> tuple[dict[str, str], list[str]]:
    """The directory's filters from the query, each checked; invalid ones are dropped and named."""
    params = request.query_params
    clean: dict[str, str] = {}
    dropped: list[str] = []
    district = (params.get("district") or "").strip()
    if district:
        if load_jurisdiction().is_district(district):
            clean["district"] = district
        else:
            dropped.append("district")
    industry = (params.get("industry") or "").strip()
    if industry:
        if industry in Industry.__members__:
            clean["industry"] = industry
        else:
            dropped.append("industry")
    grade = (params.get("grade") or "").strip().upper()
    if grade:
        if grade in labels.GRADES:
            clean["grade"] = grade
        else:
            dropped.append("grade")
    q = (params.get("q") or "").strip()
    if q:
        if len(q) <= 100:
            clean["q"] = q
        else:
            dropped.append("q")
    return clean, dropped


@router.get("/")
async def directory(request: Request) -> Response:
    v = await view_of(request)
    filters, dropped = directory_filters(request)
    cursor = request.query_params.get("cursor") or None
    if cursor and (len(cursor) > 500 or not cursor.replace("-", "").replace("_", "").isalnum()):
        cursor, dropped = None, [*dropped, "cursor"]
    items: list[dict[str, Any]] = []
    next_cursor = None
    problem = None
    status = 200
    try:
        async with Upstream(v.state.settings, language=v.lang, transport=v.state.transport) as up:
            items, next_cursor = await up.page("/api/v1/directory/agencies",
                                               {**filters, "cursor": cursor, "limit": DIRECTORY_PAGE_SIZE})
    except UpstreamError as exc:
        if exc.unavailable:
            problem, status = v.t("unavailable"), 503
        else:
            problem = v.t("bad_request") + (f" {exc.detail}" if exc.detail else "")
    query = urlencode(filters)
    next_url = f"/?{urlencode({**filters, 'cursor': next_cursor})}" if next_cursor else None
    return v.render("directory.html", status=status, items=items, filters=filters, dropped=dropped, problem=problem,
                    next_url=next_url, first_url=("/?" + query) if cursor else None, export_query=query,
                    districts=labels.districts(v.lang), industries=labels.choices("industry", v.lang),
                    grades=labels.GRADES)


POLICY_ROWS = [
    ("filing_validity_years", ("备案有效期（年）", "Filing validity (years)")),
    ("min_registered_safety_engineers", ("最少注册安全工程师人数", "Minimum registered safety engineers")),
    ("min_full_time_staff", ("最少专职人员数", "Minimum full-time staff")),
    ("max_enterprises_per_engineer", ("每名工程师最多托管企业数", "Maximum enterprises per engineer")),
    ("min_visits_per_year", ("每年最少隐患排查次数（按风险等级）", "Minimum inspections per year (by risk level)")),
    ("contract_term_months", ("托管期限（月）", "Contract term (months)")),
    ("expiring_notice_days", ("到期提醒（天）", "Expiry notice (days)")),
    ("hazard_deadline_days", ("隐患整改期限（天）", "Hazard rectification deadline (days)")),
    ("complaint_response_days", ("投诉答复期限（天）", "Complaint response (days)")),
    ("complaint_resolve_days", ("投诉办结期限（天）", "Complaint resolution (days)")),
    ("audit_sample_rate", ("质量抽查比例", "Quality-audit sample rate")),
    ("credit", ("诚信评分规则", "Credit rules")),
]


def _policy_value(key: str, value: Any, lang: str) -> str:
    if key == "min_visits_per_year" and isinstance(value, dict):
        return "；".join(f"{labels.name('risk', k, lang)} {v}" for k, v in value.items())
    if key == "hazard_deadline_days" and isinstance(value, dict):
        return "；".join(f"{labels.name('hazard_level', k, lang)} ≤ {v}" for k, v in value.items())
    if key == "contract_term_months" and isinstance(value, dict):
        return f"{value.get('min')} – {value.get('max')}"
    if key == "audit_sample_rate" and isinstance(value, (int, float)):
        return f"{value * 100:g}%"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@router.get("/policy")
async def policy(request: Request) -> Response:
    v = await view_of(request)
    try:
        async with Upstream(v.state.settings, language=v.lang, transport=v.state.transport) as up:
            body = await up.get("/api/v1/policy")
    except UpstreamError:
        return v.error(503, v.t("unavailable"))
    body = body if isinstance(body, dict) else {}
    rows = [(label[1] if v.lang == "en" else label[0], _policy_value(key, body[key], v.lang))
            for key, label in POLICY_ROWS if key in body]
    known = {key for key, _ in POLICY_ROWS} | {"title", "title_en", "policy_version", "published", "risk_rules"}
    rows += [(key, _policy_value(key, value, v.lang)) for key, value in body.items() if key not in known]
    title = (body.get("title_en") if v.lang == "en" else body.get("title")) or v.t("policy_title")
    return v.render("policy.html", title=str(title), rows=rows, version=body.get("policy_version"),
                    published=body.get("published"))


# --- routes: login ----------------------------------------------------------------------------------
@router.get("/portal/login")
async def login(request: Request) -> Response:
    v = await view_of(request)
    await _ensure_client_lazily(request, v.state)
    next_path = _safe_next(request.query_params.get("next"))
    verifier, challenge = session.pkce_pair()
    state_value = session.pkce_pair()[0][:32]
    redirect_uri = _redirect_uri(request, v.state)
    v.cookies.append((session.LOGIN_COOKIE, session.sign(
        {"state": state_value, "verifier": verifier, "next": next_path, "redirect_uri": redirect_uri,
         "exp": int(time.time()) + 600}, v.state.secret, purpose="login"), {"path": "/portal/callback", "max_age": 600}))
    query = {"response_type": "code", "client_id": PORTAL_CLIENT_ID, "redirect_uri": redirect_uri, "scope": PORTAL_SCOPE,
             "state": state_value, "code_challenge": challenge, "code_challenge_method": "S256"}
    if v.lang == "en":
        query["lang"] = "en"
    return v.finish(RedirectResponse(f"/oauth/authorize?{urlencode(query)}", status_code=303), private=True)


@router.get("/portal/callback")
async def callback(request: Request) -> Response:
    v = await view_of(request)
    pending = session.unsign(request.cookies.get(session.LOGIN_COOKIE), v.state.secret, purpose="login")
    v.cookies.append((session.LOGIN_COOKIE, None, {"path": "/portal/callback"}))
    params = request.query_params
    code, state_value = params.get("code"), params.get("state")
    if pending is None or not state_value or state_value != pending.get("state") or not code or params.get("error"):
        log.info("portal.login.incomplete", error=params.get("error"), has_pending=pending is not None)
        return v.error(400, v.t("login_failed"))
    try:
        tokens = await _token_request(v.state, {
            "grant_type": "authorization_code", "code": code[:500], "redirect_uri": pending["redirect_uri"],
            "client_id": PORTAL_CLIENT_ID, "code_verifier": pending["verifier"]}, _browser(request))
    except UpstreamError:
        return v.error(503, v.t("unavailable"))
    if tokens is None:
        return v.error(400, v.t("login_failed"))
    _store_session(v, _session_from_tokens(tokens))
    log.info("portal.login.succeeded", sub=v.user.get("sub") if v.user else None)
    return v.finish(RedirectResponse(_safe_next(pending.get("next")), status_code=303), private=True)


@router.api_route("/portal/logout", methods=["GET", "POST"])
async def logout(request: Request) -> Response:
    v = await view_of(request)
    if v.user and v.user.get("rt"):
        try:
            async with httpx.AsyncClient(transport=v.state.transport, timeout=3.0) as client:
                await client.post(f"{v.state.settings.url_of('gateway')}/oauth/revoke",
                                  data={"token": v.user["rt"], "token_type_hint": "refresh_token",
                                        "client_id": PORTAL_CLIENT_ID})
        except (httpx.HTTPError, OSError):
            pass
    _clear_session(v)
    return v.finish(RedirectResponse("/", status_code=303), private=True)


# --- routes: the bureau's dashboard -----------------------------------------------------------------
@router.get("/portal/dashboard")
async def dashboard(request: Request) -> Response:
    v = await view_of(request)
    if v.user is None:
        return _login_redirect(v, "/portal/dashboard")
    role = v.user.get("role")
    if role not in ("bureau", "admin"):
        return v.render("error.html", status=403, private=True,
                        message=v.t("bureau_only") + " " + v.t("role_not_bureau", role=role or "?"))
    try:
        async with Upstream(v.state.settings, token=v.user["at"], language=v.lang, transport=v.state.transport) as up:
            data = await dash.build(up, role=role, district=v.user.get("district"), lang=v.lang)
    except UpstreamError as exc:  # pragma: no cover - build() collects errors itself
        return v.error(503, v.t("unavailable") + f" ({exc.service})")
    if data.unauthorized:
        _clear_session(v)
        return _login_redirect(v, "/portal/dashboard")
    return v.render("dashboard.html", private=True, d=data, export_sets=("directory", "contracts", "hazards", "complaints"),
                    districts=labels.districts(v.lang), contract_statuses=labels.choices("contract_status", v.lang),
                    hazard_statuses=labels.choices("hazard_status", v.lang),
                    complaint_statuses=labels.choices("complaint_status", v.lang))


# --- routes: exports ------------------------------------------------------------------------------
def export_params(dataset: str, request: Request) -> dict[str, str]:
    if dataset == "directory":
        return directory_filters(request)[0]
    allowed = exports.DATASETS[dataset][1]
    out = {}
    for key in allowed:
        value = (request.query_params.get(key) or "").strip()
        if value and len(value) <= 100:
            out[key] = value
    return out


@router.get("/portal/exports/{filename}")
async def export(filename: str, request: Request) -> Response:
    v = await view_of(request)
    dataset, _, fmt = filename.partition(".")
    if dataset not in exports.DATASETS or fmt not in ("csv", "xlsx"):
        return v.error(404, v.t("not_found"))
    token = None
    if dataset != "directory":
        if v.user is None:
            return _login_redirect(v, f"/portal/exports/{filename}?{request.url.query}" if request.url.query
                                   else f"/portal/exports/{filename}")
        token = v.user["at"]
    path = exports.DATASETS[dataset][0]
    try:
        async with Upstream(v.state.settings, token=token, language=v.lang, transport=v.state.transport,
                            timeout=15.0) as up:
            items, truncated = await up.collect(path, export_params(dataset, request), max_items=EXPORT_MAX_ROWS)
    except UpstreamError as exc:
        if exc.unauthorized:
            _clear_session(v)
            return _login_redirect(v, "/portal/dashboard")
        if exc.status == 403:
            return v.error(403, v.t("forbidden"))
        if exc.unavailable:
            return v.error(503, v.t("unavailable"))
        return v.error(400, v.t("bad_request") + (f" {exc.detail}" if exc.detail else ""))
    stamp = time.strftime("%Y%m%d")
    if fmt == "csv":
        body, media = exports.to_csv(dataset, items, v.lang), "text/csv; charset=utf-8"
    else:
        body = exports.to_xlsx(dataset, items, v.lang)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="custody-{dataset}-{stamp}.{fmt}"',
        "X-Export-Rows": str(len(items)), "X-Export-Truncated": "true" if truncated else "false"})
    return v.finish(response, private=dataset != "directory")


# --- routes: the event documentation ----------------------------------------------------------------
@router.get("/asyncapi.json")
async def asyncapi_json(request: Request) -> Response:
    settings = state_of(request).settings
    document = asyncapi_document(subject_prefix=settings.subject_prefix, servers=settings.nats_servers)
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})


def _fields(schema: dict[str, Any]) -> list[tuple[str, str, bool]]:
    required = set(schema.get("required") or [])
    out = []
    for key, prop in (schema.get("properties") or {}).items():
        kind = prop.get("type") or prop.get("format") or ""
        if not kind and "anyOf" in prop:
            kind = " | ".join(str(p.get("type") or p.get("format") or p.get("$ref", "").rsplit("/", 1)[-1])
                              for p in prop["anyOf"])
        if prop.get("format"):
            kind = f"{kind} ({prop['format']})" if prop.get("type") else kind
        if prop.get("enum"):
            kind = f"{kind} ∈ {', '.join(map(str, prop['enum']))}"
        elif prop.get("type") == "array" and isinstance(prop.get("items"), dict):
            kind = f"array of {prop['items'].get('type', 'object')}"
        out.append((key, kind, key in required))
    return out


@router.get("/asyncapi")
async def asyncapi_page(request: Request) -> Response:
    v = await view_of(request)
    settings = v.state.settings
    events = []
    for event_type, model in sorted(CATALOG.items()):
        doc = (model.__doc__ or "").strip()
        events.append({"type": event_type, "subject": f"{settings.subject_prefix}.{event_type}",
                       "source": source_of(event_type), "summary": doc.splitlines()[0] if doc else "",
                       "fields": _fields(model.model_json_schema())})
    return v.render("asyncapi.html", events=events, stream=settings.stream_name)
