"""What every page handler uses: ``View`` (the reader's language, their session, the API bound to
their token, rendering with the security headers), ``Form`` (the input kept and the API's
problem messages next to the fields they name), CSRF checks, and ``Exit`` to answer early.

A page handler is ``async def page(request) -> Response``: ``v = await view_of(request)``, then
``v.require(...)``, ``v.api.get(...)``, ``v.render(...)``. An ``ApiError`` that a handler does not
catch is answered by ``answer_api_error`` — login again (401), a friendly page (403/404/503) —
never a 500.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import structlog
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from portal import labels, nav
from portal import session as sessions
from portal.api import Api, ApiError
from shared.i18n import negotiate
from shared.settings import Settings

log = structlog.get_logger("portal")

HERE = Path(__file__).resolve().parent
PORTAL_CLIENT_ID = "custody-portal"
PORTAL_SCOPE = "custody.read custody.write"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; manifest-src 'self'; worker-src 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

MAX_FILES = 20  # a visit's photos and its hazards' (SPEC §16)

TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class PortalState:
    settings: Settings
    sealer: sessions.Sealer
    client: Any  # portal.api.AiohttpClient (httpx.AsyncClient in tests)
    refresher: sessions.Refresher = field(default_factory=sessions.Refresher)
    extra: dict[str, Any] = field(default_factory=dict)


class Exit(Exception):
    """Answer with this response now (a redirect, a refusal)."""

    def __init__(self, response: Response) -> None:
        self.response = response


# --- forms ------------------------------------------------------------------------------------------
@dataclass
class Form:
    """A form's values (as typed), its errors by field name, and messages for no field in particular."""

    values: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    files: dict[str, UploadFile] = field(default_factory=dict)
    uploads: dict[str, list[UploadFile]] = field(default_factory=dict)  # every file of a ``multiple`` input

    @classmethod
    def of(cls, data: FormData | None = None, initial: dict[str, Any] | None = None) -> Form:
        form = cls()
        for key, value in (initial or {}).items():
            if isinstance(value, (list, tuple)):
                form.lists[key] = [str(v) for v in value]
            elif value is not None:
                form.values[key] = "true" if value is True else ("" if value is False else str(value))
        if data is not None:
            for key in data:
                items = data.getlist(key)
                strings = [v for v in items if isinstance(v, str)]
                uploads = [v for v in items if isinstance(v, UploadFile)]
                if uploads:
                    form.files[key] = uploads[0]
                    form.uploads[key] = uploads
                if strings:
                    form.values[key] = strings[-1]
                    form.lists[key] = strings
        return form

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)

    def text(self, key: str) -> str | None:
        value = self.values.get(key, "").strip()
        return value or None

    def many(self, key: str) -> list[str]:
        return [v for v in self.lists.get(key, []) if v != ""]

    def checked(self, key: str, value: str = "true") -> bool:
        return value in self.lists.get(key, []) or self.values.get(key) == value

    def error(self, key: str) -> str | None:
        return self.errors.get(key)

    def fail(self, exc: ApiError, known: set[str] | None = None, *, fallback: str = "") -> None:
        """The API's problem on this form: messages next to their fields; the detail (and messages
        for fields the form does not show) at the top."""
        for name, message in exc.errors.items():
            target = name
            while (
                known is not None
                and target not in known
                and not any(k.startswith(target + ".") for k in known)
                and "." in target
            ):
                target = target.rsplit(".", 1)[0]  # items.1 → items: the field the form shows
            if known is None or target in known or any(k.startswith(target + ".") for k in known):
                self.errors.setdefault(target, message)
            else:
                self.general.append(f"{name}: {message}" if name not in ("body", "") else message)
        if exc.detail or fallback:
            self.general.insert(0, exc.detail or fallback)

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.general)


def integer(value: str | None) -> int | str | None:
    """A number as typed: an int when it is one, else the text (the API names what is wrong)."""
    if value is None or value.strip() == "":
        return None
    try:
        return int(value.strip())
    except ValueError:
        return value.strip()


# --- the view ---------------------------------------------------------------------------------------
def state_of(request: Request) -> PortalState:
    state: PortalState = request.app.state.portal
    return state


def language_of(request: Request) -> tuple[str, bool]:
    asked = request.query_params.get("lang")
    if asked:
        return ("en" if asked.lower().startswith("en") else "zh-CN"), True
    cookie = request.cookies.get(sessions.LANG_COOKIE)
    if cookie in labels.LANGUAGES:
        return cookie, False
    return negotiate(request.headers.get("accept-language")), False


def query_with(request: Request, drop: tuple[str, ...] = (), **add: str) -> str:
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in drop and k not in add]
    pairs.extend((k, v) for k, v in add.items() if v not in (None, ""))
    return urlencode(pairs)


