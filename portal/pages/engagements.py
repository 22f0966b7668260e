"""Conflicts of interest (SPEC §20, DECISIONS D37): the agency declares the other work it does for an
enterprise (safety evaluation, testing, consulting, training, from … to) and sees its declarations;
the bureau reads them on the agency's review page (portal/pages/agencies.py). The registry decides
who may declare and read; its problems show by the field they name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from portal import labels
from portal.api import ApiError
from portal.pages.agencies import my_agency
from portal.web import Form, View, view_of

router = APIRouter(include_in_schema=False)
# the API's field → the form's (the form's own names keep the error summary's labels unambiguous)
FIELDS = {"enterprise_uscc": "enterprise_uscc", "kind": "engagement_kind", "from": "eg_from", "to": "eg_to"}
KINDS = ("safety_evaluation", "testing", "consulting", "training")


def engagements_of(body: Any) -> list[dict[str, Any]]:
    """The registry's list, newest first (it answers a plain list)."""
    rows = [e for e in (body if isinstance(body, list) else []) if isinstance(e, dict)]
    return sorted(rows, key=lambda e: (str(e.get("from") or ""), str(e.get("declared_at") or "")), reverse=True)


def _renamed(exc: ApiError) -> ApiError:
    """The API's field names as the form's; a rule on the whole body (``to`` before ``from``) by ``to``."""
    errors = []
    for item in exc.problem.get("errors") or []:
        name = str(item.get("field") or "")
        errors.append({**item, "field": FIELDS.get(name, "eg_to" if name in ("body", "") else name)})
    return ApiError(exc.status, {**exc.problem, "errors": errors}, path=exc.path)


async def _page(v: View, form: Form, status: int = 200) -> Response:
    agency = await my_agency(v)
    items: list[dict[str, Any]] = []
    if agency is not None:
        items = engagements_of(await v.api.get(f"/api/v1/agencies/{agency['id']}/engagements"))
    return v.render(
        "engagements.html",
        status=status,
        agency=agency,
        items=items,
        form=form,
        kinds=labels.choices("engagement_kind", v.lang),
    )


@router.get("/portal/agency/engagements")
async def engagements(request: Request) -> Response:
    v = await view_of(request)
    v.require("agency")
    return await _page(v, Form())


@router.post("/portal/agency/engagements")
async def declare(request: Request) -> Response:
    v = await view_of(request)
    v.require("agency")
    form = await v.form()
    agency = await my_agency(v)
    if agency is None:
        return await _page(v, form, status=409)
    body = {
        "enterprise_uscc": form.get("enterprise_uscc").strip(),
        "kind": form.get("engagement_kind"),
        "from": form.get("eg_from"),
        "to": form.get("eg_to"),
    }
    try:
        await v.api.post(f"/api/v1/agencies/{agency['id']}/engagements", body)
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(_renamed(exc), set(FIELDS.values()), fallback=v.t("unavailable") if exc.unavailable else "")
        return await _page(v, form, status=exc.page_status)
    return v.redirect("/portal/agency/engagements", ok="engagement_declared")
