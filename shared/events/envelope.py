"""The CloudEvents 1.0 JSON envelope of every event on the bus (SPEC §11)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from shared.clock import utcnow
from shared.ids import new_id

# Structured mode: the NATS message is the whole envelope (CloudEvents NATS binding).
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(new_id()))
    source: str
    type: str
    subject: str | None = None
    time: datetime = Field(default_factory=utcnow)
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]
    requestid: str | None = None
    # CloudEvents distributed-tracing extension: the W3C trace context the event was created in.
    traceparent: str | None = None

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_json(cls, raw: bytes | str) -> CloudEvent:
        return cls.model_validate_json(raw)

    @property
    def entity_version(self) -> int | None:
        version = self.data.get("version")
        return version if isinstance(version, int) else None