def public_base(request: Request) -> str:
    """The origin the browser sees (the gateway's): from X-Forwarded-Proto/Host when the gateway
    passed them, else this request's own."""
    proto = request.headers.get("x-forwarded-proto") or request.url.scheme
    host = request.headers.get("x-forwarded-host") or request.headers.get("host") or request.url.netloc
    return f"{proto}://{host}"


def _secure(request: Request) -> bool:
    return (request.headers.get("x-forwarded-proto") or request.url.scheme) == "https"


@dataclass
class View:
    request: Request
    state: PortalState
    lang: str
    lang_chosen: bool
    user: dict[str, Any] | None = None
    cookies: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)
    anon_csrf: str | None = None
    _api: Api | None = None
    inbox: dict[str, int] | None = None  # the header's unread/urgent count (portal/pages/inbox.py)

    # language
    @property
    def en(self) -> bool:
        return labels.is_en(self.lang)

    def t(self, key: str, **params: object) -> str:
        return labels.message(key, self.lang, **params)

    # who
    @property
    def role(self) -> str | None:
        return (self.user or {}).get("role")

    def require(self, *roles: str) -> dict[str, Any]:
        """The signed-in user, if their role is one of ``roles``; else a login redirect or a 403 page."""
        if self.user is None:
            raise Exit(self.login_redirect())
        if roles and self.role not in roles:
            raise Exit(self.error(403, self.t("role_forbidden", role=labels.name("role", self.role, self.lang))))
        return self.user

    @property
    def api(self) -> Api:
        if self._api is None:
            client = self.request.client
            self._api = Api(
                self.state.client,
                token=(self.user or {}).get("at"),
                language=self.lang,
                address=client.host if client else None,
                request_id=self.request.headers.get("x-request-id"),
            )
        return self._api

    # csrf
    @property
    def csrf(self) -> str:
        if self.user and self.user.get("csrf"):
            return str(self.user["csrf"])
        if self.anon_csrf is None:
            existing = self.request.cookies.get(sessions.CSRF_COOKIE)
            if existing and 20 <= len(existing) <= 100:
                self.anon_csrf = existing
            else:
                self.anon_csrf = sessions.new_token()
                self.cookies.append((sessions.CSRF_COOKIE, self.anon_csrf, {"path": "/", "max_age": 7 * 86400}))
        return self.anon_csrf

    async def form(self, initial: dict[str, Any] | None = None) -> Form:
        """The POSTed form, after its CSRF token is checked (a stale page gets a message, not an action)."""
        try:
            data = await self.request.form(max_files=MAX_FILES, max_fields=2000, max_part_size=12 * 1024 * 1024)
        except Exception as exc:
            log.info("portal.form.unreadable", error=type(exc).__name__)
            raise Exit(self.error(400, self.t("bad_request"))) from exc
        sent = data.get("csrf")
        if not isinstance(sent, str) or not sessions.same(sent, self.csrf):
            raise Exit(self.error(400, self.t("csrf_failed")))
        return Form.of(data, initial)

    # responses
    def finish(self, response: Response, *, private: bool = True) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers["Content-Language"] = self.lang
        if private:
            response.headers["Cache-Control"] = "no-store"
        secure = _secure(self.request)
        if self.lang_chosen:
            response.set_cookie(
                sessions.LANG_COOKIE,
                self.lang,
                max_age=365 * 86400,
                httponly=True,
                samesite="lax",
                secure=secure,
                path="/",
            )
        for cookie, cookie_value, options in self.cookies:
            if cookie_value is None:
                response.delete_cookie(
                    cookie, path=options.get("path", "/"), httponly=True, samesite="lax", secure=secure
                )
            else:
                response.set_cookie(cookie, cookie_value, httponly=True, samesite="lax", secure=secure, **options)
        return response

    def render(self, template: str, status: int = 200, *, private: bool = True, **context: Any) -> Response:
        path = self.request.url.path
        html = TEMPLATES.get_template(template).render(
            v=self,
            lang=self.lang,
            en=self.en,
            t=self.t,
            user=self.user,
            csrf=self.csrf,
            name=lambda vocabulary, code: labels.name(vocabulary, code, self.lang),
            district_name=lambda code: labels.district_name(code, self.lang),
            nav_items=nav.items_for(self.role, path),
            switch_url=f"{path}?{query_with(self.request, ('lang',), lang='zh-CN' if self.en else 'en')}",
            path=path,
            sep=", " if self.en else "、",
            ok=self.flash(),
            field_label=self.field_label,
            blank_form=Form(),
            **context,
        )
        return self.finish(HTMLResponse(html, status_code=status), private=private)

    def field_label(self, name: str) -> str:
        """A field path's label: ``staff.2.name`` → "人员 3 · 姓名"."""
        parts = name.split(".")
        out = []
        for _i, part in enumerate(parts):
            if part.isdigit():
                out.append(str(int(part) + 1))
            elif f"field_{part}" in labels.MESSAGES:
                out.append(self.t(f"field_{part}"))
            else:
                out.append(part)
        return " · ".join(out)

    def flash(self) -> str | None:
        key = self.request.query_params.get("ok")
        return self.t(f"ok_{key}") if key and f"ok_{key}" in labels.MESSAGES else None

    def redirect(self, url: str, *, ok: str | None = None) -> Response:
        if ok:
            url = f"{url}{'&' if '?' in url else '?'}ok={ok}"
        return self.finish(RedirectResponse(url, status_code=303))

    def error(self, status: int, message: str, *, detail: str | None = None) -> Response:
        return self.render("error.html", status=status, message=message, detail=detail)

    def login_redirect(self, next_path: str | None = None) -> Response:
        if next_path is None:
            next_path = self.request.url.path + (f"?{self.request.url.query}" if self.request.url.query else "")
            if self.request.method != "GET":
                next_path = self.request.url.path
        return self.finish(RedirectResponse(f"/portal/login?{urlencode({'next': next_path})}", status_code=303))

    def clear_session(self) -> None:
        self.cookies.append((sessions.SESSION_COOKIE, None, {"path": "/"}))
        self.user = None
        self._api = None

    def store_session(self, data: dict[str, Any]) -> None:
        value = self.state.sealer.seal(data, purpose="session")
        if len(value) > sessions.MAX_COOKIE_BYTES:
            log.warning("portal.session.too_large", size=len(value))
        self.cookies.append((sessions.SESSION_COOKIE, value, {"path": "/", "max_age": sessions.SESSION_SECONDS}))
        self.user = data
        self._api = None

    def new_key(self) -> str:
        """An Idempotency-Key for a form that creates something (the API replays its first answer)."""
        return str(uuid.uuid4())


