"""Where the service may send webhooks. Every URL is parsed by httpx, the parser that sends it,
and refused at registration if it carries control characters or an IP address in a
non-canonical form. In production the scheme is https and the host must resolve only to
global addresses (not loopback, private, link-local, carrier NAT, 6to4, ...) unless
OUTGOING_WEBHOOKS_ALLOW_PRIVATE says so; the sender then connects to the address it checked."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from app.kit.errors import ValidationFailed, invalid_field

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

# A host whose last label is a number is an IPv4 address to resolvers (inet_aton reads
# 127.1, 0x7f.1 and 2130706433 as 127.0.0.1); only the dotted-quad form is accepted.
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+", re.IGNORECASE)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# Every URL an endpoint may have, as the OpenAPI document states it: a host name (its last
# label starts with a letter) or an IPv4 address in dotted-quad form, an optional port, path
# and query of URL characters. Anything else is refused, so the document and the server agree.
URL_PATTERN = (
    r"^https?://(?:(?:" + _LABEL + r"\.)*[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"|(?:" + _OCTET + r"\.){3}" + _OCTET + r")"
    r"(?::" + _PORT + r")?"
    r"(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?"
    r"(?:\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$"
)
_SHAPE = re.compile(URL_PATTERN)
NOT_CANONICAL = "an IP address must be written as four decimal numbers (such as 192.0.2.1)"
# Besides what ipaddress calls non-global: ranges that carry or translate an IPv4 address
# of any kind, so a global-looking IPv6 address could reach an internal IPv4 one.
_EMBEDDING = (
    ipaddress.ip_network("2002::/16"),  # 6to4
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64
    ipaddress.ip_network("64:ff9b:1::/48"),  # local NAT64
    ipaddress.ip_network("2001::/32"),  # Teredo
)


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]).split("%")[0] for info in infos]


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: the URL, and in production the address that was checked
    (connect there; TLS is still verified against the URL's host name)."""

    url: httpx.URL
    address: str | None = None


@dataclass(frozen=True)
class UrlPolicy:
    production: bool
    allow_private: bool
    resolver: Resolver = field(default=system_resolver, compare=False)

    @property
    def restricts_addresses(self) -> bool:
        return self.production and not self.allow_private

    async def check(self, url: str) -> str:
        """The URL in httpx's normal form when it may be used; ValidationFailed (422) saying
        why not."""
        return str((await self.target(url)).url)

    async def target(self, url: str) -> Target:
        parsed = self.parse(url)
        if not self.restricts_addresses:
            return Target(parsed)
        addresses = await self._addresses(parsed)
        for address in addresses:
            if not is_public(address):
                raise _refused(
                    "resolves to a loopback, private, link-local or other non-public address "
                    "(set OUTGOING_WEBHOOKS_ALLOW_PRIVATE=true to allow)"
                )
        return Target(parsed, str(addresses[0]))

    def parse(self, url: str) -> httpx.URL:
        if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
            raise _refused("must not contain spaces or control characters (tab, newline, ...)")
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            # httpx's message may quote the URL, which may carry the receiver's token.
            raise _refused(NOT_CANONICAL if "IPv4" in str(exc) else "not a valid URL") from None
        allowed = ("https",) if self.production else ("https", "http")
        if parsed.scheme not in allowed:
            raise _refused("must be https://" if self.production else "must be http(s)://")
        host = parsed.raw_host.decode("ascii")
        if not host:
            raise _refused("has no host")
        if parsed.port is not None and not 1 <= parsed.port <= 65535:
            raise _refused("has a port outside 1-65535")
        if parsed.userinfo:
            raise _refused("must not carry credentials (the signature authenticates us)")
        if parsed.fragment:
            raise _refused("must not have a #fragment")
        if ":" not in host and _NUMERIC_LABEL.fullmatch(host.rstrip(".").rsplit(".", 1)[-1]):
            _canonical_ipv4(host)
        if not _SHAPE.fullmatch(url):
            raise _refused(
                "must be http(s)://host[:port][/path][?query], the host a name or an IPv4 "
                "address, with URL characters only (letters, digits, -._~!$&'()*+,;=:@%/?)"
            )
        return parsed

    async def _addresses(self, url: httpx.URL) -> list[IpAddress]:
        host = url.raw_host.decode("ascii")
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        try:
            found = await self.resolver(host, url.port or 443)
            addresses = [ipaddress.ip_address(a) for a in found]
        except (OSError, ValueError):
            raise _refused("its host cannot be resolved") from None
        if not addresses:
            raise _refused("its host cannot be resolved")
        return addresses


def _canonical_ipv4(host: str) -> None:
    try:
        canonical = str(ipaddress.IPv4Address(host))
    except ValueError:
        canonical = None
    if canonical != host:
        raise _refused(NOT_CANONICAL)


def is_public(address: IpAddress) -> bool:
    """A global unicast address, and for IPv6 one that embeds no IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if any(address in network for network in _EMBEDDING):
            return False
    return address.is_global and not address.is_multicast


def _refused(why: str) -> ValidationFailed:
    return invalid_field("body", "url", why)
