"""The policy's versions (SPEC §22), public: every published version of the implementation plan,
from when each is in force, who published it; the one in force marked."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from portal.api import ApiError
from portal.web import view_of

router = APIRouter(include_in_schema=False)


@router.get("/portal/policy/versions")
async def versions(request: Request) -> Response:
    v = await view_of(request)
    try:
        listed = await v.api.get("/api/v1/policy/versions")
        in_force = await v.api.get("/api/v1/policy")
    except ApiError:
        return v.error(503, v.t("unavailable"))
    current = in_force.get("version") if isinstance(in_force, dict) else None
    rows: list[dict[str, Any]] = []
    for item in listed if isinstance(listed, list) else []:
        document = item.get("policy") or {}
        rows.append(
            {
                "version": item.get("version"),
                "label": document.get("policy_version"),
                "title": (document.get("title_en") if v.en else document.get("title")) or "",
                "effective_from": item.get("effective_from"),
                "published_at": (item.get("published_at") or "")[:10] or None,
                "in_force": item.get("version") == current,
            }
        )
    return v.render("policy_versions.html", private=False, rows=list(reversed(rows)))
