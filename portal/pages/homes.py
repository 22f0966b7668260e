"""The agency's and the enterprise's start pages — what waits for them, each row a link to the page
that acts on it — and the enterprise's own record (SPEC §8: register, edit, its risk level and why)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from portal import labels
from portal.api import ApiError
from portal.pages.agencies import my_agency
from portal.web import Form, View, integer, view_of
from shared.reference import HazardFlag, load_jurisdiction

router = APIRouter(include_in_schema=False)
ENTERPRISE_FIELDS = (
    "name",
    "industry",
    "district_code",
    "town",
    "village",
    "address",
    "employees",
    "contact_name",
    "contact_phone",
)


@router.get("/portal/agency")
async def agency_home(request: Request) -> Response:
    v = await view_of(request)
    v.require("agency")
    results, errors = await v.api.gather(
        {  # one round: the lists do not depend on the filing
            "agency": my_agency(v),
            "drafts": v.api.collect("/api/v1/contracts", {"status": "draft"}, max_items=50),
            "signed": v.api.collect("/api/v1/contracts", {"status": "signed"}, max_items=50),
            "active": v.api.collect("/api/v1/contracts", {"status": "active"}, max_items=200),
            "rectified": v.api.collect("/api/v1/hazards", {"status": "rectified"}, max_items=100),
            "complaints": v.api.collect("/api/v1/complaints", {"status": "forwarded"}, max_items=100),
        }
    )
    if "agency" in errors:
        raise errors["agency"]
    agency = results.get("agency")
    items = {k: (val[0] if isinstance(val, tuple) and agency is not None else []) for k, val in results.items()}
    return v.render(
        "agency_home.html",
        agency=agency,
        **{k: items.get(k, []) for k in ("drafts", "signed", "active", "rectified", "complaints")},
    )


async def my_enterprise(v: View) -> dict[str, Any] | None:
    uscc = (v.user or {}).get("org_uscc")
    if not uscc:
        return None
    try:
        enterprise: dict[str, Any] = await v.api.get(f"/api/v1/enterprises/by-uscc/{uscc}")
        return enterprise
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


@router.get("/portal/enterprise")
async def enterprise_home(request: Request) -> Response:
    v = await view_of(request)
    v.require("enterprise")
    enterprise = await my_enterprise(v)
    results: dict[str, Any] = {}
    if enterprise is not None:
        results, _ = await v.api.gather(
            {
                "risk": v.api.get(f"/api/v1/enterprises/{enterprise['id']}/risk"),
                "contracts": v.api.collect("/api/v1/contracts", {}, max_items=50),
                "visits": v.api.collect("/api/v1/service-logs", {}, max_items=200),
                "hazards": v.api.collect("/api/v1/hazards", {}, max_items=200),
            }
        )

    def items(name: str) -> list[dict[str, Any]]:
        value = results.get(name)
        return value[0] if isinstance(value, tuple) else []

    to_confirm = [entry for entry in items("visits") if not entry.get("confirmed")]
    to_rectify = [h for h in items("hazards") if h.get("status") in ("open", "overdue")]
    return v.render(
        "enterprise_home.html",
        enterprise=enterprise,
        risk=results.get("risk"),
        contracts=items("contracts"),
        to_confirm=to_confirm,
        to_rectify=to_rectify,
    )


def towns(lang: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Towns grouped by district, for one select (no script needed to pick the district first)."""
    jur = load_jurisdiction()
    out = []
    for district in jur.districts:
        options = [
            (a.code, jur.name_of(a.code, lang))
            for a in jur.areas.values()
            if a.level == "town" and a.parent == district.code
        ]
        out.append((labels.district_name(district.code, lang), sorted(options, key=lambda kv: kv[0])))
    return out


def _record_form(enterprise: dict[str, Any] | None, uscc: str | None) -> Form:
    if enterprise is None:
        return Form.of(initial={"uscc": uscc or ""})
    initial: dict[str, Any] = {k: enterprise.get(k) for k in ENTERPRISE_FIELDS}
    initial.update(
        {
            "uscc": enterprise["uscc"],
            "version": enterprise["version"],
            "major_hazard_source": bool(enterprise.get("major_hazard_source")),
            "hazard_flags": enterprise.get("hazard_flags") or [],
        }
    )
    return Form.of(initial=initial)


def record_body(form: Form) -> dict[str, Any]:
    body: dict[str, Any] = {k: form.get(k).strip() for k in ENTERPRISE_FIELDS}
    body["village"] = body["village"] or None
    body["employees"] = integer(form.get("employees"))
    body["major_hazard_source"] = form.get("major_hazard_source") == "true"
    body["hazard_flags"] = form.many("hazard_flags")
    return body


async def _record_page(
    v: View, enterprise: dict[str, Any] | None, form: Form, status: int = 200, *, bureau_new: bool = False
) -> Response:
    return v.render(
        "enterprise_record.html",
        status=status,
        enterprise=enterprise,
        form=form,
        bureau_new=bureau_new,
        districts=labels.districts(v.lang),
        industries=labels.choices("industry", v.lang),
        flags=[(f.value, labels.name("hazard_flag", f.value, v.lang)) for f in HazardFlag],
        towns=towns(v.lang),
    )


@router.get("/portal/enterprise/record")
async def record_form(request: Request) -> Response:
    v = await view_of(request)
    user = v.require("enterprise")
    enterprise = await my_enterprise(v)
    return await _record_page(v, enterprise, _record_form(enterprise, user.get("org_uscc")))


@router.post("/portal/enterprise/record")
async def record_save(request: Request) -> Response:
    v = await view_of(request)
    user = v.require("enterprise")
    form = await v.form()
    enterprise = await my_enterprise(v)
    body = record_body(form)
    try:
        if enterprise is None:
            body["uscc"] = user.get("org_uscc")
            await v.api.post("/api/v1/enterprises", body, idempotency_key=form.text("idem"))
        else:
            await v.api.patch(f"/api/v1/enterprises/{enterprise['id']}", body, if_match=f'"{form.get("version")}"')
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(
            exc,
            {*ENTERPRISE_FIELDS, "uscc", "major_hazard_source", "hazard_flags"},
            fallback=v.t("unavailable") if exc.unavailable else "",
        )
        if exc.status == 412:
            form.general.insert(0, v.t("stale_version"))
        return await _record_page(v, enterprise, form, status=exc.status if 400 <= exc.status < 500 else 503)
    return v.redirect("/portal/enterprise", ok="saved")
