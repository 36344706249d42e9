"""Request weights per IP in one-minute windows, as Binance counts them.

Each route has a weight (some depend on their parameters, e.g. depth's
``limit``); every request adds its weight to its IP's count for the current
clock minute. Past the limit, requests get 429 (-1003) with Retry-After until
the minute ends. Every response carries ``X-MBX-USED-WEIGHT-1M``.
"""

import time

from aiohttp import web

WINDOW_S = 60


class RateLimiter:
    """Weight used per IP in the current one-minute window."""

    def __init__(self, limit: int, clock=time.time):
        self.limit = limit
        self._clock = clock
        self._used = {}  # ip -> [window index, weight used]

    def charge(self, ip: str, weight: int) -> tuple[int, int | None]:
        """Add ``weight`` for ``ip``; return (weight used, seconds to retry after or None)."""
        now = self._clock()
        window = int(now // WINDOW_S)
        slot = self._used.get(ip)
        if slot is None or slot[0] != window:
            if len(self._used) > 100_000:  # forget the IPs of past windows
                self._used = {k: v for k, v in self._used.items() if v[0] == window}
            slot = self._used[ip] = [window, 0]
        slot[1] += weight
        if slot[1] > self.limit:
            return slot[1], max(1, int((window + 1) * WINDOW_S - now + 0.999))
        return slot[1], None



# handler -> weight, or a function of the request's query parameters giving it
WEIGHTS = {}


def weight(w):
    """Decorate a handler with its request weight (an int or ``f(query) -> int``)."""
    def mark(handler):
        WEIGHTS[handler] = w
        return handler
    return mark


def weight_of(request: web.Request) -> int:
    try:
        w = WEIGHTS.get(request.match_info.route.handler, 1)
    except Exception:
        return 1
    if callable(w):
        try:
            return w(request.query)
        except Exception:
            return 1
    return w
