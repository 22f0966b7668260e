"""The portal (SPEC §12): people's pages served by the gateway — the public list of filed agencies
at ``/``, the policy, the bureau dashboard after the OAuth login, exports, and the AsyncAPI
document. ``router`` is included by the gateway; ``ensure_portal_client`` registers the portal's
public PKCE client in the gateway's database at start-up."""

from gateway.portal.views import (
    PORTAL_CLIENT_ID,
    configure,
    ensure_portal_client,
    portal_redirect_uris,
    router,
)

__all__ = ["PORTAL_CLIENT_ID", "configure", "ensure_portal_client", "portal_redirect_uris", "router"]
