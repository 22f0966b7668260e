"""The OpenAPI document tells the truth (D38): one post-processor, applied to every
service's document by ``create_service_app`` and to the gateway's own, that documents per
operation — from the route's dependencies and shape, so that a new endpoint is covered without
anyone editing it —

* the RFC 9457 problems the platform's middleware and handlers really answer, each as
  ``application/problem+json`` with the shared ``Problem`` schema (shared.errors.problem): 401/403
  when the route reads a bearer token, 404 with path parameters, 409 for writes, 412 with If-Match,
  400/413 for bodies, 415 for POST/PUT/PATCH, 422 (replacing FastAPI's ``HTTPValidationError``),
  503 when the database is down;
* ``security`` per operation: bearer / OAuth2 with ``custody.read`` (GET) or ``custody.write``,
  optional (``{}``) where the token is optional, none for public routes;
* readable unique operationIds, ``<service>_<function name>`` (``operation_id_function``);
* an example for every JSON request body: the model's own ``examples`` where it has them, else one
  built deterministically from the schema (``example_of``).

The gateway's merge (gateway.openapi) adds what its proxy answers on every routed operation (429,
502, 504, ...) and keeps the admin paths of every service behind their ``service`` parameter.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from shared import auth
from shared.errors import TITLES
from shared.http import if_match
from shared.i18n import Text

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
READ_SCOPE, WRITE_SCOPE = "custody.read", "custody.write"
SAFE = frozenset({"get", "head", "options"})
WRITES = frozenset({"post", "put", "patch", "delete"})
BODY_WRITES = frozenset({"post", "put", "patch"})
PUBLIC_OPS = frozenset({"/healthz", "/readyz"})
COMPLETE = "x-responses-complete"  # openapi_extra of a route that documents its own responses

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 问题详情 / problem details (shared.errors.problem); 其他字段视错误而定 / "
    "further members depend on the error (current_status, current_version, limit_bytes, service, ...)",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "examples": ["urn:custody:problem:validation_failed"]},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "shared.errors.ErrorCode"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}

# Required / optional principal dependencies (shared.auth); a route may add its own with ``mark``.
REQUIRED: set[Callable[..., Any]] = {
    auth.require_principal,
    auth.require_principal_pending_org,
    auth.require_account,
}
OPTIONAL: set[Callable[..., Any]] = {auth.optional_principal, auth.principal_from_request}


def reads_token_optionally(call: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a dependency that reads the bearer token when there is one (the ``UoW``)."""
    OPTIONAL.add(call)
    return call


def security_schemes(issuer: str) -> dict[str, Any]:
    scopes = {READ_SCOPE: "读取 / read", WRITE_SCOPE: "写入 / write"}
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


def security_for(method: str, auth_kind: str | None) -> list[dict[str, list[str]]]:
    if auth_kind is None:
        return []
    scope = READ_SCOPE if method in SAFE else WRITE_SCOPE
    required: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"oauth2": [scope]}]
    return [*required, {}] if auth_kind == "optional" else required


def describe(status: int) -> str:
    title: Text = TITLES.get(status, TITLES[500 if status >= 500 else 400])
    return f"{title.zh} / {title.en}"


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    return {"description": description or describe(status), "content": {PROBLEM_JSON: {"schema": dict(PROBLEM_REF)}}}


