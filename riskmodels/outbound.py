"""Outbound webhook requests that cannot be turned inward.

A URL's host is resolved once (`resolve_target`); every address it resolves to must be public
(`is_public_address`), and the request goes to the first of those checked addresses
(`post_pinned`): a name that answers with another address a moment later (DNS rebinding)
changes nothing. TLS is still verified against the host name (SNI and certificate), never
against the address.

Python's `is_global` alone is not enough: it accepts IPv4-compatible addresses such as
`::127.0.0.1`, NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`) and 6to4 (`2002::/16`) prefixes that
embed an IPv4 address, site-local `fec0::/10` and multicast; they are refused here by network.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",
        "::/96",  # unspecified, loopback and IPv4-compatible (::127.0.0.1)
        "::ffff:0:0/96",  # IPv4-mapped
        "64:ff9b::/96",  # NAT64
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard
        "2001::/32",  # Teredo: embeds an IPv4 address
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4: embeds an IPv4 address
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated, still routed by some stacks)
        "ff00::/8",  # multicast
    )
)


class RefusedURL(Exception):
    """The URL may not be called: its message says why, for the form and the delivery log."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a request goes: the checked `address`, and the names TLS and HTTP must use."""

    scheme: str
    host: str  # the URL's host name: SNI, certificate check
    host_header: str  # host[:port] as the URL gave it
    port: int
    path: str  # path and query
    address: str


def is_public_address(address: IPAddress) -> bool:
    if not address.is_global or address.is_multicast:
        return False
    return not any(address in network for network in REFUSED_NETWORKS)


def resolve_target(url: str, *, allow_private: bool = False, allowed: Sequence[str] = ()) -> Target:
    """The URL checked and resolved once; RefusedURL if it is not http(s), carries
    credentials, does not resolve, or resolves to any address that is neither public nor in
    one of the `allowed` networks (a lab's receivers), unless `allow_private` (development)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedURL("Give an http:// or https:// URL.")
    if parts.username or parts.password:
        raise RefusedURL("Leave credentials out of the URL: requests are signed.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise RefusedURL("The URL's port is not a number from 1 to 65535.") from error
    addresses = _resolve(parts.hostname, port)
    exempt = [ipaddress.ip_network(network) for network in allowed]
    if not addresses or not (allow_private or all(_callable(a, exempt) for a in addresses)):
        raise RefusedURL("The URL must resolve to public addresses only.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, parts.netloc, port, path, str(addresses[0]))


def _callable(
    address: IPAddress, exempt: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    return is_public_address(address) or any(address in network for network in exempt)


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    # [4][0] is the address text; an IPv6 scope ("%eth0") is not part of the address.
    found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    return list(dict.fromkeys(found))


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]


def post_pinned(
    target: Target, body: bytes, headers: Mapping[str, str], *, timeout: float, ca_bundle: str
) -> Answer:
    """POST to the checked address, with no redirect followed and no retry; urllib3's
    HTTPError (network, TLS, timeout) propagates."""
    pool = _pool(target, timeout, ca_bundle)
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.host_header},
            redirect=False,  # a redirect could point anywhere, past the check
            retries=False,
            preload_content=True,
        )
    finally:
        pool.close()
    return Answer(response.status, dict(response.headers))


def _pool(target: Target, timeout: float, ca_bundle: str) -> urllib3.HTTPConnectionPool:
    limits = urllib3.Timeout(connect=timeout, read=timeout)
    if target.scheme == "http":
        return urllib3.HTTPConnectionPool(target.address, target.port, timeout=limits, maxsize=1)
    return urllib3.HTTPSConnectionPool(
        target.address,
        target.port,
        timeout=limits,
        maxsize=1,
        cert_reqs="CERT_REQUIRED",
        ca_certs=ca_bundle or certifi.where(),
        server_hostname=target.host,
        assert_hostname=target.host,
    )
