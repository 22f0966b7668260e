"""The portal's pages, one module per area. ``ROUTERS`` is included in this order (fixed paths such
as ``/portal/complaints/new`` before ``/portal/complaints/{id}``). A phase-2 page is one more module
here and one more row in ``portal/nav.py``."""

from portal.pages import (
    accidents,
    agencies,
    auth,
    bureau,
    complaints,
    contracts,
    credit,
    engagements,
    evidence,
    exports,
    filings,
    homes,
    inbox,
    organisations,
    policy_versions,
    public,
    visits,
    webhooks,
)

ROUTERS = [
    public.router,
    auth.router,
    homes.router,
    agencies.router,
    contracts.router,
    visits.router,
    complaints.router,
    bureau.router,
    exports.router,
    evidence.router,
    inbox.router,
    webhooks.router,
    organisations.router,
    credit.router,
    accidents.router,
    filings.router,
    policy_versions.router,
    engagements.router,
]
