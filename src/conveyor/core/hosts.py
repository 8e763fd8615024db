"""Outbound URLs (webhooks, any URL conveyor fetches): refuse loopback, private, link-local and other non-public
addresses before connecting, unless ``security.allowed_hosts`` lists the host (or the address).

    check_url(url, allowed=config.security.allowed_hosts, field="alerts.webhook.url")

The host is resolved and every address it resolves to is checked, so a public name that points at 127.0.0.1 or
169.254.169.254 (cloud metadata) is refused too. Redirects are the caller's to refuse (the webhook follows none).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from conveyor.core.errors import BadInputError

__all__ = ["check_url", "is_internal"]


def is_internal(address: str) -> bool:
    """Whether ``address`` (an IP) is not a public unicast address: loopback, private, link-local, multicast,
    reserved, unspecified, shared (100.64/10) or an IPv4-mapped form of one of them."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved
                or ip.is_unspecified or not ip.is_global)


def check_url(url: str, allowed: Sequence[str] = (), *, field: str, schemes: tuple[str, ...] = ("http", "https"),
              resolve: bool = True) -> str:
    """``url`` if its scheme is one of ``schemes`` and its host is public or listed in ``allowed``; a
    :class:`BadInputError` naming ``field`` otherwise (the URL is not shown: it may hold credentials)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BadInputError(f"{field} is not a valid URL.", field=field, hint="Use http(s)://HOST[:PORT]/PATH.") \
            from None
    if parts.scheme.lower() not in schemes:
        raise BadInputError(f"{field} must be a {' or '.join(schemes)} URL, not {parts.scheme or 'a path'}.",
                            field=field, hint="Use http(s)://HOST[:PORT]/PATH.")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise BadInputError(f"{field} has no host.", field=field, hint="Use http(s)://HOST[:PORT]/PATH.")
    listed = {h.strip().rstrip(".").lower() for h in allowed}
    if host in listed:
        return url
    try:
        addresses = [host] if _is_ip(host) else (
            [str(info[4][0]) for info in socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)]
            if resolve else [])
    except (OSError, UnicodeError):
        raise BadInputError(f"The host {host!r} of {field} does not resolve.", field=field,
                            hint="Check the host name.") from None
    internal = sorted({a for a in addresses if is_internal(a) and a not in listed})
    if internal:
        raise BadInputError(f"{field} points at {host!r} ({internal[0]}), a loopback, private or link-local "
                            "address; it is refused before connecting.", field=field,
                            hint=f"If that host is meant, add it to security.allowed_hosts: [{host}].")
    return url


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True
