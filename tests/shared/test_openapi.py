"""The OpenAPI documents tell the truth (D38, shared.openapi): every service's document,
the gateway's own and the merged one validate with openapi-spec-validator; operationIds are
``<service>_<function>`` and unique across the merged document; every operation declares its
security and documents its problems as ``application/problem+json``; every request body has an
example that the route itself accepts; the admin paths of every service are kept behind their
``service`` parameter. The documents are built from the real apps (no server needed)."""

from __future__ import annotations

import importlib
from collections import Counter
from typing import Any

import jsonschema
import orjson
import pytest
from fastapi import APIRouter, FastAPI, routing
from fastapi.routing import APIRoute
from openapi_spec_validator import validate
from pydantic import BaseModel

from gateway.openapi import merge
from shared import openapi as openapi_doc
from shared.app import UoW
from shared.auth import CurrentPrincipal
from shared.errors import PROBLEM_JSON, ErrorCode, FieldError, problem
from shared.http import IfMatch
from shared.settings import SERVICES

ISSUER = "https://custody.example"
METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


def service_app(name: str) -> FastAPI:
    app: FastAPI = importlib.import_module(f"services.{name}.main").create_app()
    return app


@pytest.fixture(scope="module")
def apps() -> dict[str, FastAPI]:
    from gateway.main import create_app

    built = {name: service_app(name) for name in SERVICES}
    built["gateway"] = create_app()
    return built


@pytest.fixture(scope="module")
def docs(apps: dict[str, FastAPI]) -> dict[str, dict[str, Any]]:
    result = {name: apps[name].openapi() for name in SERVICES}
    result["gateway"] = openapi_doc.document(apps["gateway"], issuer=ISSUER)
    result["merged"] = merge(result["gateway"], {s: result[s] for s in SERVICES}, ISSUER)
    return result


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def routes_of(app: FastAPI) -> list[Any]:
    return [
        r
        for r in routing.iter_route_contexts(list(app.routes))
        if isinstance(r.original_route, APIRoute) and r.include_in_schema
    ]


@pytest.mark.parametrize("name", [*SERVICES, "gateway", "merged"])
def test_the_document_is_valid_openapi(docs, name):
    validate(docs[name])


def test_operation_ids_are_readable_and_unique_across_the_merged_document(docs):
    ids = [op["operationId"] for _, _, op in operations(docs["merged"])]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    prefixes = {*SERVICES, "gateway", "services"}
    assert all(i.split("_", 1)[0] in prefixes for i in ids), ids
    assert not [i for i in ids if "api_v1" in i], "a FastAPI default operationId is left"
    by_path = {(p, m): op["operationId"] for p, m, op in operations(docs["merged"])}
    assert by_path[("/api/v1/contracts/{contract_id}/filing-review", "post")] == "contracts_review_filing"
    assert by_path[("/api/v1/hazards", "get")] == "audit_listing_hazards"  # same function name, told apart
    assert by_path[("/api/v1/admin/dlq", "get")] == "services_list_dead_letters"


@pytest.mark.parametrize("name", [*SERVICES, "gateway"])
def test_every_service_document_has_unique_operation_ids(docs, name):
    ids = [op["operationId"] for _, _, op in operations(docs[name])]
    assert len(ids) == len(set(ids))
    assert all(i.startswith(f"{name}_") for i in ids)


@pytest.mark.parametrize("name", [*SERVICES, "gateway", "merged"])
def test_every_error_response_is_a_documented_problem(docs, name):
    doc = docs[name]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, method, operation in operations(doc):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            content = response.get("content") or {}
            if path.startswith("/api/"):
                assert content.get(PROBLEM_JSON) == {"schema": {"$ref": "#/components/schemas/Problem"}}, (
                    method,
                    path,
                    status,
                )
                assert "application/json" not in content, (method, path, status)
            else:
                assert content, (method, path, status)
        if path.startswith("/api/"):
            assert "422" in operation["responses"] and "503" in operation["responses"], (method, path)


