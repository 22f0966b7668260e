"""The authorization matrix: for every operation of the gateway's merged OpenAPI, what each actor
of the security world (tests/security/world.py) gets when it calls it on world A's records —
contract A, agency A, enterprise A, … all in district 440703.

Actors: ``anon`` (no token), ``admin``, ``city`` (city bureau 440700), ``bureauA`` (440703),
``bureauB`` (440704 — another district), ``agencyA`` / ``entA`` (the parties of contract A),
``agencyB`` / ``entB`` (another agency and enterprise, district 440704), ``readonly`` (bureau A
through a client with only ``custody.read``), and SPEC §14's: ``member`` (invited into enterprise
A's organisation: everything entA may do but administer it), ``pending`` (an agency whose
organisation is not verified: reads like any agency, writes nothing but its own filing and its own
account), ``impostor`` (its organisation was reassigned) and ``disabled`` (its account was
disabled) — both 401 on everything protected, their tokens revoked.

Expected values: an HTTP status; ``DENY`` — 403 or 404 (refused on role or ownership; hiding the
record is as good as refusing it); ``OK`` — an authorized write: 2xx, or 409/422 when the record's
state or a domain rule (not the caller's identity) stands in the way.

Rows are generated: ``ALLOW`` names who may call each operation; everybody else is refused —
``anon`` with 401 (protected) and a token without ``custody.write`` with 403 on every write.
"""

from __future__ import annotations

from tests.security.world import ACTORS

DENY = "DENY"
OK = "OK"
PUBLIC = "PUBLIC"

REVOKED = {"impostor", "disabled"}  # tokens revoked: 401 wherever a token is read
EVERYONE = set(ACTORS) - {"anon"} - REVOKED
GOV_A = {"admin", "city", "bureauA"}  # who governs district 440703
READ_A = GOV_A | {"readonly"}  # … and bureau A's read-only client
ENT_A = {"entA", "member"}  # who acts for enterprise A
PARTIES_A = {"agencyA"} | ENT_A
BUREAUS = {"admin", "city", "bureauA", "bureauB", "readonly"}

