"""The authorized writes of the authorization matrix, and its summary. They run last of the
package (file order): they really change world A — suspend, revoke, terminate, resolve — which the
refusals, the bad-input corpus and the audit-trail test must not see."""

from __future__ import annotations

import pytest

from tests.faults.helpers import record
from tests.security import authz_matrix as M
from tests.security.test_authz_matrix import OPERATIONS, RESULTS, call
from tests.security.world import ACTORS


# Rotating the signing key is covered by tests/gateway (live tokens survive it); here it would
# only churn keys, so its authorized call is left out (its refusals are in the matrix).
@pytest.mark.parametrize(
    "operation", [op for op in OPERATIONS if not op.startswith("GET ") and op != "POST /api/v1/admin/keys/rotate"]
)
async def test_authorized_writes(world, operation):
    wrong = []
    for actor in ACTORS:
        expect = M.expected(operation, actor)
        if expect != M.OK:
            continue
        r = await call(world, actor, operation)
        RESULTS[(actor, operation)] = r.status_code
        if not M.matches(expect, r.status_code):
            wrong.append(f"{actor}: expected {expect}, got {r.status_code} {r.text[:200]}")
    assert not wrong, "\n".join(wrong)


async def test_matrix_summary():
    """Counts for docs/RELIABILITY.md."""
    table = M.rows()
    refusals = sum(1 for (_, _, e) in table if e in (401, 403, M.DENY))
    ran = len(RESULTS)
    refused_seen = sum(1 for (actor, op), status in RESULTS.items() if status in (401, 403, 404))
    fivexx = [(a, o, s) for (a, o), s in RESULTS.items() if s >= 500]
    record(
        "authorization-matrix",
        operations=len(M.ALLOW) + len(M.OAUTH),
        actors=len(ACTORS),
        rows=len(table) + len(M.OAUTH),
        rows_expected_refused=refusals,
        requests_made=ran,
        refusals_observed=refused_seen,
        server_errors=len(fivexx),
    )
    assert not fivexx
