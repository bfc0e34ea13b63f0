"""Where the service may send webhooks: https in production, and never to loopback, private or
link-local addresses there unless OUTGOING_WEBHOOKS_ALLOW_PRIVATE says so."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.errors import ValidationFailed


@dataclass(frozen=True)
class UrlPolicy:
    production: bool
    allow_private: bool

    async def check(self, url: str) -> str:
        """The URL as given when it may be used; ValidationFailed (422) saying why not."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise _refused("not a valid URL") from None
        allowed = ("https",) if self.production else ("https", "http")
        if parts.scheme not in allowed:
            raise _refused("must be https://" if self.production else "must be http(s)://")
        if not parts.hostname:
            raise _refused("has no host")
        if parts.username is not None or parts.password is not None:
            raise _refused("must not carry credentials (the signature authenticates us)")
        if parts.fragment:
            raise _refused("must not have a #fragment")
        if self.production and not self.allow_private:
            for address in await _addresses(parts.hostname, port):
                if _internal(address):
                    raise _refused(
                        "resolves to a loopback, private or link-local address "
                        "(set OUTGOING_WEBHOOKS_ALLOW_PRIVATE=true to allow)"
                    )
        return url


async def _addresses(host: str, port: int | None) -> list[ipaddress._BaseAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port or 443, type=socket.SOCK_STREAM
        )
    except OSError:
        raise _refused("its host cannot be resolved") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def _internal(address: ipaddress._BaseAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def _refused(why: str) -> ValidationFailed:
    return ValidationFailed(
        f"url: {why}", errors=[{"loc": ["body", "url"], "msg": why, "type": "value_error"}]
    )
