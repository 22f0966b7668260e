"""What a signature is computed over: the canonical JSON of a contract's terms, hashed with
SHA-256. Anyone holding the terms can recompute the hash a party signed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Iterable

from shared.canonical import sha256_hex


def canonical_terms(*, enterprise_uscc: str, agency_id: Any, engineer_name: str, services: Iterable[dict],
                    start_date: date, end_date: date, fee_yuan: Decimal | str) -> dict[str, Any]:
    """The terms as signed: services sorted by item, dates as ISO strings, the fee as a string with
    two decimals (no float rounding)."""
    return {
        "enterprise_uscc": enterprise_uscc,
        "agency_id": str(agency_id),
        "engineer_name": engineer_name,
        "services": sorted(({"item": str(s["item"]), "times_per_year": int(s["times_per_year"])} for s in services),
                           key=lambda s: s["item"]),
        "start_date": start_date.isoformat(),
        "end_date": end_date.isoformat(),
        "fee_yuan": f"{Decimal(str(fee_yuan)).quantize(Decimal('0.01'))}",
    }


def terms_of(contract: Any) -> dict[str, Any]:
    return canonical_terms(enterprise_uscc=contract.enterprise_uscc, agency_id=contract.agency_id,
                           engineer_name=contract.engineer_name, services=contract.services,
                           start_date=contract.start_date, end_date=contract.end_date, fee_yuan=contract.fee_yuan)


def content_sha256(contract: Any) -> str:
    return sha256_hex(terms_of(contract))
