"""The proxy against a small aiohttp upstream that echoes what it received: request ids and
forwarding headers reach the service, hop-by-hop headers do not, query strings and raw paths pass
unchanged, bodies stream both ways, upstream status codes and problem bodies pass through."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from devtools.natsserver import free_port
from tests.gateway.conftest import gateway_settings, running_gateway


async def _echo(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    if request.path.endswith("/problem"):
        return web.Response(
            status=409,
            content_type="application/problem+json",
            text=json.dumps({"type": "urn:x", "title": "Conflict", "status": 409, "detail": "upstream"}),
        )
    if request.path.endswith("/big"):
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        for _ in range(64):
            await response.write(b"z" * 65536)
        await response.write_eof()
        return response
    return web.json_response(
        {"method": request.method, "path": request.raw_path, "headers": dict(request.headers), "body_len": len(body)},
        headers={"X-Upstream": "yes", "Connection": "keep-alive"},
    )


@pytest.fixture
async def echo_gateway(sqlite_backend):
    app = web.Application(client_max_size=300 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", _echo)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    urls = {f"{n}_url": f"http://127.0.0.1:{port}" for n in ("registry", "enterprises", "contracts", "audit", "portal")}
    try:
        async with running_gateway(gateway_settings(sqlite_backend, **urls)) as client:
            yield client
    finally:
        await runner.cleanup()


async def test_headers_and_request_id_reach_the_service(echo_gateway):
    response = await echo_gateway.get(
        "/api/v1/contracts/a%2Fb?x=1&y=%20z",
        headers={
            "X-Request-ID": "rid-42",
            "Authorization": "Bearer abc",
            "Connection": "keep-alive",
            "TE": "trailers",
            "Accept-Language": "en",
        },
    )
    assert response.status_code == 200
    seen = response.json()
    assert seen["path"] == "/api/v1/contracts/a%2Fb?x=1&y=%20z"
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["x-request-id"] == "rid-42"
    assert headers["authorization"] == "Bearer abc" and headers["accept-language"] == "en"
    assert headers["x-forwarded-for"] == "10.1.2.3"
    assert "te" not in headers
    assert response.headers["x-request-id"] == "rid-42"
    assert response.headers["x-upstream"] == "yes"
    generated = await echo_gateway.get("/api/v1/contracts")
    upstream_rid = {k.lower(): v for k, v in generated.json()["headers"].items()}["x-request-id"]
    assert upstream_rid == generated.headers["x-request-id"]


async def test_problem_bodies_and_status_pass_through(echo_gateway):
    response = await echo_gateway.post("/api/v1/hazards/problem", json={"a": 1})
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "upstream"


async def test_bodies_stream_both_ways(echo_gateway):
    big = await echo_gateway.get("/api/v1/audits/big")
    assert big.status_code == 200 and len(big.content) == 64 * 65536
    upload = await echo_gateway.post(
        "/api/v1/agencies/1/documents",
        content=b"%PDF" + b"x" * (5 * 1024 * 1024),
        headers={"content-type": "application/pdf"},
    )
    assert upload.status_code == 200 and upload.json()["body_len"] == 4 + 5 * 1024 * 1024

    async def chunks():
        for _ in range(10):
            yield b"1" * 50_000

    streamed = await echo_gateway.post(
        "/api/v1/agencies", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 200 and streamed.json()["body_len"] == 500_000
    csv = await echo_gateway.post(
        "/api/v1/enterprises/import", content=b"a,b\n" * (3 * 1024 * 1024), headers={"content-type": "text/csv"}
    )
    assert csv.status_code == 200 and csv.json()["body_len"] == 12 * 1024 * 1024  # the bulk import has a larger limit


async def test_methods_pass_through(echo_gateway):
    for method in ("GET", "DELETE", "PATCH", "PUT", "OPTIONS"):
        response = await echo_gateway.request(
            method, "/api/v1/credit/x", json={"k": "v"} if method in ("PATCH", "PUT") else None
        )
        assert response.status_code == 200 and response.json()["method"] == method
    head = await echo_gateway.head("/api/v1/credit/x")
    assert head.status_code == 200 and head.content == b""


async def test_streamed_body_over_the_limit_is_413(echo_gateway):
    async def chunks():
        for _ in range(24):
            yield b" " * (64 * 1024)

    streamed = await echo_gateway.post(
        "/api/v1/agencies", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413 and streamed.json()["limit_bytes"] == 1024 * 1024


async def test_proxied_requests_are_counted_per_service(echo_gateway):
    await echo_gateway.get("/api/v1/contracts")
    metrics = (await echo_gateway.get("/metrics")).text
    assert 'route="proxy:contracts"' in metrics


async def test_odd_header_bytes_do_not_break_the_proxy(echo_gateway):
    response = await echo_gateway.get("/api/v1/contracts", headers=[(b"X-Odd", b"caf\xe9 \x80\xff")])
    assert response.status_code < 500


async def test_forged_client_ids_do_not_escape_the_address_limit(sqlite_backend, tmp_path):
    import base64 as b64
    import json as js

    from devtools.natsserver import free_port as fp

    urls = {f"{n}_url": f"http://127.0.0.1:{fp()}" for n in ("registry", "enterprises", "contracts", "audit")}
    settings = gateway_settings(sqlite_backend, proxy_rate_burst=2, proxy_rate_per_second=0.01, **urls)
    async with running_gateway(settings) as gw:
        statuses = []
        for i in range(15):
            payload = b64.urlsafe_b64encode(js.dumps({"client_id": f"forged-{i}"}).encode()).rstrip(b"=").decode()
            r = await gw.get("/api/v1/policy", headers={"Authorization": f"Bearer e30.{payload}.sig"})
            statuses.append(r.status_code)
        assert statuses.count(429) >= 5  # the address bucket (5 × 2) ran out


async def test_browser_cookies_reach_the_portal_but_never_a_service(echo_gateway):
    cookies = {"Cookie": "custody_portal=secret-session; custody_lang=en"}
    seen = (await echo_gateway.get("/api/v1/contracts", headers=cookies)).json()
    assert "cookie" not in {k.lower() for k in seen["headers"]}
    seen = (await echo_gateway.post("/api/v1/complaints", headers=cookies, json={"a": 1})).json()
    assert "cookie" not in {k.lower() for k in seen["headers"]}
    seen = (await echo_gateway.get("/portal/dashboard", headers=cookies)).json()
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["cookie"] == "custody_portal=secret-session; custody_lang=en"
    for path in ("/", "/policy", "/docs", "/asyncapi", "/portal/static/portal.css"):
        assert (await echo_gateway.get(path)).json()["path"] == path  # the portal's, proxied