# operation -> who is allowed (PUBLIC: everybody, with or without a token)
ALLOW: dict[str, set[str] | str] = {
    "GET /healthz": PUBLIC,
    "GET /readyz": PUBLIC,
    "GET /.well-known/oauth-authorization-server": PUBLIC,
    "GET /.well-known/jwks.json": PUBLIC,
    "GET /api/v1/policy": PUBLIC,
    "GET /api/v1/directory/agencies": PUBLIC,
    "GET /api/v1/directory/agencies/{agency_id}": PUBLIC,  # agency A is listed: 200 for anyone
    "GET /api/v1/directory/counts": PUBLIC,  # the public list counted (D53)
    "GET /api/v1/directory/changes": PUBLIC,  # the list's history (SPEC §21)
    "GET /api/v1/directory/changes.atom": PUBLIC,
    "POST /api/v1/accounts": PUBLIC,  # sign-up
    # gateway: accounts and keys
    "POST /api/v1/admin/accounts": {"admin"},
    "POST /api/v1/admin/clients": {"admin"},
    "POST /api/v1/me/clients": EVERYONE - {"readonly"},
    "GET /api/v1/me": EVERYONE,
    "POST /api/v1/admin/keys/rotate": {"admin"},
    "GET /api/v1/admin/keys": {"admin"},
    # every service's admin endpoints (routed with ?service=)
    "GET /api/v1/admin/dlq": {"admin"},
    "POST /api/v1/admin/dlq/{dead_letter_id}/replay": {"admin"},
    "GET /api/v1/admin/audit-trail/verify": {"admin"},
    "GET /api/v1/admin/audit-trail": {"admin"},
    "GET /api/v1/admin/audit-trail/heads": {"admin"},  # registry and audit: the heads they witness
    "POST /api/v1/admin/sweep": {"admin"},
    # registry
    "POST /api/v1/agencies": {"agencyA"},  # its own USCC only
    "GET /api/v1/agencies": EVERYONE - {"entA", "entB", "member"},  # filtered to what the caller governs / owns
    "GET /api/v1/agencies/counts": EVERYONE - {"entA", "entB", "member"},  # the list's scope, counted (D53)
    "GET /api/v1/agencies/{agency_id}": EVERYONE,  # non-owners of an approved agency: the public profile
    "PATCH /api/v1/agencies/{agency_id}": {"agencyA"},
    "POST /api/v1/agencies/{agency_id}/documents": {"agencyA"},
    "POST /api/v1/agencies/{agency_id}/engagements": {"agencyA"},  # the agency declares its own work
    "GET /api/v1/agencies/{agency_id}/engagements": READ_A | {"agencyA"},
    "GET /api/v1/agencies/{agency_id}/documents/{document_id}": READ_A | {"agencyA"},
    "POST /api/v1/agencies/{agency_id}/submit": {"agencyA"},
    "POST /api/v1/agencies/{agency_id}/review": GOV_A,
    "POST /api/v1/agencies/{agency_id}/changes": {"agencyA"},  # change filing (SPEC §18)
    "GET /api/v1/agencies/{agency_id}/changes": READ_A | {"agencyA"},
    "POST /api/v1/agencies/{agency_id}/changes/{change_id}/review": GOV_A,
    "POST /api/v1/agencies/{agency_id}/suspend": GOV_A,
    "POST /api/v1/agencies/{agency_id}/reinstate": GOV_A,
    "POST /api/v1/agencies/{agency_id}/revoke": GOV_A,
    # enterprises
    "POST /api/v1/enterprises": GOV_A | ENT_A,
    "GET /api/v1/enterprises": EVERYONE - {"agencyA", "agencyB", "pending"},
    "POST /api/v1/enterprises/import": GOV_A | {"bureauB"},  # bureau B's rows outside 440703 are rejected per row
    "GET /api/v1/enterprises/import/template": PUBLIC,  # the empty import template (SPEC §22)
    # agencies look up prospective clients
    "GET /api/v1/enterprises/by-uscc/{uscc}": READ_A | ENT_A | {"agencyA", "agencyB", "pending"},
    "GET /api/v1/enterprises/{enterprise_id}": READ_A | ENT_A,
    "PATCH /api/v1/enterprises/{enterprise_id}": GOV_A | ENT_A,
    "GET /api/v1/enterprises/{enterprise_id}/risk": READ_A | ENT_A,
    # the enterprise's own move or lowering of its risk: its district bureau answers (409 when none waits)
    "POST /api/v1/enterprises/{enterprise_id}/risk-inputs/review": GOV_A,
    # contracts
    "POST /api/v1/contracts": PARTIES_A,
    "GET /api/v1/contracts": EVERYONE,  # filtered
    "GET /api/v1/contracts/counts": EVERYONE,  # the list's scope, counted (D53)
    "GET /api/v1/contracts/{contract_id}": READ_A | PARTIES_A,
    "PATCH /api/v1/contracts/{contract_id}": PARTIES_A,
    "POST /api/v1/contracts/{contract_id}/sign": PARTIES_A,
    "POST /api/v1/contracts/{contract_id}/file": PARTIES_A,
    "POST /api/v1/contracts/{contract_id}/filing-review": GOV_A,
    "POST /api/v1/contracts/{contract_id}/terminate": GOV_A | PARTIES_A,
    "POST /api/v1/contracts/{contract_id}/cancel": PARTIES_A,
    # audit
    "POST /api/v1/service-logs": {"agencyA"},
    # attachments (SPEC §16): any verified agency or enterprise uploads its own; agency A's photo is
    # named on world A's log: its uploader and the log's readers see it, anyone else gets 404
    "POST /api/v1/attachments": {"agencyA", "agencyB", "entA", "entB", "member"},
    "GET /api/v1/attachments/{attachment_id}": READ_A | PARTIES_A,
    "GET /api/v1/attachments/{attachment_id}/meta": READ_A | PARTIES_A,
    "GET /api/v1/service-logs": EVERYONE,
    "POST /api/v1/service-logs/{log_id}/confirm": ENT_A,
    "POST /api/v1/service-logs/{log_id}/dispute": ENT_A,  # the enterprise served (SPEC §16)
    "POST /api/v1/service-logs/{log_id}/resolve": {"bureauA", "city"},  # not disputed (or resolved): 409
    "GET /api/v1/service-logs/{log_id}": READ_A | PARTIES_A,
    "GET /api/v1/hazards": EVERYONE,
    "GET /api/v1/hazards/{hazard_id}": READ_A | PARTIES_A,
    "POST /api/v1/hazards/{hazard_id}/rectify": ENT_A,
    # world A's hazard is major: its district's bureau and the city verify it too (D42)
    "POST /api/v1/hazards/{hazard_id}/verify": {"agencyA", "bureauA", "city"},
    "POST /api/v1/hazards/{hazard_id}/reject-rectification": {"agencyA"},  # open: 409
    "GET /api/v1/compliance/contracts/{contract_id}": READ_A | PARTIES_A,
    "GET /api/v1/compliance/summary": READ_A | {"bureauB"},  # bureaus and admin; counts of the districts they govern
    "GET /api/v1/compliance/trends": READ_A | {"bureauB"},  # bureaus and admin; the districts they govern
    "POST /api/v1/audits/sample": GOV_A,
    "GET /api/v1/audits/samples/{sample_id}": READ_A,
    "GET /api/v1/audits": EVERYONE,
    "GET /api/v1/audits/{task_id}": READ_A | ENT_A,  # the world's task is pending: never shown to its agency
    "POST /api/v1/audits/{task_id}/result": GOV_A,
    "POST /api/v1/complaints": {"anon", "entB"} | ENT_A,  # enterprises, or anonymous with a phone number
    "GET /api/v1/complaints": EVERYONE,
    "POST /api/v1/complaints/track": set(),  # public, but only with the right tracking code (sent: a wrong one)
    "GET /api/v1/complaints/{complaint_id}": READ_A | ENT_A,  # the agency sees it once forwarded
    "POST /api/v1/complaints/{complaint_id}/forward": GOV_A,
    "POST /api/v1/complaints/{complaint_id}/respond": {"agencyA"},
    "POST /api/v1/complaints/{complaint_id}/resolve": GOV_A,
    "GET /api/v1/credit/agencies/{agency_id}": EVERYONE,  # the credit file behind the public grade
    "POST /api/v1/credit/agencies/{agency_id}/records": GOV_A,  # the bureau of the agency's district, the city
    # the enterprise's credit file (SPEC §19): the bureau of its district, the city, the enterprise itself
    "GET /api/v1/credit/enterprises/{enterprise_id}": READ_A | ENT_A,
    # 一企一档 (SPEC §22, served by audit: D52): the bureau of its district, the city, the enterprise itself
    "GET /api/v1/enterprises/{enterprise_id}/file": READ_A | ENT_A,
    # major-hazard supervision (SPEC §17): the case of world A's major hazard
    "GET /api/v1/supervision": BUREAUS,  # the bureaus' list, filtered to the district
    "GET /api/v1/supervision/counts": BUREAUS,  # the list's scope, counted (D53)
    "GET /api/v1/supervision/{case_id}": READ_A | PARTIES_A,  # the case's agency and enterprise read it
    "POST /api/v1/supervision/{case_id}/acknowledge": GOV_A,
    "POST /api/v1/supervision/{case_id}/list": GOV_A,
    "POST /api/v1/supervision/{case_id}/close": GOV_A,  # its hazard is not verified: 409
    # the serious-dishonesty list (SPEC §19): enterprise A's notice; the bureau of its district or the city
    # decides, the enterprise objects and (once repairable: 409 here) requests repair; every bureau reads
    "POST /api/v1/credit/listings": GOV_A,  # enterprise A's: under way already (409)
    "GET /api/v1/credit/listings": PUBLIC,  # ?status=listed: the public list; bureaus see every state
    "GET /api/v1/credit/listings/{listing_id}": BUREAUS | ENT_A,
    "POST /api/v1/credit/listings/{listing_id}/objection": ENT_A,
    "POST /api/v1/credit/listings/{listing_id}/decide": GOV_A,
    "POST /api/v1/credit/listings/{listing_id}/repair": ENT_A,  # not repairable: 409
    # public reports (SPEC §22): world A's anonymous report about a firm of 440703; anyone may report
    # (a token that may write: not the read-only client, not the unverified organisation's); the bureau
    # of the district or the city handles it; every bureau lists (its own districts')
    "POST /api/v1/reports": {"anon"} | (EVERYONE - {"readonly", "pending"}),
    "POST /api/v1/reports/track": set(),  # public, but only with the right code and phone (sent: a wrong code)
    "GET /api/v1/reports": BUREAUS,
    "GET /api/v1/reports/{report_id}": READ_A,
    "POST /api/v1/reports/{report_id}/assign": GOV_A,
    "POST /api/v1/reports/{report_id}/handle": GOV_A,  # only once assigned (409 before)
    "POST /api/v1/reports/{report_id}/close": GOV_A,  # only once handled (409 before)
    # accidents (SPEC §20): world A's accident at enterprise A; the bureau of its district or the city
    "POST /api/v1/accidents": GOV_A,
    "GET /api/v1/accidents": BUREAUS,  # each bureau its own districts'
    "GET /api/v1/accidents/{accident_id}": READ_A,
    "GET /api/v1/accidents/{accident_id}/dossier": READ_A,
    "POST /api/v1/accidents/{accident_id}/findings": GOV_A,  # once: the first 200, then 409
    # gateway (SPEC §14): an account's own settings, whatever its organisation's status
    "GET /api/v1/me/clients": EVERYONE,
    "DELETE /api/v1/me/clients/{client_id}": EVERYONE - {"readonly"},  # a random id: 404 for its owner too
    "POST /api/v1/me/password": EVERYONE - {"readonly"},  # a wrong current password: 422
    "PATCH /api/v1/me": EVERYONE - {"readonly"},  # its own e-mail and language (SPEC §15)
    # admin: accounts, clients, keys
    "GET /api/v1/admin/accounts": {"admin"},
    "POST /api/v1/admin/accounts/{account_id}/disable": {"admin"},  # a throwaway member of enterprise A
    "POST /api/v1/admin/accounts/{account_id}/enable": {"admin"},
    "GET /api/v1/admin/clients": {"admin"},
    "DELETE /api/v1/admin/clients/{client_id}": {"admin"},  # a random id: 404
    "POST /api/v1/admin/keys/{kid}/revoke": {"admin"},  # a random kid: 404
    # organisations: enterprise A's (reads, invitations, members), organisation S's (the bureau's actions)
    "GET /api/v1/organisations": BUREAUS,  # the verification queue, filtered to the district
    "GET /api/v1/organisations/{uscc}": READ_A | ENT_A,
    "GET /api/v1/organisations/{uscc}/members": READ_A | {"entA"},
    "POST /api/v1/organisations/{uscc}/invitations": {"entA"},  # its admin
    "DELETE /api/v1/organisations/{uscc}/members/{account_id}": {"entA"},
    "POST /api/v1/organisations/{uscc}/verify": GOV_A,  # organisation S: verified already (409)
    "POST /api/v1/organisations/{uscc}/suspend": GOV_A,  # organisation S: suspended once, then 409
    "POST /api/v1/organisations/{uscc}/reinstate": GOV_A,
    "POST /api/v1/organisations/{uscc}/reassign": GOV_A,  # a random account: 422
    # notify (SPEC §15). The inbox is the reader's own: every account reads its own list and counts,
    # and only the account an item was made for marks it — not a fellow member, not even admin.
    "GET /api/v1/inbox": EVERYONE,
    "GET /api/v1/inbox/summary": EVERYONE,
    "POST /api/v1/inbox/read-all": EVERYONE - {"readonly", "pending"},  # a write: 403 organisation_unverified (§14)
    "POST /api/v1/inbox/{item_id}/read": {"entA"},  # the major hazard's item in entA's inbox
    # Webhooks: "an organisation's admin, a bureau account, admin" (§15) — so not a member who is not
    # its organisation's admin, nor a pending organisation (§14). A subscription is seen, deleted and
    # retried by its owner (enterprise A, through its admin entA) and by admin; each DELETE acts on a
    # fresh subscription of enterprise A (requests_.FRESH).
    "POST /api/v1/webhooks": EVERYONE - {"readonly", "pending", "member"},  # each one its own
    "GET /api/v1/webhooks": EVERYONE,  # filtered to the caller's own
    "GET /api/v1/webhooks/{subscription_id}": {"admin", "entA"},
    "DELETE /api/v1/webhooks/{subscription_id}": {"admin", "entA"},
    "GET /api/v1/webhooks/{subscription_id}/deliveries": {"admin", "entA"},
    "POST /api/v1/webhooks/{subscription_id}/deliveries/{delivery_id}/retry": {"admin", "entA"},  # 202 queued
    # the policy's versions (SPEC §22): the public reads them, the city bureau and admin publish
    "GET /api/v1/policy/versions": PUBLIC,
    "POST /api/v1/policy/versions": {"admin", "city"},
}

