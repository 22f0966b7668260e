"""Builders for enterprise tests: valid USCCs, request bodies, CSV files, and a running app."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from devtools.testing.apps import running
from devtools.testing.events import publish_event
from devtools.testing.tokens import auth, verifier
from devtools.testing.wait import eventually
from services.enterprises.main import create_app
from shared.reference import make_uscc

_counter = itertools.count(1)
CSV_COLUMNS = [
    "uscc",
    "name",
    "industry",
    "district_code",
    "town",
    "village",
    "address",
    "employees",
    "major_hazard_source",
    "hazard_flags",
    "contact_name",
    "contact_phone",
]


def admin() -> dict[str, str]:
    return auth("admin")


def bureau(district: str = "440703") -> dict[str, str]:
    """A bureau token: ``440700`` is the city bureau, ``440703`` 蓬江区, ``440704`` 江海区."""
    return auth("bureau", district=district)


def agency(org_uscc: str | None = None) -> dict[str, str]:
    return auth("agency", org_uscc=org_uscc or uscc(prefix="91440700AG"))


def uscc(n: int | None = None, *, prefix: str = "91440703MA") -> str:
    """A valid USCC; a fresh one each call unless ``n`` is given."""
    n = next(_counter) if n is None else n
    return make_uscc(f"{prefix}{n:07d}"[:17])


def enterprise_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uscc": uscc(),
        "name": "江门市示例五金制品有限公司",
        "industry": "machinery",
        "district_code": "440703",
        "town": "440703001",
        "address": "江门市蓬江区环市街道示例路 1 号",
        "employees": 20,
        "major_hazard_source": False,
        "hazard_flags": [],
        "contact_name": "张三",
        "contact_phone": "13800138000",
    }
    body.update(overrides)
    return body


def enterprise_token(body_or_uscc: dict[str, Any] | str) -> dict[str, str]:
    value = body_or_uscc["uscc"] if isinstance(body_or_uscc, dict) else body_or_uscc
    return auth("enterprise", org_uscc=value)


def csv_row(body: dict[str, Any]) -> list[str]:
    out = []
    for col in CSV_COLUMNS:
        value = body.get(col, "")
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, list):
            value = "|".join(value)
        elif value is None:
            value = ""
        out.append(str(value))
    return out


def csv_text(rows: list[dict[str, Any] | list[str]], *, header: list[str] | None = None) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header or CSV_COLUMNS)
    for row in rows:
        writer.writerow(row if isinstance(row, list) else csv_row(row))
    return buf.getvalue()


async def import_csv(
    client: httpx.AsyncClient,
    content: bytes | str,
    *,
    headers: dict[str, str] | None = None,
    content_type: str = "text/csv",
) -> httpx.Response:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return await client.post(
        "/api/v1/enterprises/import", content=data, headers={**(headers or bureau()), "Content-Type": content_type}
    )


async def register(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **overrides: Any
) -> dict[str, Any]:
    r = await client.post("/api/v1/enterprises", json=enterprise_body(**overrides), headers=headers or admin())
    assert r.status_code == 201, r.text
    return r.json()


def make_app(settings, **kw: Any):
    return create_app(settings, verifier=verifier(), **kw)


@asynccontextmanager
async def service(backend, **settings_overrides: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    settings = backend.settings(**settings_overrides)
    app = make_app(settings)
    async with running(app) as client:
        yield client, settings


class Feed:
    """Publishes events and waits until the service has handled them (applied or skipped)."""

    def __init__(self, client, settings):
        self.client, self.settings = client, settings
        self.sent = 0

    @property
    def subscriber(self):
        return self.client._transport.app.state.runtime.subscriber

    async def send(self, event_type: str, data: dict):
        event = await publish_event(self.settings, event_type, data)
        self.sent += 1
        await eventually(lambda: self.subscriber.processed_total >= self.sent, timeout=30)
        return event