def test_problems_follow_the_route_shape(docs):
    contracts = docs["contracts"]["paths"]
    sign = contracts["/api/v1/contracts/{contract_id}/sign"]["post"]["responses"]
    assert {"401", "403", "404", "409", "412", "415", "422", "503"} <= set(sign)
    listing = contracts["/api/v1/contracts"]["get"]["responses"]
    assert "415" not in listing and "413" not in listing
    created = docs["registry"]["paths"]["/api/v1/agencies"]["post"]["responses"]
    assert {"400", "401", "403", "409", "413", "415", "422"} <= set(created)
    policy = docs["registry"]["paths"]["/api/v1/policy"]["get"]["responses"]
    assert "401" not in policy and "403" not in policy  # public
    merged = docs["merged"]["paths"]["/api/v1/contracts/{contract_id}/sign"]["post"]["responses"]
    assert {"400", "401", "411", "413", "429", "502", "503", "504"} <= set(merged)  # the proxy's own


def test_the_problem_schema_describes_what_problem_renders(docs):
    schema = {**docs["merged"]["components"]["schemas"]["Problem"]}
    response = problem(
        409,
        code=ErrorCode.INVALID_TRANSITION,
        detail="x",
        errors=[FieldError("field", "message")],
        request_id="r-1",
        instance="/api/v1/contracts/1/sign",
        extra={"current_status": "draft", "action": "sign"},
    )
    assert response.media_type == PROBLEM_JSON
    jsonschema.validate(orjson.loads(response.body), schema)


def test_security_is_declared_per_operation(docs):
    paths = docs["merged"]["paths"]
    required_write = [{"bearerAuth": []}, {"oauth2": ["custody.write"]}]
    required_read = [{"bearerAuth": []}, {"oauth2": ["custody.read"]}]
    assert paths["/api/v1/contracts/{contract_id}/sign"]["post"]["security"] == required_write
    assert paths["/api/v1/contracts"]["get"]["security"] == required_read
    assert paths["/api/v1/admin/dlq"]["get"]["security"] == required_read
    assert paths["/api/v1/admin/accounts"]["get"]["security"] == required_read
    assert paths["/api/v1/directory/agencies"]["get"]["security"] == [*required_read, {}]  # optional
    assert paths["/api/v1/complaints"]["post"]["security"] == [*required_write, {}]
    assert paths["/api/v1/policy"]["get"]["security"] == []  # public
    assert paths["/api/v1/accounts"]["post"]["security"] == []  # the public sign-up
    assert paths["/oauth/token"]["post"]["security"] == []
    for path, method, operation in operations(docs["merged"]):
        assert "security" in operation or path in ("/healthz", "/readyz"), (method, path)
    for name in [*SERVICES, "gateway"]:
        assert {"bearerAuth", "oauth2"} <= set(docs[name]["components"]["securitySchemes"])


def test_the_admin_paths_of_every_service_are_kept_with_their_service_parameter(docs):
    paths = docs["merged"]["paths"]
    with_sweeps = [s for s in SERVICES if "/api/v1/admin/sweep" in docs[s]["paths"]]
    for path, method, services in (
        ("/api/v1/admin/dlq", "get", list(SERVICES)),
        ("/api/v1/admin/dlq/{dead_letter_id}/replay", "post", list(SERVICES)),
        ("/api/v1/admin/audit-trail/verify", "get", list(SERVICES)),
        ("/api/v1/admin/sweep", "post", with_sweeps),
    ):
        operation = paths[path][method]
        service = [p for p in operation["parameters"] if p["name"] == "service"]
        assert service == [
            {
                "name": "service",
                "in": "query",
                "required": True,
                "description": service[0]["description"],
                "schema": {"type": "string", "enum": services},
            }
        ]
        assert operation["x-services"] == services
    assert {"/api/v1/admin/accounts", "/api/v1/admin/clients", "/api/v1/admin/keys"} <= set(paths)  # the gateway's


