"""The client's address, from a trusted proxy's X-Forwarded-For only when one is configured.

Behind the TLS proxy the README describes, REMOTE_ADDR is the proxy's address for everyone.
With TRUSTED_PROXIES set (addresses or CIDRs), a request that comes from one of them gets, as
its REMOTE_ADDR, the right-most X-Forwarded-For entry that is not itself a trusted proxy: the
entries left of it were written by the client and prove nothing. Without TRUSTED_PROXIES, or
from any other peer, the header is ignored, since anyone can send it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _trusted(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(remote_addr: str, forwarded_for: str, proxies: tuple[str, ...]) -> str:
    networks = _trusted(proxies)
    if not networks or not _is_trusted(remote_addr, networks):
        return remote_addr
    for hop in reversed([part.strip() for part in forwarded_for.split(",") if part.strip()]):
        if not _is_trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote_addr  # garbage where an address should be: keep the peer
    return remote_addr


class ClientAddressMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        proxies = tuple(settings.TRUSTED_PROXIES)
        if proxies:
            request.META["REMOTE_ADDR"] = client_address(
                request.META.get("REMOTE_ADDR", ""),
                request.META.get("HTTP_X_FORWARDED_FOR", ""),
                proxies,
            )
        return self.get_response(request)
