"""Request and response models of the agencies' credit files (SPEC §10, §19)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field, StringConstraints

from services.audit.schemas import UTC, BureauCreditKindIn, Read, Strict
from shared.validation import Line, Reason

MAX_CREDIT_DELTA = 100  # a bureau record's |delta| (docs/DECISIONS.md D31)


class CreditRecordCreate(Strict):
    """A bureau's credit fact (SPEC §19). The sign follows the kind — a violation negative, a
    commendation positive — which the use case checks (422 ``credit_delta_sign``)."""

    kind: BureauCreditKindIn
    delta: Annotated[int, Field(strict=True, ge=-MAX_CREDIT_DELTA, le=MAX_CREDIT_DELTA)]
    reason: Reason
    ref: Annotated[Line, StringConstraints(max_length=120)] | None = None  # e.g. the decision's document number


class CreditRecordRead(Read):
    id: uuid.UUID
    agency_id: uuid.UUID
    kind: str
    delta: int
    at: UTC
    ref: str | None = None
    reason: str | None = None
    recorded_by: str | None = None
    version: int


class CreditFileRead(Read):
    agency_id: uuid.UUID
    score: int
    grade: str
    version: int
    records: list[CreditRecordRead]


class EnterpriseCreditRecordRead(Read):
    """One record of an enterprise's file: its cause (``kind``, ``ref``), the hazard it is about
    and its reason in words."""

    id: uuid.UUID
    kind: str
    delta: int
    reason: str
    ref: str
    hazard_id: uuid.UUID | None = None
    at: UTC
    version: int


class EnterpriseCreditFileRead(Read):
    enterprise_id: str
    enterprise_uscc: str
    score: int
    grade: str
    version: int
    records: list[EnterpriseCreditRecordRead]