# --- the session ------------------------------------------------------------------------------------
async def token_request(state: PortalState, form: dict[str, str], address: str | None = None) -> dict[str, Any] | None:
    headers = {"X-Forwarded-For": address} if address else {}
    try:
        response = await state.client.post("/oauth/token", data=form, headers=headers, timeout=5.0)
    except (httpx.HTTPError, OSError) as exc:
        log.warning("portal.token.unreachable", error=type(exc).__name__)
        raise ApiError(0, path="/oauth/token") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise ApiError(response.status_code, path="/oauth/token")
    if response.status_code != 200:
        log.info("portal.token.refused", status=response.status_code)
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) and body.get("access_token") else None


async def _session_user(v: View) -> dict[str, Any] | None:
    data = v.state.sealer.open(
        v.request.cookies.get(sessions.SESSION_COOKIE), purpose="session", max_age=sessions.SESSION_SECONDS
    )
    if data is None or not isinstance(data.get("at"), str):
        if v.request.cookies.get(sessions.SESSION_COOKIE):
            v.clear_session()
        return None
    if float(data.get("at_exp") or 0) > time.time() + 20:
        return data
    if not data.get("rt"):
        v.clear_session()
        return None
    client = v.request.client
    refresh_token = str(data["rt"])

    async def call() -> dict[str, Any] | None:
        return await token_request(
            v.state,
            {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": PORTAL_CLIENT_ID},
            client.host if client else None,
        )

    try:
        tokens = await v.state.refresher.refresh(refresh_token, call)
    except ApiError:
        return data  # the gateway is busy: go on with what we have; a 401 sends the person to log in
    if tokens is None:
        log.info("portal.session.refresh_refused", sub=data.get("sub"))
        v.clear_session()
        return None
    fresh = sessions.session_from_tokens(tokens, csrf=data.get("csrf"), started=data.get("started"))
    v.store_session(fresh)
    return fresh


async def view_of(request: Request) -> View:
    existing: View | None = getattr(request.state, "view", None)
    if existing is not None:
        return existing
    lang, chosen = language_of(request)
    v = View(request=request, state=state_of(request), lang=lang, lang_chosen=chosen)
    request.state.view = v
    v.user = await _session_user(v)
    from portal.pages.inbox import summary  # the page module imports this one

    v.inbox = await summary(v)
    return v


def safe_next(value: str | None, default: str = "/portal") -> str:
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 500:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


async def answer_api_error(request: Request, exc: ApiError) -> Response:
    """An API refusal no handler dealt with: log in again, or a page that says what happened."""
    v = await view_of(request)
    if exc.unauthorized:
        v.clear_session()
        return v.login_redirect()
    if exc.unavailable:
        return v.error(503, v.t("unavailable"), detail=exc.detail or None)
    if exc.status == 403:
        return v.error(403, v.t("forbidden"), detail=exc.detail or None)
    if exc.status == 404:
        return v.error(404, v.t("not_found"), detail=exc.detail or None)
    return v.error(400 if exc.status < 400 else exc.status, v.t("bad_request"), detail=exc.detail or None)


def markup(value: str) -> Markup:
    return Markup(value)