# OAuth2 endpoints authenticate clients, not bearer tokens (tests/gateway/test_oauth.py covers
# them); here: without credentials they answer 4xx, never 5xx.
OAUTH = {
    "POST /oauth/token",
    "POST /oauth/revoke",
    "POST /oauth/introspect",
    "GET /oauth/authorize",
    "POST /oauth/authorize",
}
# Admin calls whose success would be a nuisance to the other rows, and what the admin gets instead.
# Public operations guarded by a secret in the body; the matrix sends a wrong one.
GUESSED_SECRET = {"POST /api/v1/complaints/track", "POST /api/v1/reports/track"}
ADMIN_EXPECT = {"POST /api/v1/admin/dlq/{dead_letter_id}/replay": 404}  # a random dead-letter id
# Allowed callers that get 404 because the path names a random record (it is not theirs to delete).
NOT_FOUND_WHEN_ALLOWED = {
    "DELETE /api/v1/me/clients/{client_id}",
    "DELETE /api/v1/admin/clients/{client_id}",
    "POST /api/v1/admin/keys/{kid}/revoke",
}
# Public operations the gateway answers without reading any token (a revoked one included).
TOKENLESS = {
    "GET /healthz",
    "GET /readyz",
    "GET /.well-known/oauth-authorization-server",
    "GET /.well-known/jwks.json",
    "POST /api/v1/accounts",
}


def expected(operation: str, actor: str) -> int | str:
    method = operation.split(" ", 1)[0]
    allowed = ALLOW[operation]
    if actor in REVOKED and operation not in TOKENLESS:
        return 401  # a revoked token is refused wherever it is read, public routes included
    if allowed == PUBLIC:
        return 200 if method == "GET" else OK
    if actor in allowed:
        if actor == "admin" and operation in ADMIN_EXPECT:
            return ADMIN_EXPECT[operation]
        if operation in NOT_FOUND_WHEN_ALLOWED:
            return 404
        return 200 if method == "GET" else OK
    if operation in GUESSED_SECRET:
        return DENY
    if actor == "anon" or actor in REVOKED:
        return 401
    if actor == "readonly" and method != "GET":
        return 403
    return DENY


def rows() -> list[tuple[str, str, int | str]]:
    """The whole table: (actor, operation, expected)."""
    return [(actor, op, expected(op, actor)) for op in ALLOW for actor in ACTORS]


def matches(expect: int | str, status: int) -> bool:
    if expect == DENY:
        return status in (403, 404)
    if expect == OK:
        return 200 <= status < 300 or status in (409, 422)
    return status == expect
