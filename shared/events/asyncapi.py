"""The AsyncAPI 3.0 document of the bus, generated from the event catalog.

It describes what the platform *sends*: one channel per event type (its NATS subject), one ``send``
operation per type by the service that emits it, and the message as it travels — a structured-mode
CloudEvents 1.0 envelope (``application/cloudevents+json``, the NATS ``Content-Type`` header) whose
``data`` is the type's schema, deduplicated by JetStream through ``Nats-Msg-Id`` (= the event id).
It names no server: addresses of a deployment's NATS are the operator's, not the public contract's.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.events.catalog import CATALOG, source_of
from shared.events.envelope import CLOUDEVENTS_CONTENT_TYPE

_SCHEMA_REF = "#/components/schemas/{model}"


def _key(event_type: str) -> str:
    return event_type.replace(".", "_")


def _summary(model: type[BaseModel], event_type: str) -> str:
    doc = (model.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else event_type


def _data_schemas() -> tuple[dict[type[BaseModel], str], dict[str, Any]]:
    """Each data model's ``$ref`` and every schema under ``components.schemas`` (nested ones too)."""
    models = sorted(set(CATALOG.values()), key=lambda m: m.__name__)
    refs, top = models_json_schema([(m, "serialization") for m in models], ref_template=_SCHEMA_REF)
    return {m: refs[(m, "serialization")]["$ref"] for m in models}, top.get("$defs", {})


def _envelope(event_type: str, data_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"CloudEvents 1.0 (structured mode), source {source_of(event_type)}",
        "required": ["specversion", "id", "source", "type", "time", "datacontenttype", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {
                "type": "string",
                "format": "uuid",
                "description": "事件编号，亦为 Nats-Msg-Id / also the Nats-Msg-Id",
            },
            "source": {"const": source_of(event_type)},
            "type": {"const": event_type},
            "subject": {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "requestid": {"type": "string", "description": "发起请求的 X-Request-ID / the request that caused it"},
            "data": {"$ref": data_ref},
        },
    }


_HEADERS = {
    "type": "object",
    "required": ["Nats-Msg-Id", "Content-Type"],
    "properties": {
        "Nats-Msg-Id": {
            "type": "string",
            "description": "= CloudEvents id; JetStream drops a repeat within its window",
        },
        "Content-Type": {"const": CLOUDEVENTS_CONTENT_TYPE},
    },
}


def asyncapi_document(*, subject_prefix: str = "custody") -> dict[str, Any]:
    data_refs, schemas = _data_schemas()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    services: set[str] = set()
    for event_type, model in sorted(CATALOG.items()):
        key = _key(event_type)
        service = source_of(event_type).strip("/")
        services.add(service)
        messages[key] = {
            "name": event_type,
            "title": event_type,
            "summary": _summary(model, event_type),
            "contentType": CLOUDEVENTS_CONTENT_TYPE,
            "headers": {"$ref": "#/components/schemas/NatsHeaders"},
            "payload": _envelope(event_type, data_refs[model]),
            "tags": [{"name": service}],
        }
        channels[key] = {
            "address": f"{subject_prefix}.{event_type}",
            "title": event_type,
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"{service}_sends_{key}"] = {
            "action": "send",
            "title": f"{service} sends {event_type}",
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
            "tags": [{"name": service}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "安全生产托管平台事件 / Custody platform events",
            "version": "2.0.0",
            "description": "平台各服务经 NATS JetStream 发出的事件（CloudEvents 1.0）/ "
            "the events the platform's services send over NATS JetStream (CloudEvents 1.0).",
            "tags": [{"name": s} for s in sorted(services)],
        },
        "defaultContentType": CLOUDEVENTS_CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": {**schemas, "NatsHeaders": _HEADERS}},
    }
