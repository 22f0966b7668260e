"""The OAuth client of the work portal (``portal/``, its own process since D22): a public PKCE
client ``custody-portal`` registered in the gateway's database, which the gateway owns. The portal
acts for the signed-in person with the person's own token, so it asks for read and write."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.settings import Settings

PORTAL_CLIENT_ID = "custody-portal"
PORTAL_CLIENT_NAME = "安全生产托管平台门户 / custody portal"
PORTAL_SCOPE = "custody.read custody.write"


def portal_redirect_uris(settings: Settings) -> list[str]:
    """The configured gateway URL's callback and the loopback forms (any port, RFC 8252)."""
    uris = [f"{settings.url_of('gateway')}/portal/callback"]
    if settings.issuer and f"{settings.issuer_url}/portal/callback" not in uris:
        uris.append(f"{settings.issuer_url}/portal/callback")
    for host in ("127.0.0.1", "localhost", "[::1]"):
        uri = f"http://{host}/portal/callback"
        if uri not in uris:
            uris.append(uri)
    return uris


async def ensure_portal_client(db: Any, settings: Settings, *, now: datetime | None = None) -> None:
    """Create or correct the ``custody-portal`` client (idempotent; called at start-up)."""
    from gateway.models import Client

    now = now or datetime.now(UTC)
    uris = " ".join(portal_redirect_uris(settings))
    async with db.transaction() as s:
        client = await s.get(Client, PORTAL_CLIENT_ID)
        if client is None:
            s.add(
                Client(
                    client_id=PORTAL_CLIENT_ID,
                    name=PORTAL_CLIENT_NAME,
                    secret_hash=None,
                    account_id=None,
                    grant_types="authorization_code refresh_token",
                    redirect_uris=uris,
                    scopes=PORTAL_SCOPE,
                    created_at=now,
                )
            )
        else:
            client.name = PORTAL_CLIENT_NAME
            client.secret_hash = None
            client.account_id = None
            client.grant_types = "authorization_code refresh_token"
            client.redirect_uris = uris
            client.scopes = PORTAL_SCOPE
