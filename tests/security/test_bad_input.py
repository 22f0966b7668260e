"""The bad-input corpus at every write endpoint of the merged OpenAPI, through the gateway, as a
caller who is allowed to write there (so the input, not the caller, is what gets judged).

Invariants: never a 5xx; every refusal is ``application/problem+json``; the classes that can never
be valid (oversized, not JSON, invalid UTF-8, deep nesting, wrong content type, non-finite or huge
numbers, impossible dates, NUL and other control characters in identifiers) are refused with a
4xx; a refused write stores nothing. SQL- and HTML-looking text is stored verbatim and escaped in
the portal."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults.helpers import record
from tests.files import HTML, JPEG_PDF, PDF, PNG_HTML
from tests.security import authz_matrix as M
from tests.security.requests_ import body_for, fill_path
from tests.security.test_authz_matrix import versions
from tests.security.world import World, agency_body, enterprise_body

# fuzzing on a platform of its own, beside the matrix (tests/conftest.py)
PLATFORM_GROUP = "security-input"

# Writes that take no body (test_bodyless_writes_are_what_the_openapi_says keeps this list true):
# nothing to corrupt there but their path and query (test_malformed_ids_in_the_path_are_refused,
# test_odd_query_values_never_break_the_server). DELETE takes no body either.
BODYLESS = {
    "POST /api/v1/admin/dlq/{dead_letter_id}/replay",
    "POST /api/v1/admin/sweep",
    "POST /api/v1/admin/keys/{kid}/revoke",
    "POST /api/v1/contracts/{contract_id}/file",
    "POST /api/v1/service-logs/{log_id}/confirm",
    "POST /api/v1/supervision/{case_id}/acknowledge",
    "POST /api/v1/inbox/read-all",
    "POST /api/v1/inbox/{item_id}/read",
    "POST /api/v1/webhooks/{subscription_id}/deliveries/{delivery_id}/retry",
}
ROTATE = "POST /api/v1/admin/keys/rotate"  # rotating the keys on every case would only churn the JWKS
WRITES = [op for op in M.ALLOW if not op.startswith(("GET ", "DELETE ")) and op not in BODYLESS and op != ROTATE] + [
    "POST /oauth/token",
    "POST /oauth/introspect",
    "POST /oauth/revoke",
]
PREFERRED = ("entA", "agencyA", "bureauA", "admin", "anon")
STATS: Counter[str] = Counter()
SERVER_ERRORS: list[str] = []


def writer_for(operation: str) -> str:
    if operation.startswith("POST /oauth"):
        return "anon"
    allowed = M.ALLOW[operation]
    if allowed == M.PUBLIC:
        return "anon"
    if operation in M.GUESSED_SECRET:
        return "anon"
    return next(a for a in PREFERRED if a in allowed)


# --- the corpus ---------------------------------------------------------------------------
NEVER_VALID_VALUES: list[tuple[str, Any]] = [
    ("nul-char", "abc\u0000def"),
    ("lone-surrogate", "\ud800"),
    ("float-overflow", "__1e999__"),  # written raw: a JSON number that overflows to infinity
    ("nested-object", {"a": {"b": {"c": [1, 2, {"d": None}]}}}),
    ("impossible-date", "2026-02-30"),
    ("year-zero", "0000-01-01"),
    ("year-10000", "10000-01-01"),
]
ODD_VALUES: list[tuple[str, Any]] = [
    ("huge-int", 10**400),  # refused where a number has bounds; an unbounded seed may keep it as text
    ("empty", ""),
    ("whitespace", "   \t  "),
    ("control-chars", "a\x07b\x1bc\x7f"),
    ("bidi-override", "abc\u202edef"),
    ("sql-looking", "'; DROP TABLE contracts; --"),
    ("html-looking", "<script>alert(1)</script>"),
    ("very-long", "长" * 100_000),
    ("wrong-type-list", []),
    ("wrong-type-bool", True),
    ("wrong-type-number", 12345),
    ("null", None),
    ("negative", -1),
    ("max-date", "9999-12-31"),
    ("min-date", "0001-01-01"),
]


def encode(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=True).replace('"__1e999__"', "1e999").encode()


def check(r, label: str, *, must_refuse: bool) -> None:
    STATS["requests"] += 1
    if r.status_code >= 500:
        SERVER_ERRORS.append(f"{label}: {r.status_code} {r.text[:200]}")
        return
    if r.status_code >= 400:
        STATS["refused"] += 1
        assert r.headers.get("content-type", "").startswith(("application/problem+json", "application/json")), (
            label,
            r.headers.get("content-type"),
        )
        if not label.startswith("POST /oauth"):
            assert r.headers["content-type"].startswith("application/problem+json"), (label, r.headers["content-type"])
    else:
        STATS["accepted"] += 1
        assert not must_refuse, f"{label}: accepted ({r.status_code}) input that can never be valid: {r.text[:200]}"


async def send(world: World, operation: str, actor: str, *, content: bytes, content_type: str = "application/json"):
    method, path = operation.split(" ", 1)
    kw = body_for(world, method, path)
    headers = {**world.as_(actor), "Content-Type": content_type}
    return await world.platform.client.request(
        method, fill_path(world, path), params=kw.get("params"), headers=headers, content=content
    )


@pytest.fixture(scope="module")
async def settled(world):
    """World A's versions once settled (the same rule as test_authz_matrix.py's ``before``)."""
    import asyncio

    previous = None
    for _ in range(30):
        current = await versions(world)
        if current == previous:
            return current
        previous = current
        await asyncio.sleep(1.0)
    raise AssertionError("world A never settled")


@pytest.mark.parametrize("operation", WRITES)
async def test_malformed_bodies_are_refused(world, settled, operation):
    """Bodies that are not a valid request at all, whatever the endpoint."""
    actor = writer_for(operation)
    form = operation.startswith("POST /oauth")
    cases = [
        (
            "oversized-2MiB",
            encode({"x": "a" * (2 * 1024 * 1024)}),
            "application/json",
            {413, 415} if operation in ("POST /api/v1/enterprises/import", "POST /api/v1/attachments") else {413},
        ),
        ("not-json", b"{this is not json", "application/json", None),
        ("invalid-utf8", b'{"name": "\xff\xfe\xfa"}', "application/json", None),
        ("deep-nesting", b"[" * 100_000 + b"]" * 100_000, "application/json", None),
        ("top-level-array", b"[1, 2, 3]", "application/json", None),
        ("empty-body", b"", "application/json", None),
        ("wrong-content-type", b"name=x", "text/plain", None),
        ("non-finite", b'{"value": NaN, "other": Infinity}', "application/json", None),
    ]
    optional_body = operation.endswith(("/forward", "/verify", "/cancel", "/submit"))  # submit: a renewal body
    for name, content, ctype, statuses in cases:
        if form and name in ("wrong-content-type",):
            continue
        if name == "empty-body" and optional_body:
            continue  # an empty body is a valid request there (and would really forward, verify, cancel, submit)
        r = await send(world, operation, actor, content=content, content_type=ctype)
        STATS[f"class:{name}"] += 1
        check(r, f"{operation} [{name}]", must_refuse=not (name == "empty-body" and form))
        if statuses and r.status_code < 500:
            assert r.status_code in statuses, f"{operation} [{name}]: {r.status_code}"


FIELD_OPERATIONS = [
    op
    for op in WRITES
    if not op.startswith("POST /oauth")
    and op
    not in (
        "POST /api/v1/agencies/{agency_id}/documents",
        "POST /api/v1/enterprises/import",
        "POST /api/v1/attachments",
    )
]
DATE_CLASSES = {"impossible-date", "year-zero", "year-10000"}


def _is_date_field(field: str) -> bool:
    leaf = field.rsplit(".", 1)[-1]
    return "date" in leaf or leaf in ("valid_from", "valid_until", "certificate_valid_until", "deadline", "as_of")


async def _field_corpus(world: World, operation: str, values: list[tuple[str, Any]], *, must_refuse: bool) -> None:
    actor = writer_for(operation)
    method, path = operation.split(" ", 1)
    body = body_for(world, method, path).get("json") or {"note": "x"}
    names = dict(values)
    for name, field, mutated in mutations(body):
        if name not in names:
            continue
        if name in DATE_CLASSES and not _is_date_field(field):
            continue  # a date-looking string in a text field is just text
        if operation == "POST /api/v1/accounts" and field != "username":
            mutated["username"] = body_for(world, method, path)["json"]["username"]  # fresh, so 409 cannot hide a 500
        r = await send(world, operation, actor, content=encode(mutated))
        STATS[f"class:{name}"] += 1
        check(r, f"{operation} {field}=[{name}]", must_refuse=must_refuse)


def mutations(body: dict[str, Any], values: list[tuple[str, Any]] | None = None) -> Iterator[tuple[str, str, Any]]:
    """(class, field path, mutated body) for every top-level field and the fields of the first
    element of every list of objects."""
    values = values or (NEVER_VALID_VALUES + ODD_VALUES)
    for field in body:
        for name, value in values:
            mutated = copy.deepcopy(body)
            mutated[field] = value
            yield name, field, mutated
        if isinstance(body[field], list) and body[field] and isinstance(body[field][0], dict):
            for sub in body[field][0]:
                for name, value in values:
                    mutated = copy.deepcopy(body)
                    mutated[field][0][sub] = value
                    yield name, f"{field}[0].{sub}", mutated


@pytest.mark.parametrize("operation", FIELD_OPERATIONS)
async def test_never_valid_field_values_are_refused(world, settled, operation):
    """NUL, lone surrogates, numbers beyond any range, objects where scalars belong, impossible
    dates: refused with a 4xx wherever they are put."""
    await _field_corpus(world, operation, NEVER_VALID_VALUES, must_refuse=True)


async def test_bodyless_writes_are_what_the_openapi_says(openapi):
    """No write is left out of the body corpus but those that take no body (OAuth2's form bodies
    have a corpus of their own)."""
    without_body = {
        f"{method.upper()} {path}"
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
        if method in ("post", "put", "patch") and "requestBody" not in operation
    }
    assert without_body - {ROTATE} - M.OAUTH == BODYLESS


# Path values that cannot name a record (raw, percent-escaped as they go on the wire).
BAD_IDS: list[tuple[str, str]] = [
    ("not-a-uuid", "not-a-uuid"),
    ("nul-char", "abc%00def"),
    ("invalid-utf8", "%ff%fe%fa"),
    ("lone-surrogate", "%ed%a0%80"),
    ("control-chars", "a%07b%1bc%7f"),
    ("very-long", "a" * 4000),
    ("encoded-traversal", "..%2F..%2Fadmin"),
    ("sql-looking", "1%27%20OR%20%271%27%3D%271"),
    ("html-looking", "%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
    ("fullwidth-digits", "%EF%BC%91%EF%BC%92%EF%BC%93"),
    ("huge-int", "9" * 400),
    ("negative", "-1"),
]
MARK = "BADPATHVALUE"
PATH_OPERATIONS = sorted(op for op in BODYLESS if "{" in op)


async def _raw(world: World, operation: str, actor: str, url: str):
    method, path = operation.split(" ", 1)
    return await world.platform.client.request(
        method, url, params=body_for(world, method, path).get("params"), headers=world.as_(actor)
    )


@pytest.mark.parametrize("operation", PATH_OPERATIONS)
async def test_malformed_ids_in_the_path_are_refused(world, settled, operation):
    """The bodyless writes, whose input is the path: every parameter, in turn, something no record
    is named by — refused with a 4xx, by a caller who may write there."""
    actor = writer_for(operation)
    path = operation.split(" ", 1)[1]
    for name in re.findall(r"\{(\w+)\}", path):
        template = fill_path(world, path.replace("{" + name + "}", MARK))
        for label, value in BAD_IDS:
            r = await _raw(world, operation, actor, template.replace(MARK, value))
            STATS[f"class:path-{label}"] += 1
            check(r, f"{operation} {name}=[{label}]", must_refuse=True)


# Query values for the bodyless writes' parameters; the sweep's ``as_of`` is left to schemathesis
# (a valid one really runs every sweep as of that date).
ODD_QUERY: list[tuple[str, str]] = [
    ("nul-char", "abc%00def"),
    ("invalid-utf8", "%ff%fe%fa"),
    ("control-chars", "a%07b%1bc%7f"),
    ("bidi-override", "abc%E2%80%AEdef"),
    ("very-long", "a" * 5000),
    ("empty", ""),
    ("sql-looking", "%27%3B%20DROP%20TABLE%20inbox_items%3B%20--"),
    ("html-looking", "%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
]
QUERY_SKIPPED = {"POST /api/v1/admin/sweep"}


async def test_refused_input_stored_nothing(world, settled):
    """After every malformed body and never-valid field above was refused: world A's records
    are exactly as before (no half-applied write)."""
    assert await versions(world) == settled


@pytest.mark.parametrize("operation", FIELD_OPERATIONS)
async def test_odd_field_values_never_break_the_server(world, operation):
    """Empty, blank, control characters, bidi overrides, SQL- and HTML-looking text, 100k
    characters, wrong types, null, negatives, extreme dates: accepted or refused by the rules,
    never a 5xx. (Runs last: accepted values really do change world A.)"""
    await _field_corpus(world, operation, ODD_VALUES, must_refuse=False)


async def test_odd_query_values_never_break_the_server(world, openapi):
    """Every query parameter the OpenAPI gives a bodyless write (notify's ``kind`` of read-all),
    with odd values: accepted or refused by the rules, never a 5xx. (Runs after
    test_refused_input_stored_nothing: a valid value — an empty ``kind`` is no filter — really
    marks entA's inbox read.)"""
    sent = 0
    for operation in sorted(BODYLESS - QUERY_SKIPPED):
        actor = writer_for(operation)
        method, path = operation.split(" ", 1)
        documented = openapi["paths"][path][method.lower()].get("parameters", [])
        for name in [p["name"] for p in documented if p["in"] == "query" and p["name"] != "service"]:
            for label, value in ODD_QUERY:
                r = await _raw(world, operation, actor, f"{fill_path(world, path)}?{name}={value}")
                STATS[f"class:query-{label}"] += 1
                sent += 1
                check(r, f"{operation} ?{name}=[{label}]", must_refuse=False)
    assert sent, "no bodyless write documents a query parameter: is the OpenAPI read right?"


@pytest.mark.parametrize("operation", ["GET /api/v1/inbox", "POST /api/v1/inbox/read-all"])
async def test_a_nul_in_a_query_filter_is_refused(world, operation):
    """A NUL can be in no event type: like a NUL in an identifier of a body, it is refused (4xx),
    not looked up — PostgreSQL cannot even compare text with it."""
    method, path = operation.split(" ", 1)
    r = await world.platform.client.request(method, f"{path}?kind=hazard.reported%00", headers=world.as_("entA"))
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])


