"""The client address that rate limits and lockouts count against.

``X-Forwarded-For`` is believed only from a configured trusted proxy (``CUSTODY_TRUSTED_PROXIES``:
addresses or CIDR networks, loopback by default — the portal calls the gateway's token endpoint
from the gateway's own host on its users' behalf). The address is the right-most entry of the
chain that is not itself a trusted proxy, so a client cannot choose its own bucket by sending a
forged header through the proxy: behind a TLS terminator every client still gets its own bucket.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_HOPS = 20


@lru_cache(maxsize=16)
def trusted_networks(setting: str) -> tuple[Network, ...]:
    networks = []
    for part in (setting or "").split(","):
        part = part.strip()
        if part:
            networks.append(ipaddress.ip_network(part, strict=False))
    return tuple(networks)


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in net for net in networks)


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: str) -> str:
    """The address of the client: the peer, unless the peer is a trusted proxy, in which case the
    right-most ``X-Forwarded-For`` entry that is not a trusted proxy (or the left-most entry when
    they all are)."""
    networks = trusted_networks(trusted)
    address = peer or "unknown"
    if not networks or not _trusted(address, networks):
        return address
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()][-MAX_HOPS:]
    for hop in reversed(hops):
        if _ip(hop) is None:
            return address  # a malformed chain: count it against the proxy that sent it
        address = str(_ip(hop))
        if not _trusted(address, networks):
            return address
    return address


def address_of_scope(scope: Mapping[str, Any], trusted: str) -> str:
    client = scope.get("client")
    peer = client[0] if client else None
    forwarded = [v.decode("latin-1") for n, v in scope.get("headers") or [] if n == b"x-forwarded-for"]
    return client_address(peer, forwarded, trusted)
