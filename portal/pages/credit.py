"""Credit (SPEC §19): an agency's credit file and the bureau's "record a credit fact" form, the
enterprise credit file (the bureau's and the enterprise's own), and the serious-dishonesty list
(严重失信名单): the bureau starts a listing and decides an objection or a repair request, the
organisation objects or asks for repair, and the public list needs no login."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from portal import labels
from portal.api import Api, ApiError
from portal.web import Exit, Form, View, integer, view_of

router = APIRouter(include_in_schema=False)
BUREAU = ("bureau", "admin")
RECORD_FIELDS = {"kind", "delta", "reason", "ref"}
LISTING_FIELDS = {"org_uscc", "org_kind", "reason", "legal_basis"}
LISTING_ACTIONS = ("objection", "repair", "decide")
# what each state allows (SPEC §19): the organisation objects while noticed and asks for repair while
# repairable; the bureau decides an objection (list|withdraw) or a repair request (repair|refuse)
DECISIONS = {"objected": ("list", "withdraw"), "repair_requested": ("repair", "refuse")}


def _cursor(request: Request) -> str | None:
    cursor = request.query_params.get("cursor") or None
    return cursor if cursor is None or len(cursor) <= 500 else None


# --- an agency's credit file ------------------------------------------------------------------------
async def _agency_file(v: View, agency_id: str, form: Form | None = None, status: int = 200) -> Response:
    results, errors = await v.api.gather(
        {
            "credit": v.api.get(f"/api/v1/credit/agencies/{agency_id}"),
            "agency": v.api.get(f"/api/v1/agencies/{agency_id}"),
        }
    )
    if "credit" in errors:
        raise errors["credit"]
    return v.render(
        "credit_agency.html",
        status=status,
        credit=results["credit"],
        agency=results.get("agency") or {"id": agency_id},
        form=form or Form.of(initial={"kind": "violation"}),
        can_record=v.role in BUREAU,
        kinds=labels.choices("bureau_credit_kind", v.lang),
        idem=(form.get("idem") if form else "") or v.new_key(),
    )


@router.get("/portal/credit/agencies/{agency_id}")
async def agency_file(agency_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require()
    return await _agency_file(v, agency_id)


@router.post("/portal/credit/agencies/{agency_id}/records")
async def record_fact(agency_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    form = await v.form()
    body: dict[str, Any] = {
        "kind": form.get("kind"),
        "delta": integer(form.get("delta")),
        "reason": form.get("reason").strip(),
        "ref": form.text("ref"),
    }
    try:
        await v.api.post(f"/api/v1/credit/agencies/{agency_id}/records", body, idempotency_key=form.text("idem"))
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(exc, RECORD_FIELDS, fallback=v.t("unavailable") if exc.unavailable else "")
        return await _agency_file(v, agency_id, form, status=exc.page_status)
    return v.redirect(f"/portal/credit/agencies/{agency_id}", ok="credit_recorded")


# --- the enterprise credit file ---------------------------------------------------------------------
async def _enterprise_file(v: View, enterprise_id: str, enterprise: dict[str, Any] | None) -> Response:
    credit = await v.api.get(f"/api/v1/credit/enterprises/{enterprise_id}")
    return v.render("credit_enterprise.html", credit=credit, enterprise=enterprise or {"id": enterprise_id})


@router.get("/portal/credit/enterprise")
async def my_enterprise_file(request: Request) -> Response:
    from portal.pages.homes import my_enterprise

    v = await view_of(request)
    v.require("enterprise")
    enterprise = await my_enterprise(v)
    if enterprise is None:
        return v.redirect("/portal/enterprise/record")
    return await _enterprise_file(v, str(enterprise["id"]), enterprise)


@router.get("/portal/credit/enterprises/{enterprise_id}")
async def enterprise_file(enterprise_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU, "enterprise")
    enterprise: dict[str, Any] | None = None
    try:
        enterprise = await v.api.get(f"/api/v1/enterprises/{enterprise_id}")
    except ApiError as exc:
        if exc.unauthorized:
            raise
    return await _enterprise_file(v, enterprise_id, enterprise)


# --- the serious-dishonesty list --------------------------------------------------------------------
@router.get("/portal/credit/public")
async def public_list(request: Request) -> Response:
    """The public list, as anyone sees it (no token sent, even for a signed-in reader)."""
    v = await view_of(request)
    client = request.client
    anonymous = Api(v.state.client, token=None, language=v.lang, address=client.host if client else None)
    items, cursor = await anonymous.page(
        "/api/v1/credit/listings", {"status": "listed", "limit": 50, "cursor": _cursor(request)}
    )
    return v.render("credit_public.html", items=items, next_cursor=cursor, private=v.user is not None)


@router.get("/portal/credit/listings")
async def listings(request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    status = request.query_params.get("status")
    status = status if status in labels.LISTING_STATUS else ""
    items, cursor = await v.api.page(
        "/api/v1/credit/listings", {"status": status or None, "limit": 50, "cursor": _cursor(request)}
    )
    return v.render(
        "credit_listings.html",
        items=items,
        next_cursor=cursor,
        sel_status=status,
        statuses=labels.choices("listing_status", v.lang),
    )


def _listing_form(v: View, form: Form, status: int = 200) -> Response:
    return v.render(
        "credit_listing_new.html",
        status=status,
        form=form,
        kinds=labels.choices("org_kind", v.lang),
        idem=form.get("idem") or v.new_key(),
    )


@router.get("/portal/credit/listings/new")
async def listing_form(request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    uscc = (request.query_params.get("org_uscc") or "")[:40]
    kind = request.query_params.get("org_kind")
    return _listing_form(v, Form.of(initial={"org_uscc": uscc, "org_kind": kind if kind in labels.PARTY else "agency"}))


@router.post("/portal/credit/listings/new")
async def listing_start(request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    form = await v.form()
    body = {k: form.get(k).strip() for k in LISTING_FIELDS}
    try:
        reply = await v.api.post("/api/v1/credit/listings", body, idempotency_key=form.text("idem"))
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(exc, LISTING_FIELDS, fallback=v.t("unavailable") if exc.unavailable else "")
        return _listing_form(v, form, status=exc.page_status)
    return v.redirect(f"/portal/credit/listings/{reply.body['id']}", ok="listing_noticed")


async def _listing_page(v: View, listing_id: str, form: Form | None = None, status: int = 200) -> Response:
    listing = await v.api.get(f"/api/v1/credit/listings/{listing_id}")
    state = listing.get("status")
    own = v.role in ("agency", "enterprise") and (v.user or {}).get("org_uscc") == listing.get("org_uscc")
    decisions = DECISIONS.get(str(state), ()) if v.role in BUREAU else ()
    return v.render(
        "credit_listing.html",
        status=status,
        listing=listing,
        form=form or Form(),
        can_object=own and state == "noticed",
        can_repair=own and state == "repairable",
        decisions=[(d, labels.name("listing_decision", d, v.lang)) for d in decisions],
    )


@router.get("/portal/credit/listings/{listing_id}")
async def listing(listing_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU, "agency", "enterprise")
    return await _listing_page(v, listing_id)


@router.post("/portal/credit/listings/{listing_id}/{action}")
async def listing_action(listing_id: str, action: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU, "agency", "enterprise")
    if action not in LISTING_ACTIONS:
        raise Exit(v.error(404, v.t("not_found")))
    form = await v.form()
    if action == "decide":
        body = {"decision": form.get("decision"), "reasons": form.get("reasons").strip()}
    else:
        body = {"statement": form.get("statement").strip()}
    try:
        await v.api.post(f"/api/v1/credit/listings/{listing_id}/{action}", body, if_match=f'"{form.get("version")}"')
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(exc, {"decision", "reasons", "statement"}, fallback=v.t("unavailable") if exc.unavailable else "")
        if exc.status == 412:
            form.general.insert(0, v.t("stale_version"))
        return await _listing_page(v, listing_id, form, status=exc.page_status)
    return v.redirect(f"/portal/credit/listings/{listing_id}", ok=f"listing_{action}")
