"""Property-based fuzzing of every operation in the gateway's merged OpenAPI with schemathesis,
authenticated as the admin, through the gateway to the real services: no 5xx, and every response
has a documented status, a documented content type and the documented schema (D38). Bounded and derandomized (a fixed example count per operation,
``CUSTODY_FUZZ_EXAMPLES``, default 20) so that it runs in CI in well under a minute."""

from __future__ import annotations

import os
import time
from collections import Counter

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.faults.helpers import record

# fuzzing on a platform of its own, beside the matrix (tests/conftest.py)
PLATFORM_GROUP = "security-input"

MAX_EXAMPLES = int(os.environ.get("CUSTODY_FUZZ_EXAMPLES", "20"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SKIP = {"POST /api/v1/admin/keys/rotate"}  # rotating keys on every example would only churn the JWKS


async def test_fuzz_the_merged_openapi(platform, world, openapi):
    schema = schemathesis.openapi.from_dict(openapi)
    headers = world.as_("admin")
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations = 0
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label in SKIP:
            continue
        operations += 1

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case) -> None:
            response = case.call(base_url=platform.url, headers=headers, timeout=20)
            statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup
            failures.append(f"{label}: {_described(exc)[:1500]}")
    record(
        "schemathesis",
        operations=operations,
        max_examples_per_operation=MAX_EXAMPLES,
        requests=sum(statuses.values()),
        statuses=dict(sorted(statuses.items())),
        server_errors=sum(v for k, v in statuses.items() if k >= 500),
        failing_operations=len(failures),
        seconds=round(time.monotonic() - started, 1),
    )
    assert not failures, "\n\n".join(failures)


def _described(exc: BaseException) -> str:
    """The finding itself, also when Hypothesis wraps it (a flaky one names only its wrapper)."""
    parts = [str(exc)]
    for sub in getattr(exc, "exceptions", ()) or ():
        parts.append(_described(sub))
    cause = exc.__cause__ or exc.__context__
    if cause is not None and not parts[1:]:
        parts.append(f"caused by {type(cause).__name__}: {cause}")
    return "\n".join(parts)
