"""The menu of each role: one table, so that a new page is one more row (and one more module in
``portal/pages/``). Labels are message keys (``portal/labels.py``)."""

from __future__ import annotations

PUBLIC = [
    ("/", "directory"),
    ("/policy", "policy"),
    ("/portal/complaints/new", "complain"),
    ("/portal/complaints/track", "track_complaint"),
    ("/portal/credit/public", "cr_listings"),
    ("/portal/policy/versions", "policy_versions"),
]

NAV: dict[str | None, list[tuple[str, str]]] = {
    None: [*PUBLIC, ("/portal/signup", "signup")],
    "agency": [
        ("/portal/agency", "home"),
        ("/portal/agency/filing", "my_filing"),
        ("/portal/contracts", "contracts"),
        ("/portal/visits", "visits"),
        ("/portal/hazards", "hazards"),
        ("/portal/complaints", "complaints"),
        ("/", "directory"),
        ("/portal/organisation", "my_organisation"),
        ("/portal/agency/changes", "ch_title"),
        ("/portal/agency/engagements", "eg_title"),
    ],
    "enterprise": [
        ("/portal/enterprise", "home"),
        ("/", "find_agency"),
        ("/portal/contracts", "contracts"),
        ("/portal/visits", "visits"),
        ("/portal/hazards", "hazards"),
        ("/portal/complaints", "complaints"),
        ("/portal/organisation", "my_organisation"),
        ("/portal/credit/enterprise", "my_credit_file"),
    ],
    "bureau": [
        ("/portal/dashboard", "dashboard"),
        ("/portal/agencies", "filings"),
        ("/portal/contracts", "contracts"),
        ("/portal/enterprises", "enterprises"),
        ("/portal/hazards", "hazards"),
        ("/portal/visits", "visits"),
        ("/portal/complaints", "complaints"),
        ("/portal/audits", "audits"),
        ("/", "directory"),
        ("/portal/disputes", "disputes"),
        ("/portal/supervision", "supervision"),
        ("/portal/webhooks", "webhooks"),
        ("/portal/organisations", "organisations"),
        ("/portal/credit/listings", "cr_listings"),
        ("/portal/accidents", "accidents"),
        ("/portal/risk-inputs", "ri_title"),
    ],
}
NAV["admin"] = NAV["bureau"]

# Where each role starts after signing in.
HOME = {
    "agency": "/portal/agency",
    "enterprise": "/portal/enterprise",
    "bureau": "/portal/dashboard",
    "admin": "/portal/dashboard",
}


def items_for(role: str | None, path: str) -> list[tuple[str, str, bool]]:
    """``(href, label key, current)`` for the menu of ``role``."""
    items = NAV.get(role, NAV[None]) if role else NAV[None]
    best = max(
        (href for href, _ in items if path == href or (href != "/" and path.startswith(href + "/"))),
        key=len,
        default=None,
    )
    return [(href, key, href == best) for href, key in items]
