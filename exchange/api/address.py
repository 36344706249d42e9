"""The client's address: the one function every per-client rule reads.

A request's client is its TCP peer, unless the peer is one of the configured
``trusted_proxies`` (IPs or CIDR networks; none by default). Then the proxy's
header (``proxy_header``: ``X-Forwarded-For``, or RFC 7239 ``Forwarded``'s
``for=``; only the one the proxies set, since the other passes through them
unchecked) is read from the right: each trusted hop is skipped and the first
address that is not a trusted proxy is the client. Entries to the left of it
were written by the client itself and are never believed, so a forged
left-most entry changes nothing. An entry that is not an address (``unknown``,
an obfuscated name, garbage) stops the walk: the hop that wrote it is the
client as far as anything trustworthy can tell.

Rate limits (``api.ratelimit``, the WebSocket API), the per-IP login attempt
limit, the sessions' recorded IP and the connection bound's exemption all use
this address. Behind a trusted proxy, addresses are returned in ``ipaddress``'s
normal spelling, so ``::ffff:1.2.3.4``-style variants of one client share one
bucket; without one, the peer is taken as the socket gives it.
"""

import ipaddress

from aiohttp import web

from ..keys import PROXIES
from ..settings import parse_networks


class TrustedProxies:
    """The ``trusted_proxies`` setting, parsed, and which header they set."""

    __slots__ = ("networks", "header")

    def __init__(self, text: str = "", header: str = "x-forwarded-for"):
        self.networks = parse_networks(text)
        self.header = header

    def trusts(self, address) -> bool:
        """Whether ``address`` (an ``ipaddress`` address, or text) is a trusted proxy."""
        if not self.networks:
            return False
        if isinstance(address, str):
            address = _ip(address)
            if address is None:
                return False
        return any(address in net for net in self.networks
                   if net.version == address.version)


_CACHE = web.RequestKey("client_address", str)   # computed once per request


def _ip(text: str):
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _entry(text: str):
    """One hop of a proxy header (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``, ``"[::1]"``)
    as an address, or None."""
    text = text.strip().strip('"')
    if text.startswith("["):
        end = text.find("]")
        return _ip(text[1:end]) if end > 0 else None
    if text.count(":") == 1:      # IPv4 with a port
        text = text.split(":", 1)[0]
    return _ip(text)


def _hops(request: web.BaseRequest, header: str) -> list:
    """The header's hops, left (first proxy's client) to right (nearest proxy's client)."""
    if header == "forwarded":
        hops = []
        for line in request.headers.getall("Forwarded", ()):
            for element in line.split(","):
                for pair in element.split(";"):
                    name, _, value = pair.partition("=")
                    if name.strip().lower() == "for":
                        hops.append(value)
        return hops
    return [part for line in request.headers.getall("X-Forwarded-For", ())
            for part in line.split(",")]


def client_address(request: web.BaseRequest) -> str:
    """The request's client address (see the module's docstring); ``"?"`` if unknown.

    With no trusted proxy (the default) it is the peer as the socket gives it, with no
    parsing: the order-entry path pays one dictionary lookup for this."""
    proxies = request.app.get(PROXIES) if isinstance(request, web.Request) else None
    if proxies is None or not proxies.networks:
        return request.remote or "?"
    cached = request.get(_CACHE)
    if cached is not None:
        return cached
    peer_text = request.remote or "?"
    peer = _ip(peer_text)
    address = peer_text if peer is None else str(peer)
    if peer is not None and proxies.trusts(peer):
        for text in reversed(_hops(request, proxies.header)):
            hop = _entry(text)
            if hop is None:
                break                # the trusted hop to its right is all we know
            address = str(hop)
            if not proxies.trusts(hop):
                break
    request[_CACHE] = address
    return address
