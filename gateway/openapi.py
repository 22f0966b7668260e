"""The merged OpenAPI document: the gateway's own paths plus every service's ``/openapi.json``
(fetched concurrently with a short timeout, cached briefly), with the bearer / OAuth2 security
scheme. A service that is down is listed under ``x-unavailable`` instead of failing the document.

Every routed operation also documents what the proxy itself answers (400 for a header it will not
send, 401 for a revoked token, 411/413 for bodies, 429, 502/503/504 for the service). The admin
paths every service has (``/api/v1/admin/dlq``, ...) are one operation each, routed by the required
``service`` query parameter, whose enum names the services that have it (D38)."""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

import httpx
import structlog

from gateway.proxy import GATEWAY_ADMIN, route_for
from shared.openapi import BODY_WRITES, add_problems, security_schemes
from shared.settings import SERVICES, Settings

log = structlog.get_logger("gateway.openapi")
CACHE_SECONDS = 30.0
FETCH_TIMEOUT = 2.0


def _belongs(path: str, service: str) -> bool:
    try:
        routed = route_for(path, f"service={service}".encode())
    except Exception:
        return False
    if routed == service and path.startswith("/api/v1/admin/"):
        return not any(path == p or path.startswith(p + "/") for p in GATEWAY_ADMIN)
    return routed == service


PROXY_PROBLEMS = (400, 401, 429, 502, 503, 504)
BODY_PROBLEMS = (411, 413)


def _proxied(method: str, operation: dict[str, Any]) -> dict[str, Any]:
    add_problems(operation, PROXY_PROBLEMS + (BODY_PROBLEMS if method in BODY_WRITES else ()))
    return operation


def _is_service_admin(path: str) -> bool:
    return path.startswith("/api/v1/admin/") and not any(path == p or path.startswith(p + "/") for p in GATEWAY_ADMIN)


def _admin_operation(offered: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One operation for an admin path and method several services have: the first one's, with the
    responses of all, the ``service`` parameter naming them, and an operationId of its own."""
    services = [service for service, _ in offered]
    first_service, first = offered[0]
    operation = copy.deepcopy(first)
    for _, other in offered[1:]:
        for status, response in (other.get("responses") or {}).items():
            operation.setdefault("responses", {}).setdefault(status, copy.deepcopy(response))
    parameters = [
        p for p in operation.get("parameters") or [] if not (p.get("in") == "query" and p["name"] == "service")
    ]
    parameters.insert(
        0,
        {
            "name": "service",
            "in": "query",
            "required": True,
            "description": "由哪个服务执行 / the service that serves this admin operation",
            "schema": {"type": "string", "enum": services},
        },
    )
    operation["parameters"] = parameters
    name = str(operation.get("operationId", "")).removeprefix(f"{first_service}_")
    if len(services) > 1:
        operation["operationId"] = f"services_{name}"
    operation["tags"] = ["admin"]
    operation["x-services"] = services
    return operation


REF = "#/components/schemas/"


def _own_schema_names(spec: dict[str, Any], service: str, schemas: dict[str, Any]) -> dict[str, Any]:
    """A schema name another document already uses for a different schema is renamed
    ``<service>_<name>`` in this service's document (its references too): one name, one schema."""
    own = (spec.get("components") or {}).get("schemas") or {}
    renamed = {name: f"{service}_{name}" for name, schema in own.items() if name in schemas and schemas[name] != schema}
    if not renamed:
        return spec

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (
                    REF + renamed.get(v.removeprefix(REF), v.removeprefix(REF))
                    if k == "$ref" and isinstance(v, str) and v.startswith(REF)
                    else rewrite(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        return value

    result: dict[str, Any] = rewrite(spec)
    result["components"]["schemas"] = {renamed.get(k, k): v for k, v in result["components"]["schemas"].items()}
    return result


def merge(gateway_doc: dict[str, Any], service_docs: dict[str, dict[str, Any] | None], issuer: str) -> dict[str, Any]:
    doc = copy.deepcopy(gateway_doc)
    doc["info"] = {
        "title": "安全生产托管平台 API / Safety custody platform API",
        "version": "1.0.0",
        "description": "All services behind the gateway. Tokens: /oauth/token (see securitySchemes). Admin "
        "operations of the services name the service in the `service` query parameter.",
    }
    paths: dict[str, Any] = doc.setdefault("paths", {})
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    unavailable = []
    admin: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
    for service, spec in service_docs.items():
        if spec is None:
            unavailable.append(service)
            continue
        spec = _own_schema_names(spec, service, schemas)
        for path, item in (spec.get("paths") or {}).items():
            if not _belongs(path, service):
                continue
            for method, operation in item.items():
                if not isinstance(operation, dict):
                    continue
                operation.setdefault("tags", [service])
                operation = _proxied(method, copy.deepcopy(operation))
                if _is_service_admin(path):
                    admin.setdefault((path, method), []).append((service, operation))
                else:
                    paths.setdefault(path, {}).setdefault(method, operation)
        for name, schema in ((spec.get("components") or {}).get("schemas") or {}).items():
            schemas.setdefault(name, schema)
    for (path, method), offered in admin.items():
        paths.setdefault(path, {})[method] = _admin_operation(offered)
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
