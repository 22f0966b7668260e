"""Attachments' bodies (SPEC §16)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sha256: str
    size: int
    content_type: str


def _unique(value: list[uuid.UUID]) -> list[uuid.UUID]:
    if len(set(value)) != len(value):
        raise ValueError("附件重复 / duplicate attachments")
    return value


AttachmentIds = Annotated[list[uuid.UUID], Field(max_length=20), AfterValidator(_unique)]
