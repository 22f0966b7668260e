"""Request and response bodies of the notify API (SPEC §15)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.notify.rules import SUBSCRIBABLE
from shared.clock import as_utc
from shared.i18n import current_language
from shared.validation import single_line

# SQLite drops the zone of stored times: every time is answered in UTC (RFC 3339).
Utc = Annotated[datetime, AfterValidator(as_utc)]


class InboxItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    urgent: bool
    title: str
    body: str
    link: str | None
    subject_id: str | None
    created_at: Utc
    due_at: Utc | None
    read_at: Utc | None

    @model_validator(mode="before")
    @classmethod
    def _in_the_readers_language(cls, value: Any) -> Any:
        if isinstance(value, dict) or not hasattr(value, "title_zh"):
            return value
        english = current_language.get().startswith("en")
        return {
            **{
                name: getattr(value, name)
                for name in ("id", "kind", "urgent", "link", "subject_id", "created_at", "due_at", "read_at")
            },
            "title": value.title_en if english else value.title_zh,
            "body": value.body_en if english else value.body_zh,
        }


class InboxSummary(BaseModel):
    unread: int
    urgent: int


class ReadAll(BaseModel):
    updated: int


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.example.com/custody",
                    "events": ["agency.approved"],
                    "description": "备案结果通知 / filing outcomes",
                }
            ]
        },
    )

    url: str = Field(min_length=8, max_length=2000)
    events: list[str] = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        if not value.lower().startswith(("http://", "https://")) or any(c.isspace() for c in value):
            raise ValueError("须为 http(s) URL / must be an http(s) URL")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        unknown = sorted({e for e in value if e not in SUBSCRIBABLE})
        if unknown:
            raise ValueError(f"未知或不可订阅的事件类型 / unknown or unsubscribable event types: {', '.join(unknown)}")
        return value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str | None) -> str | None:
        return single_line(value) if value is not None else None


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    events: list[str]
    description: str | None
    status: str
    owner_account_id: str
    created_at: Utc
    version: int


class WebhookCreated(WebhookRead):
    secret: str = Field(description="whsec_… — 仅在创建时显示一次 / shown once")


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    event_id: str
    event_type: str
    attempt: int
    status_code: int | None
    error: str | None
    at: Utc
    next_attempt_at: Utc | None


class RetryQueued(BaseModel):
    delivery_id: uuid.UUID
    event_id: str
    queued: bool = True
