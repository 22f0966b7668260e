"""The gateway's parts, one object per process (``app.state.gw``), and the dependency that
hands it to a route: ``gw: Gw``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import aiohttp
from fastapi import Depends, Request

if TYPE_CHECKING:
    from gateway.accounts import Passwords
    from gateway.oauth.grants import OAuthStore
    from gateway.oauth.keys import KeyStore
    from gateway.oauth.server import AuthorizationServer
    from gateway.openapi import MergedOpenAPI
    from gateway.ratelimit import AuthLimiter, SignUpLimiter
    from shared.app import Runtime
    from shared.auth import TokenVerifier
    from shared.clock import Clock
    from shared.db import Database
    from shared.events.bus import Bus
    from shared.events.inbox import Subscriber
    from shared.revocations import Revocations
    from shared.settings import Settings


@dataclass
class GatewayContext:
    settings: Settings
    db: Database
    clock: Clock
    infra: Any
    keys: KeyStore
    store: OAuthStore
    server: AuthorizationServer
    runtime: Runtime
    passwords: Passwords
    auth_limiter: AuthLimiter
    signup_limiter: SignUpLimiter
    openapi: MergedOpenAPI
    bus: Bus
    subscriber: Subscriber
    verifier: TokenVerifier | None = None
    http: dict[str, aiohttp.ClientSession] = field(default_factory=dict)

    @property
    def revocations(self) -> Revocations:
        return self.store.revocations

    def address(self, scope_or_request: Any) -> str:
        """The client address rate limits count against (X-Forwarded-For from trusted proxies only)."""
        from gateway.addresses import address_of_scope

        scope = getattr(scope_or_request, "scope", scope_or_request)
        return address_of_scope(scope, self.settings.trusted_proxies)

    def session(self) -> aiohttp.ClientSession:
        return self.http["session"]


def gateway_context(request: Request) -> GatewayContext:
    gw: GatewayContext = request.app.state.gw
    return gw


Gw = Annotated[GatewayContext, Depends(gateway_context)]