def _body_examples(doc: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [
        (path, method, media_type, content)
        for path, method, operation in operations(doc)
        for media_type, content in (operation.get("requestBody") or {}).get("content", {}).items()
    ]


@pytest.mark.parametrize("name", [*SERVICES, "gateway", "merged"])
def test_every_request_body_has_an_example_valid_against_its_schema(docs, name):
    doc = docs[name]
    bodies = _body_examples(doc)
    assert bodies
    for path, method, media_type, content in bodies:
        assert "example" in content or "examples" in content, (method, path, media_type)
        inline = [content["example"]] if "example" in content else []
        for example in (content.get("examples") or {}).values():
            assert "value" in example or "externalValue" in example, (method, path, media_type)
            inline += [example["value"]] if "value" in example else []  # a workbook's is a link
        if "schema" in content and not media_type.startswith("multipart/"):
            schema = {**content["schema"], "components": doc["components"]}
            for value in inline:
                jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(value)


@pytest.mark.parametrize("name", [*SERVICES, "gateway"])
def test_every_json_example_is_accepted_by_its_route(apps, docs, name):
    """Truthful, not only schema-valid: the route's own body model (checksums, district codes,
    cross-field rules) accepts the example."""
    paths = docs[name]["paths"]
    checked = 0
    for route in routes_of(apps[name]):
        if route.body_field is None:
            continue
        for method in route.methods:
            content = paths[route.path_format][method.lower()]["requestBody"]["content"]
            if "application/json" not in content:
                continue
            _, errors = route.body_field.validate(content["application/json"]["example"], {}, loc=("body",))
            assert not errors, (method, route.path_format, errors)
            checked += 1
    assert checked or name == "gateway"


def test_a_schema_name_means_one_schema_in_the_merged_document(docs):
    """Two services with different schemas of one name: the later one's is renamed with its
    references, so neither is documented with the other's schema."""
    registry = docs["registry"]
    clash = {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": {
            "/api/v1/enterprises/x": {
                "get": {
                    "operationId": "enterprises_x",
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AgencyRead"}}},
                        }
                    },
                }
            }
        },
        "components": {"schemas": {"AgencyRead": {"type": "object", "properties": {"other": {"type": "string"}}}}},
    }
    merged = merge(docs["gateway"], {"registry": registry, "enterprises": clash}, ISSUER)
    schemas = merged["components"]["schemas"]
    assert schemas["AgencyRead"] == registry["components"]["schemas"]["AgencyRead"]
    assert schemas["enterprises_AgencyRead"] == clash["components"]["schemas"]["AgencyRead"]
    ref = merged["paths"]["/api/v1/enterprises/x"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ref == {"$ref": "#/components/schemas/enterprises_AgencyRead"}
    validate(merged)


class ThingBody(BaseModel):
    name: str


things = APIRouter(prefix="/api/v1/things")


@things.post("/{thing_id}/rename")
async def rename_thing(thing_id: str, body: ThingBody, uow: UoW, _: CurrentPrincipal, if_match: IfMatch) -> dict:
    return {}


@things.get("")
async def list_things(uow: UoW) -> dict:
    return {}


def test_a_new_route_is_covered_without_editing_it():
    app = FastAPI(generate_unique_id_function=openapi_doc.operation_id_function("things"))
    app.include_router(things)
    openapi_doc.install(app, issuer=ISSUER)
    doc = app.openapi()
    validate(doc)
    rename = doc["paths"]["/api/v1/things/{thing_id}/rename"]["post"]
    assert rename["operationId"] == "things_rename_thing"
    assert set(rename["responses"]) == {"200", "400", "401", "403", "404", "409", "412", "413", "415", "422", "503"}
    assert rename["security"] == [{"bearerAuth": []}, {"oauth2": ["custody.write"]}]
    assert rename["requestBody"]["content"]["application/json"]["example"] == {"name": "示例"}
    listing = doc["paths"]["/api/v1/things"]["get"]
    assert listing["security"] == [{"bearerAuth": []}, {"oauth2": ["custody.read"]}, {}]
    assert set(listing["responses"]) == {"200", "401", "403", "422", "503"}
