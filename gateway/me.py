"""An account's own settings (SPEC §15): ``PATCH /api/v1/me`` ``{email?, language?, display_name?}`` —
how notify reaches the person (the address urgent items and the daily digest are mailed to, the
language of its notices) and the name others see. The route is in gateway/account_routes.py.

- Only the members given change; ``email: null`` and ``language: null`` clear them (no mail; the
  platform's language, zh-CN). ``display_name`` cannot be cleared.
- ``If-Match`` against the account's ``version`` (its ETag); a change bumps the version and is
  announced as ``account.updated`` in the same transaction; a request that changes nothing changes
  no version and announces nothing.
- E-mail syntax is the WHATWG "valid e-mail address" (what a browser's ``type=email`` accepts) with
  a dot in the domain and the RFC 5321 lengths (local part ≤ 64, address ≤ 254); the domain is
  kept in lower case (an internationalised one as its ``xn--`` A-labels), the local part as typed.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from gateway import events
from gateway.accounts import Name
from gateway.models import Account
from gateway.oauth.grants import AccountInfo, org_standing
from shared.errors import NotFound
from shared.http import Precondition
from shared.i18n import text
from shared.uow import UnitOfWork
from shared.validation import no_control

LANGUAGES = ("zh-CN", "en")
_LOCAL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+$")
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def check_email(value: str) -> str:
    no_control(value)
    local, at, domain = value.strip().rpartition("@")
    if not domain.isascii():  # an internationalised domain (例子.中国): its A-labels, which any SMTP server takes
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            domain = ""
    labels = domain.split(".")
    address = f"{local}@{domain.lower()}"
    if (
        not at
        or not local
        or len(local) > 64
        or len(address) > 254
        or not _LOCAL.match(local)
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
    ):
        raise ValueError("电子邮箱地址格式无效（如 name@example.com） / not an e-mail address (like name@example.com)")
    return address


def check_language(value: str) -> str:
    if value not in LANGUAGES:
        raise ValueError("语言须为 zh-CN 或 en / language must be zh-CN or en")
    return value


Email = Annotated[str, Field(max_length=300), AfterValidator(check_email)]
Language = Annotated[str, Field(max_length=10), AfterValidator(check_language)]


class MeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email | None = Field(default=None, description="接收通知邮件的地址；null 清除 / where notices are mailed")
    language: Language | None = Field(default=None, description="通知语言 zh-CN 或 en；null 恢复默认 / language")
    display_name: Name = Field(default=None, description="显示名称 / display name")  # type: ignore[assignment]


def _missing_account() -> NotFound:
    return NotFound(text("账号不存在或已停用", "The account does not exist or is disabled"))


async def update_me(
    uow: UnitOfWork, *, account_id: uuid.UUID, changes: MeUpdate, if_match: Precondition
) -> AccountInfo:
    """Apply the members ``changes`` carries to the caller's own account (412 on a stale If-Match)."""
    given = changes.model_dump(include=changes.model_fields_set)
    async with uow:
        session = uow.session
        account = await session.get(Account, account_id, with_for_update=True)
        if account is None or account.disabled:
            raise _missing_account()
        if_match.check(account.version)
        changed = {name: value for name, value in given.items() if getattr(account, name) != value}
        if changed:
            for name, value in changed.items():
                setattr(account, name, value)
            account.version += 1
            await session.flush()
            await events.account_updated(uow, account)
        status, admin = await org_standing(session, account)
    return AccountInfo.of(account, status, admin)