async def test_attachments_corpus(world):
    """Uploads through the gateway (SPEC §16): wrong types, polyglots, empty, oversized are refused
    with a problem; a file of exactly 10 MiB (with its multipart framing) passes the gateway."""
    api = world.platform.client
    agency = world.as_("agencyA")
    cases = [
        ("executable-as-pdf", ("x.pdf", b"MZ\x90\x00 an executable", "application/pdf")),
        ("html-as-png", ("x.png", HTML, "image/png")),
        ("pdf-with-jpeg-header", ("x.jpg", JPEG_PDF, "image/jpeg")),
        ("png-with-html", ("x.png", PNG_HTML, "image/png")),
        ("empty-file", ("x.pdf", b"", "application/pdf")),
        ("oversized-11MiB", ("x.pdf", b"%PDF-1.4\n" + b"0" * (11 * 1024 * 1024), "application/pdf")),
        ("control-chars-name", ("\u0000\u202e.png", b"\x00\x01", "image/png")),
    ]
    for name, upload in cases:
        r = await api.post("/api/v1/attachments", files={"file": upload}, headers=agency)
        STATS["class:attachment-" + name] += 1
        check(r, f"attachments [{name}]", must_refuse=True)
        assert r.status_code in (413, 415, 422), (name, r.status_code)
    r = await api.post("/api/v1/attachments", data={"other": "x"}, headers=agency)
    check(r, "attachments [no-file]", must_refuse=True)
    head, tail = PDF[:-6] + b"%", b"\n%%EOF\n"
    at_limit = head + b"0" * (10 * 1024 * 1024 - len(head) - len(tail)) + tail
    r = await api.post("/api/v1/attachments", files={"file": ("big.pdf", at_limit, "application/pdf")}, headers=agency)
    assert r.status_code == 201, r.text[:300]
    assert r.json()["size"] == 10 * 1024 * 1024
    for junk in ("not-a-uuid", "00000000-0000-0000-0000-000000000000", "%00"):
        r = await api.get(f"/api/v1/attachments/{junk}", headers=agency)
        check(r, f"attachment [{junk}]", must_refuse=True)


