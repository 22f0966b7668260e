"""The standards' own JSON schemas (SPEC's ``../shared/schemas/``). The copy beside the project is
authoritative; the vendored copies here let a clone that has no ``../shared`` run the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = (ROOT.parent / "shared" / "schemas", Path(__file__).resolve().parent)


def load_schema(name: str) -> dict[str, Any]:
    for folder in CANDIDATES:
        path = folder / name
        if path.exists():
            return json.loads(path.read_text())
    raise FileNotFoundError(name)
