"""Where a webhook may point (SPEC §15): outside development a URL must be ``https`` and its host
must not resolve to a loopback, private, link-local, unspecified, multicast or reserved address.
Checked when a subscription is made and again before each delivery (a name may be re-pointed
after it was accepted). Redirects are never followed, so a receiver cannot bounce a delivery
elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from shared.i18n import Text, text
from shared.settings import Settings


class Refused(ValueError):
    def __init__(self, reason: Text) -> None:
        super().__init__(reason.en)
        self.reason = reason


def enforced(settings: Settings) -> bool:
    return settings.env not in ("development", "test")


def _bad(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )


def check_shape(url: str, *, strict: bool) -> tuple[str, int]:
    """The URL's host and port, refusing what no environment accepts (and, ``strict``, http)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused(text("回调地址格式无效", "not a valid URL")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(text("回调地址须为 http(s) URL", "must be an http(s) URL"))
    if parts.username or parts.password:
        raise Refused(text("回调地址不得包含用户名或密码", "must not carry credentials"))
    if strict and parts.scheme != "https":
        raise Refused(text("回调地址须使用 https", "must use https"))
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def check(url: str, settings: Settings) -> None:
    """Raise ``Refused`` for a URL this deployment must not call."""
    strict = enforced(settings)
    host, port = check_shape(url, strict=strict)
    if not strict:
        return
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
        addresses = [literal]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            raise Refused(text("回调地址的主机名无法解析", "the host name does not resolve")) from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise Refused(text("回调地址的主机名无法解析", "the host name does not resolve"))
    for address in addresses:
        if _bad(address):
            raise Refused(
                text(
                    f"回调地址解析到本机、内网或保留地址（{address}）",
                    f"resolves to a loopback, private, link-local or reserved address ({address})",
                )
            )
