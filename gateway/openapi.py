"""The merged OpenAPI document: the gateway's own paths plus every service's ``/openapi.json``
(fetched concurrently with a short timeout, cached briefly), with the bearer / OAuth2 security
scheme. A service that is down is listed under ``x-unavailable`` instead of failing the document."""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

import httpx
import structlog

from gateway.proxy import GATEWAY_ADMIN, route_for
from shared.settings import SERVICES, Settings

log = structlog.get_logger("gateway.openapi")
CACHE_SECONDS = 30.0
FETCH_TIMEOUT = 2.0


def security_schemes(issuer: str) -> dict[str, Any]:
    scopes = {"custody.read": "读取 / read", "custody.write": "写入 / write"}
    return {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "oauth2": {
            "type": "oauth2",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": f"{issuer}/oauth/authorize",
                    "tokenUrl": f"{issuer}/oauth/token",
                    "refreshUrl": f"{issuer}/oauth/token",
                    "scopes": scopes,
                },
                "clientCredentials": {"tokenUrl": f"{issuer}/oauth/token", "scopes": scopes},
            },
        },
    }


def _belongs(path: str, service: str) -> bool:
    try:
        routed = route_for(path, f"service={service}".encode())
    except Exception:
        return False
    if routed == service and path.startswith("/api/v1/admin/"):
        return not any(path == p or path.startswith(p + "/") for p in GATEWAY_ADMIN)
    return routed == service


def merge(gateway_doc: dict[str, Any], service_docs: dict[str, dict[str, Any] | None], issuer: str) -> dict[str, Any]:
    doc = copy.deepcopy(gateway_doc)
    doc["info"] = {
        "title": "安全生产托管平台 API / Safety custody platform API",
        "version": "1.0.0",
        "description": "All services behind the gateway. Tokens: /oauth/token (see securitySchemes).",
    }
    paths: dict[str, Any] = doc.setdefault("paths", {})
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    unavailable = []
    for service, spec in service_docs.items():
        if spec is None:
            unavailable.append(service)
            continue
        for path, item in (spec.get("paths") or {}).items():
            if not _belongs(path, service):
                continue
            if path in paths:
                for method, operation in item.items():
                    paths[path].setdefault(method, operation)
            else:
                paths[path] = item
            for operation in item.values():
                if isinstance(operation, dict):
                    operation.setdefault("tags", [service])
        for name, schema in ((spec.get("components") or {}).get("schemas") or {}).items():
            schemas.setdefault(name, schema)
    components["securitySchemes"] = security_schemes(issuer)
    doc["security"] = [{"bearerAuth": []}, {"oauth2": ["custody.read", "custody.write"]}, {}]
    if unavailable:
        doc["x-unavailable"] = sorted(unavailable)
    return doc


class MergedOpenAPI:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    async def document(self, gateway_doc: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT) as client:
                fetched = await asyncio.gather(*(self._fetch(client, s) for s in SERVICES))
            doc = merge(gateway_doc, dict(zip(SERVICES, fetched, strict=False)), self.settings.issuer_url)
            # a document missing a service is cached for a short while only
            stamp = time.monotonic() - (CACHE_SECONDS - 3 if "x-unavailable" in doc else 0)
            self._cached = (stamp, doc)
            return doc

    async def _fetch(self, client: httpx.AsyncClient, service: str) -> dict[str, Any] | None:
        try:
            response = await client.get(f"{self.settings.url_of(service)}/openapi.json")
            response.raise_for_status()
            data = response.json()
            return data if isinstance(data, dict) else None
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("gateway.openapi.fetch_failed", service=service, error=str(exc) or type(exc).__name__)
            return None
