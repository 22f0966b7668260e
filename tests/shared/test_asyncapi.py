"""The AsyncAPI document tells the truth (issue #21): AsyncAPI 3.0 validated by the official parser,
``send`` operations by the service that emits each type, CloudEvents structured-mode messages with
the headers the relay really sets, and no deployment address in the public document."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import nats

from devtools.testing.apps import running
from devtools.testing.wait import eventually
from shared.events.asyncapi import asyncapi_document
from shared.events.catalog import CATALOG, EventType, source_of
from shared.events.envelope import CLOUDEVENTS_CONTENT_TYPE
from tests.shared.fakesvc import producer_app

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = Path(__file__).with_name("validate_asyncapi.cjs")


def parse_with_official_parser(document: dict, tmp_path: Path) -> dict:
    node = shutil.which("node")
    assert node, "Node.js is needed (make webtools installs @asyncapi/parser)"
    assert (ROOT / "node_modules" / "@asyncapi" / "parser").is_dir(), "run make webtools"
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    out = subprocess.run([node, str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_official_parser_finds_no_error_or_warning(tmp_path: Path) -> None:
    result = parse_with_official_parser(asyncapi_document(), tmp_path)
    assert result["parsed"]
    problems = [d for d in result["diagnostics"] if d["severity"] <= 1]
    assert problems == []


def test_the_parser_does_reject_a_broken_document(tmp_path: Path) -> None:
    # The check above is only worth something if the parser catches what we could get wrong.
    document = asyncapi_document()
    document["operations"]["contracts_sends_contract_filed"]["channel"] = {"$ref": "#/channels/nowhere"}
    result = parse_with_official_parser(document, tmp_path)
    assert any(d["severity"] == 0 for d in result["diagnostics"])


def test_every_event_type_is_sent_by_its_own_service() -> None:
    document = asyncapi_document()
    operations = document["operations"]
    assert len(operations) == len(CATALOG) == len(EventType)
    for event_type in CATALOG:
        key = event_type.replace(".", "_")
        service = source_of(event_type).strip("/")
        operation = operations[f"{service}_sends_{key}"]
        assert operation["action"] == "send"
        assert operation["channel"] == {"$ref": f"#/channels/{key}"}
        assert document["channels"][key]["address"] == f"custody.{event_type}"


def test_messages_are_cloudevents_with_their_data_schema() -> None:
    document = asyncapi_document()
    schemas = document["components"]["schemas"]
    for event_type, model in CATALOG.items():
        message = document["components"]["messages"][event_type.replace(".", "_")]
        assert message["contentType"] == CLOUDEVENTS_CONTENT_TYPE
        envelope = message["payload"]
        assert envelope["properties"]["type"] == {"const": event_type}
        data_ref = envelope["properties"]["data"]["$ref"]
        assert schemas[data_ref.rsplit("/", 1)[-1]]["title"] == model.__name__
    headers = schemas["NatsHeaders"]
    assert set(headers["required"]) == {"Nats-Msg-Id", "Content-Type"}


def test_no_deployment_address_is_published() -> None:
    document = asyncapi_document()
    assert "servers" not in document
    text = json.dumps(document)
    for internal in ("127.0.0.1", "localhost", "nats://", ":4222"):
        assert internal not in text


async def test_the_relay_sends_the_headers_the_document_declares(backend) -> None:
    settings = backend.settings()
    producer = producer_app(settings)
    async with running(producer) as client:
        r = await client.post("/notes", json={"name": "headers"})
        assert r.status_code == 201, r.text
        await eventually(lambda: producer.state.runtime.relay.published_total >= 1)
    nc = await nats.connect(settings.nats_servers)
    try:
        msg = await nc.jetstream().get_msg(settings.stream_name, 1)
    finally:
        await nc.close()
    event_id = json.loads(msg.data)["id"]
    assert msg.headers == {"Nats-Msg-Id": event_id, "Content-Type": CLOUDEVENTS_CONTENT_TYPE}