def add_problems(operation: dict[str, Any], statuses: Iterable[int]) -> None:
    """Document ``statuses`` on ``operation`` as problems; an error response already documented
    keeps its description (and any non-empty non-problem content, e.g. readyz's JSON 503), and
    loses FastAPI's ``HTTPValidationError`` / empty ``application/json``."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in sorted(set(statuses)):
        responses.setdefault(str(status), {"description": describe(status)})
    for key, response in responses.items():
        if not key.isdigit() or int(key) < 400:
            continue
        content: dict[str, Any] = response.setdefault("content", {})
        plain = content.get("application/json")
        if plain is not None:
            schema = plain.get("schema") or {}
            if not schema or str(schema.get("$ref", "")).endswith("/HTTPValidationError"):
                del content["application/json"]
                if not response.get("x-not-a-problem"):
                    content[PROBLEM_JSON] = {"schema": dict(PROBLEM_REF)}
        if not content or PROBLEM_JSON in content:
            content[PROBLEM_JSON] = {"schema": dict(PROBLEM_REF)}
        response.pop("x-not-a-problem", None)


def calls_of(dependant: Dependant) -> set[Callable[..., Any]]:
    found: set[Callable[..., Any]] = set()
    stack = [dependant]
    while stack:
        current = stack.pop()
        if current.call is not None:
            found.add(current.call)
        stack.extend(current.dependencies)
    return found


def auth_of(calls: set[Callable[..., Any]]) -> str | None:
    if calls & REQUIRED:
        return "required"
    if calls & OPTIONAL:
        return "optional"
    return None


def references(operation: dict[str, Any], components: dict[str, Any]) -> bool:
    """Whether the JSON body names another entity by id (a UUID member): it may not exist, 404."""
    content = (operation.get("requestBody") or {}).get("content") or {}
    schema = _resolve((content.get("application/json") or {}).get("schema") or {}, components)
    for option in [schema, *(schema.get("anyOf") or [])]:
        option = _resolve(option, components)
        for member in (option.get("properties") or {}).values():
            member = _resolve(member, components)
            candidates = [member, *(member.get("anyOf") or [])]
            if any(c.get("format") == "uuid" for c in candidates):
                return True
    return False


def statuses_for(
    path: str, method: str, operation: dict[str, Any], calls: set[Callable[..., Any]], components: dict[str, Any]
) -> set[int]:
    """The problems the platform answers for this operation (shared.errors, shared.http,
    shared.idempotency, shared.auth)."""
    if path in PUBLIC_OPS:
        return set()
    statuses = {422, 503}  # validation / control characters in the query; the database down
    has_body = "requestBody" in operation
    if auth_of(calls) is not None:
        statuses |= {401, 403}
    if "{" in path or references(operation, components):
        statuses.add(404)
    if method in WRITES:
        statuses.add(409)  # state machines, conflicts, Idempotency-Key in progress / response lost
    if if_match in calls:
        statuses.add(412)
    if has_body:
        statuses |= {400, 413}  # malformed JSON; the body limits
    if method in BODY_WRITES:
        statuses.add(415)
    return statuses


def operation_id_function(service: str) -> Callable[[APIRoute], str]:
    def unique_id(route: APIRoute) -> str:
        return f"{service}_{route.name}"

    return unique_id


def _resource(path: str) -> str:
    static = [p for p in path.split("/") if p and not p.startswith("{") and p not in ("api", "v1")]
    return re.sub(r"\W", "_", static[0]) if static else "root"


def unique_operation_ids(doc: dict[str, Any]) -> None:
    """Two routes of one service sharing a function name (``listing`` in several routers) are told
    apart by their resource, ``audit_listing_hazards``; as the last resort, by their method."""
    for suffix in (lambda path, method: _resource(path), lambda path, method: method):
        seen: Counter[str] = Counter()
        for item in (doc.get("paths") or {}).values():
            for operation in item.values():
                if isinstance(operation, dict) and "operationId" in operation:
                    seen[operation["operationId"]] += 1
        for path, item in (doc.get("paths") or {}).items():
            for method, operation in item.items():
                if isinstance(operation, dict) and seen.get(operation.get("operationId", ""), 0) > 1:
                    operation["operationId"] = f"{operation['operationId']}_{suffix(path, method)}"


# --- examples ----------------------------------------------------------------------------------
FORMAT_EXAMPLES = {
    "date": "2026-03-01",
    "date-time": "2026-03-01T09:00:00+08:00",
    "uuid": "7c0f4a52-3c1e-4b8e-9a55-2f1f3b6f2c10",
    "email": "safety@example.com",
    "uri": "https://example.com/hooks/custody",
    "binary": "",
}


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 20:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
        seen += 1
    return schema


def example_of(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """A deterministic example valid against ``schema``: its own ``examples`` / ``example`` /
    ``default`` / ``const`` / first enum value where it has one, else one built from its type
    (required members of an object only; strings by format, as long as ``minLength`` asks)."""
    schema = _resolve(schema, components)
    if depth > 8:
        return None
    if schema.get("examples"):
        examples = schema["examples"]
        return copy.deepcopy(examples[0] if isinstance(examples, list) else next(iter(examples.values())))
    for key in ("example", "default", "const"):
        if key in schema:
            return copy.deepcopy(schema[key])
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return example_of(options[0], components, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        required = set(schema.get("required", ()))
        return {
            name: example_of(sub, components, depth + 1)
            for name, sub in (schema.get("properties") or {}).items()
            if name in required
        }
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [example_of(schema.get("items") or {}, components, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in schema else None)
        high = schema.get("maximum", schema.get("exclusiveMaximum", 0) - 1 if "exclusiveMaximum" in schema else None)
        fits = (low is None or low <= 1) and (high is None or high >= 1)
        value = 1 if fits or (low is None and high is None) else (low if low is not None else high)
        return int(value) if kind == "integer" else float(value)  # type: ignore[arg-type]
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    value = FORMAT_EXAMPLES.get(str(schema.get("format", "")), "示例")
    minimum = int(schema.get("minLength", 0))
    if len(value) < minimum:
        value = value + "x" * (minimum - len(value))
    if "maxLength" in schema:
        value = value[: int(schema["maxLength"])]
    return value


def add_example(operation: dict[str, Any], components: dict[str, Any]) -> None:
    body = operation.get("requestBody")
    if not body:
        return
    for media_type, content in (body.get("content") or {}).items():
        if "example" in content or "examples" in content:
            continue
        schema = content.get("schema") or {}
        if (
            media_type == "application/json"
            or media_type.endswith("+json")
            or media_type == "application/x-www-form-urlencoded"
        ):
            content["example"] = example_of(schema, components)


# --- the post-processor --------------------------------------------------------------------------
def truthful(doc: dict[str, Any], routes: Iterable[Any], *, issuer: str) -> dict[str, Any]:
    """Post-process FastAPI's ``doc`` of ``routes`` (see the module docstring)."""
    components = doc.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    schemas["Problem"] = copy.deepcopy(PROBLEM_SCHEMA)
    components["securitySchemes"] = security_schemes(issuer)
    paths: dict[str, Any] = doc.get("paths") or {}
    for route in routing.iter_route_contexts(list(routes)):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        calls = calls_of(route.dependant)
        kind = auth_of(calls)
        path = str(route.path_format)
        for method in sorted(route.methods or ()):
            operation = (paths.get(path) or {}).get(method.lower())
            if operation is None:
                continue
            # a route that answers in its own format (OAuth, RFC 6749) lists its responses itself;
            # the platform's handlers still add 422 (query text) and 503 (the database down)
            complete = operation.pop(COMPLETE, False)
            statuses = {422, 503} if complete else statuses_for(path, method.lower(), operation, calls, schemas)
            add_problems(operation, statuses)
            operation["security"] = security_for(method.lower(), kind)
            add_example(operation, schemas)
    unique_operation_ids(doc)
    fastapi_defaults = ("HTTPValidationError", "ValidationError")
    used = _refs(paths) | _refs({k: v for k, v in schemas.items() if k not in fastapi_defaults})
    for name in fastapi_defaults:
        if name in schemas and name not in used:
            del schemas[name]
    return doc


def _refs(value: Any, found: set[str] | None = None) -> set[str]:
    found = set() if found is None else found
    if isinstance(value, dict):
        for key, sub in value.items():
            if key == "$ref" and isinstance(sub, str):
                found.add(sub.rsplit("/", 1)[-1])
            else:
                _refs(sub, found)
    elif isinstance(value, list):
        for sub in value:
            _refs(sub, found)
    return found


def _generated(app: FastAPI) -> dict[str, Any]:
    with warnings.catch_warnings():  # duplicates are told apart by unique_operation_ids
        warnings.filterwarnings("ignore", message="Duplicate Operation ID")
        return get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)


def install(app: FastAPI, *, issuer: str) -> None:
    """Make ``app.openapi()`` the truthful document (cached, as FastAPI's)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = truthful(_generated(app), app.routes, issuer=issuer)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI, *, issuer: str) -> dict[str, Any]:
    """A fresh truthful document of ``app`` (the gateway's own, built per request of the merge)."""
    return truthful(_generated(app), app.routes, issuer=issuer)
