"""E-mail over SMTP (aiosmtplib), on only when ``CUSTODY_SMTP_URL`` is set: an urgent item is
mailed at once, the rest in one daily digest per reader (sweeps.py). Mails are composed in the
reader's language when they are queued; ``EmailWorker`` sends the queued jobs, retrying with
backoff while the SMTP server is unreachable.

``CUSTODY_SMTP_URL``: ``smtp://[user:password@]host[:port]`` (STARTTLS when the server offers
it) or ``smtps://…`` (TLS from the start, port 465 by default).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
import orjson
import structlog

from services.notify import workqueue
from shared.backoff import delay_for
from shared.i18n import text

if TYPE_CHECKING:
    from services.notify.channels import Notice
    from services.notify.models import InboxItem

log = structlog.get_logger("notify.mail")
RETRY_FIRST, RETRY_CAP = 5.0, 600.0
GIVE_UP_AFTER = 48  # attempts (about a week at the cap): an address that never works is dropped
FOOTER = text("—— 安全生产托管平台（此邮件由系统自动发送）", "— Custody platform (sent automatically)")


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    @classmethod
    def parse(cls, url: str) -> Smtp:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("CUSTODY_SMTP_URL must be smtp://host[:port] or smtps://host[:port]")
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )


def compose_one(notice: Notice, language: str) -> tuple[str, str]:
    lines = [notice.body.render(language)]
    if notice.link:
        lines.append(notice.link)
    lines += ["", FOOTER.render(language)]
    prefix = "【紧急】" if not language.startswith("en") else "[Urgent] "
    return prefix + notice.title.render(language), "\n".join(lines)


def compose_digest(items: Sequence[InboxItem], language: str) -> tuple[str, str]:
    english = language.startswith("en")
    plural = "" if len(items) == 1 else "s"
    subject = f"Your {len(items)} new notification{plural}" if english else f"您有 {len(items)} 条新通知"
    lines = []
    for item in items:
        title, body = (item.title_en, item.body_en) if english else (item.title_zh, item.body_zh)
        lines.append(f"· {title}\n  {body}" + (f"\n  {item.link}" if item.link else ""))
    lines += ["", FOOTER.render(language)]
    return subject, "\n".join(lines)


async def send(settings: Any, *, to: str, subject: str, body: str) -> None:
    smtp = Smtp.parse(settings.smtp_url)
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    await aiosmtplib.send(
        message,
        hostname=smtp.host,
        port=smtp.port,
        username=smtp.username,
        password=smtp.password,
        use_tls=smtp.tls,
        timeout=10,
    )


class EmailWorker(workqueue.Worker):
    durable = "notify_email"
    kind = workqueue.EMAIL

    async def handle(self, msg: Any) -> None:
        job = orjson.loads(msg.data)
        attempt = msg.metadata.num_delivered if msg.metadata else 1
        if not self.runtime.settings.smtp_url:  # e-mail was turned off since it was queued
            await msg.term()
            return
        try:
            await send(self.runtime.settings, to=job["to"], subject=job["subject"], body=job["body"])
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            if attempt >= GIVE_UP_AFTER:
                log.error("notify.email_dropped", to=job["to"], error=str(exc)[:300], attempts=attempt)
                await msg.term()
                return
            delay = delay_for(attempt, first=RETRY_FIRST, cap=RETRY_CAP) * (1 + random.random() / 4)
            log.warning("notify.email_failed", error=str(exc)[:300], retry_in=round(delay, 1))
            await msg.nak(delay=delay)
            return
        await msg.ack()
        log.info("notify.email_sent", items=len(job.get("item_ids") or []))
