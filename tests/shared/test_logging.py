"""One log stream of one format (issue #21): structlog's own lines and the standard library's
(uvicorn, SQLAlchemy, nats-py) as JSON with the service and the request id, console rendering in
development, and one access-log line per request with its route template and OAuth client."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from structlog.testing import capture_logs

from devtools.testing.apps import running
from devtools.testing.tokens import auth
from shared.logging import ACCESS
from tests.registry.factories import app_for

SCRIPT = textwrap.dedent(
    """
    import logging, structlog
    from shared.logging import configure_logging
    configure_logging("registry", fmt={fmt!r}, level="INFO")
    structlog.contextvars.bind_contextvars(request_id="req-42")
    structlog.get_logger().info("own.line", answer=42)
    logging.getLogger("uvicorn.error").warning("uvicorn says %s", "hi", extra={{"color_message": "in colour"}})
    logging.getLogger("uvicorn.access").info("127.0.0.1 - GET / 200")  # ours replaces it
    logging.getLogger("nats.aio.client").error("nats lost")
    logging.getLogger("sqlalchemy.engine.Engine").info("SELECT 1")
    logging.getLogger("some.library").info("plain stdlib")
    """
)


def run_logging(fmt: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(fmt=fmt)], capture_output=True, text=True, timeout=60, check=True
    )
    return [line for line in out.stderr.splitlines() if line.strip()]


def test_library_logs_are_json_lines_with_the_service_and_request_id() -> None:
    lines = [json.loads(line) for line in run_logging("json")]
    by_event = {line["event"]: line for line in lines}
    assert set(by_event) == {"own.line", "uvicorn says hi", "nats lost", "plain stdlib"}  # no SQL at INFO
    for line in lines:
        assert line["service"] == "registry"
        assert line["request_id"] == "req-42"
        assert line["timestamp"].endswith("Z")
    assert by_event["own.line"]["answer"] == 42
    assert "color_message" not in by_event["uvicorn says hi"]
    assert by_event["uvicorn says hi"] | {"level": "warning", "logger": "uvicorn.error"} == by_event["uvicorn says hi"]
    assert by_event["nats lost"]["level"] == "error" and by_event["nats lost"]["logger"] == "nats.aio.client"


def test_development_renders_for_the_console() -> None:
    lines = run_logging("console")
    assert len(lines) == 4
    for line in lines:
        assert not line.startswith("{")
    assert any("uvicorn says hi" in line and "request_id" in line for line in lines)


async def test_one_access_line_per_request_with_route_template_and_client(sqlite_backend) -> None:
    async with running(app_for(sqlite_backend.settings(log_level="INFO"))) as client:
        with capture_logs() as logs:
            listed = await client.get("/api/v1/agencies", headers=auth("admin"))
            missing = await client.get("/api/v1/agencies/00000000-0000-0000-0000-000000000000")
    assert listed.status_code == 200 and missing.status_code in (401, 404)
    access = [entry for entry in logs if entry["event"] == ACCESS]
    assert len(access) == 2
    first, second = access
    assert first["method"] == "GET" and first["route"] == "/api/v1/agencies" and first["status"] == 200
    assert first["client_id"] == "test-client" and first["duration_ms"] >= 0
    assert second["route"] == "/api/v1/agencies/{agency_id}" and second["status"] == missing.status_code
    assert second["path"].endswith("00000000-0000-0000-0000-000000000000") and "client_id" not in second