async def test_documents_and_csv_corpus(world):
    api = world.platform.client
    agency = world.as_("agencyA")
    url = f"/api/v1/agencies/{world.ids['agencyA']}/documents"
    cases = [
        ("not-a-pdf", {"file": ("x.pdf", b"MZ\x90\x00 an executable", "application/pdf")}, {"kind": "other"}),
        ("empty-file", {"file": ("x.pdf", b"", "application/pdf")}, {"kind": "other"}),
        ("html-as-png", {"file": ("x.png", b"<html><script>alert(1)</script></html>", "image/png")}, {"kind": "other"}),
        (
            "oversized-11MiB",
            {"file": ("x.pdf", b"%PDF-1.4\n" + b"0" * (11 * 1024 * 1024), "application/pdf")},
            {"kind": "other"},
        ),
        ("bad-kind", {"file": ("x.pdf", b"%PDF-1.4\n%%EOF", "application/pdf")}, {"kind": "\u0000" * 5}),
        ("no-file", None, {"kind": "other"}),
    ]
    for name, files, data in cases:
        r = await api.post(url, files=files, data=data, headers=agency)
        STATS["class:document-" + name] += 1
        check(r, f"documents [{name}]", must_refuse=True)
    bureau = {**world.as_("bureauA"), "Content-Type": "text/csv"}
    for name, content in [
        ("invalid-utf8", b"uscc,name\n\xff\xfe,\xfa\n"),
        ("garbage", b"\x00\x01\x02,,,\n,,\n"),
        ("header-only", b"uscc,name\n"),
        ("huge-field", b"uscc,name\n1," + b"a" * 500_000 + b"\n"),
        ("quotes", b'uscc,name\n"unterminated,x\n'),
        ("empty", b""),
    ]:
        r = await api.post("/api/v1/enterprises/import", content=content, headers=bureau)
        STATS["class:csv-" + name] += 1
        check(r, f"import [{name}]", must_refuse=False)
        if r.status_code == 200:
            assert r.json()["accepted"] == 0, (name, r.json())
            assert r.json()["updated"] == 0, (name, r.json())
    # XLSX bodies that are no workbook: a CSV (a polyglot: text sent with the XLSX type), a
    # truncated workbook, a legacy .xls, a zip bomb — refused as problems (422), nothing written
    xlsx = {**world.as_("bureauA"), "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    for name, content in xlsx_corpus(world):
        r = await api.post("/api/v1/enterprises/import", content=content, headers=xlsx)
        STATS["class:xlsx-" + name] += 1
        check(r, f"import xlsx [{name}]", must_refuse=True)
        assert r.status_code in (413, 422), (name, r.status_code, r.text[:200])
    for params in ("lang=fr", "format=pdf", "lang=%00", "format=" + "x" * 5000):
        r = await api.get(f"/api/v1/enterprises/import/template?{params}")
        STATS["class:template-query"] += 1
        check(r, f"import template [{params[:20]}]", must_refuse=True)


def xlsx_corpus(world: World) -> list[tuple[str, bytes]]:
    import io
    import zipfile

    from openpyxl import Workbook

    e = enterprise_body(world.uscc["entA"], "企业A", "440703")
    workbook = Workbook()
    workbook.active.append(list(e))
    workbook.active.append([str(v) for v in e.values()])
    buffer = io.BytesIO()
    workbook.save(buffer)
    whole = buffer.getvalue()
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"<" * (32 * 1024 * 1024))
    csv_body = (",".join(e) + "\n" + ",".join(str(v) for v in e.values()) + "\n").encode()
    return [
        ("csv-as-xlsx", csv_body),
        ("zip-magic-then-csv", b"PK\x03\x04" + csv_body),
        ("truncated", whole[: len(whole) // 2]),
        ("legacy-xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512),
        ("zip-bomb", bomb.getvalue()),
        ("empty", b""),
    ]


async def test_sql_and_html_looking_text_is_stored_verbatim_and_escaped_in_the_portal(world):
    api = world.platform.client
    nasty_sql = "Robert'); DROP TABLE agencies;-- 安全"
    nasty_html = "<script>alert('xss')</script><img src=x onerror=alert(1)>"
    # A complaint keeps its description verbatim.
    r = await api.post(
        "/api/v1/complaints",
        headers=world.as_("entA"),
        json={"agency_id": world.ids["agencyA"], "category": "other", "description": nasty_sql + nasty_html},
    )
    assert r.status_code == 201, r.text
    got = await api.get(f"/api/v1/complaints/{r.json()['id']}", headers=world.as_("entA"))
    assert got.json()["description"] == nasty_sql + nasty_html
    # An agency named like markup: listed verbatim by the API, escaped on the public portal page.
    from shared.reference import make_uscc

    uscc = make_uscc("91440703MAHTM" + world.uscc["agencyA"][12:16])
    actor = await world.platform.actor("agency", org_uscc=uscc)
    name = f"{nasty_html}{nasty_sql}"
    r = await api.post("/api/v1/agencies", json=agency_body(uscc, name, "440703"), headers=actor.headers)
    assert r.status_code == 201, r.text
    agency_id = r.json()["id"]
    assert r.json()["name"] == name
    from tests.security.world import PDF

    await api.post(
        f"/api/v1/agencies/{agency_id}/documents",
        files={"file": ("l.pdf", PDF, "application/pdf")},
        data={"kind": "business_licence"},
        headers=actor.headers,
    )
    assert (await api.post(f"/api/v1/agencies/{agency_id}/submit", headers=actor.headers)).status_code == 200
    assert (
        await api.post(
            f"/api/v1/agencies/{agency_id}/review",
            json={"decision": "approve", "comments": "ok"},
            headers=world.as_("bureauA"),
        )
    ).status_code == 200
    from devtools.testing.wait import eventually

    async def listed():
        d = await api.get("/api/v1/directory/agencies", params={"q": "DROP TABLE", "limit": 200})
        return next((a for a in d.json()["items"] if a["id"] == agency_id), None)

    entry = await eventually(listed, timeout=20)
    assert entry["name"] == name
    page = await api.get("/", params={"q": "DROP TABLE"}, headers={"Accept": "text/html"})
    assert page.status_code == 200, page.status_code
    html = page.text
    assert "<script>alert('xss')</script>" not in html
    assert "onerror=alert(1)>" not in html
    assert "&lt;script&gt;" in html, "the agency's name should appear, escaped, on the public list"
    # The tables are all still there.
    assert (await api.get("/api/v1/agencies", headers=world.as_("admin"))).status_code == 200


async def test_bad_input_summary():
    record(
        "bad-input-corpus",
        write_operations=len(WRITES),
        requests=STATS["requests"],
        refused_4xx=STATS["refused"],
        accepted=STATS["accepted"],
        server_errors=len(SERVER_ERRORS),
        classes={k[6:]: v for k, v in sorted(STATS.items()) if k.startswith("class:")},
    )
    assert not SERVER_ERRORS, "\n".join(SERVER_ERRORS[:40])
