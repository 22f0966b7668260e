"""``custody login`` and ``custody token``: the OAuth2 authorization-code flow with PKCE (S256) on a
loopback redirect (RFC 8252: any free port on 127.0.0.1) for the public client ``custody-cli``, and
the stored tokens in ``~/.config/custody/token.json`` (mode 0600), refreshed when needed."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

CLI_CLIENT_ID = "custody-cli"
DEFAULT_SCOPE = "custody.read custody.write"


def token_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "custody" / "token.json"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


class LoginError(RuntimeError):
    pass


@dataclass
class Callback:
    code: str | None = None
    state: str | None = None
    error: str | None = None


def _handler(result: Callback, done: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != "/callback":
                self.send_response(404)
                self.end_headers()
                return
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            result.code, result.state, result.error = query.get("code"), query.get("state"), query.get("error")
            ok = result.code is not None
            body = (
                "<!doctype html><meta charset=utf-8><title>custody</title><p>"
                + (
                    "登录成功，可以关闭此页面。 / Signed in; you may close this page."
                    if ok
                    else "登录未完成。 / Login did not complete."
                )
                + "</p>"
            ).encode()
            self.send_response(200 if ok else 400)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            done.set()

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


class LoopbackLogin:
    """Start a one-shot HTTP server on 127.0.0.1 (a free port), build the authorize URL, wait for the
    redirect, exchange the code."""

    def __init__(self, gateway: str, *, scope: str = DEFAULT_SCOPE, client_id: str = CLI_CLIENT_ID) -> None:
        self.gateway = gateway.rstrip("/")
        self.scope = scope
        self.client_id = client_id
        self.verifier, self.challenge = pkce_pair()
        self.state = secrets.token_urlsafe(16)
        self.result = Callback()
        self.done = threading.Event()
        self.server = HTTPServer(("127.0.0.1", 0), _handler(self.result, self.done))
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_port}/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def authorize_url(self) -> str:
        return f"{self.gateway}/oauth/authorize?" + urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": self.scope,
                "state": self.state,
                "code_challenge": self.challenge,
                "code_challenge_method": "S256",
            }
        )

    def wait(self, timeout: float) -> dict[str, Any]:
        try:
            if not self.done.wait(timeout):
                raise LoginError("timed out waiting for the browser / 等待浏览器登录超时")
        finally:
            self.server.shutdown()
            self.server.server_close()
        if self.result.error or not self.result.code:
            raise LoginError(f"authorization failed: {self.result.error or 'no code'}")
        if self.result.state != self.state:
            raise LoginError("state mismatch (possible CSRF) / state 不匹配")
        return self.exchange(self.result.code)

    def exchange(self, code: str) -> dict[str, Any]:
        response = httpx.post(
            f"{self.gateway}/oauth/token",
            timeout=10.0,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "client_id": self.client_id,
                "code_verifier": self.verifier,
            },
        )
        if response.status_code != 200:
            raise LoginError(f"token exchange failed: {response.status_code} {response.text[:300]}")
        return stamp(response.json(), self.gateway, self.client_id)


def stamp(tokens: dict[str, Any], gateway: str, client_id: str) -> dict[str, Any]:
    return {
        **tokens,
        "gateway": gateway,
        "client_id": client_id,
        "expires_at": time.time() + float(tokens.get("expires_in") or 300),
    }


def save(tokens: dict[str, Any], path: Path | None = None) -> Path:
    path = path or token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(tokens, fh, indent=2)
    os.replace(tmp, path)
    return path


def load(path: Path | None = None) -> dict[str, Any] | None:
    path = path or token_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("access_token") else None


def valid_access_token(path: Path | None = None, *, margin: float = 60.0) -> str:
    """The stored access token, refreshed (and the rotated refresh token saved) when it expires
    within ``margin`` seconds."""
    tokens = load(path)
    if tokens is None:
        raise LoginError("not logged in: run `custody login` / 尚未登录，请先运行 custody login")
    if float(tokens.get("expires_at") or 0) - margin > time.time():
        return str(tokens["access_token"])
    if not tokens.get("refresh_token"):
        raise LoginError("the token expired and there is no refresh token: run `custody login`")
    response = httpx.post(
        f"{tokens['gateway']}/oauth/token",
        timeout=10.0,
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": tokens.get("client_id", CLI_CLIENT_ID),
        },
    )
    if response.status_code != 200:
        raise LoginError(f"refresh failed ({response.status_code}): run `custody login`")
    fresh = stamp(response.json(), tokens["gateway"], tokens.get("client_id", CLI_CLIENT_ID))
    fresh.setdefault("refresh_token", tokens["refresh_token"])
    save(fresh, path)
    return str(fresh["access_token"])
