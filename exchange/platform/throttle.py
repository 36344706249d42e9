"""Per-IP throttle of credential-checking requests (login, register, refresh, ...)."""

import time

WINDOW_S = 60


class AttemptLimiter:
    """Attempts per IP in one-minute windows; past ``limit`` the IP waits for the next window."""

    def __init__(self, limit: int, clock=time.time):
        self.limit = limit
        self._clock = clock
        self._used = {}  # ip -> [window index, attempts]

    def attempt(self, ip: str) -> int | None:
        """Count one attempt from ``ip``; return seconds to wait if over the limit, else None."""
        now = self._clock()
        window = int(now // WINDOW_S)
        slot = self._used.get(ip)
        if slot is None or slot[0] != window:
            if len(self._used) > 100_000:  # forget the IPs of past windows
                self._used = {k: v for k, v in self._used.items() if v[0] == window}
            slot = self._used[ip] = [window, 0]
        slot[1] += 1
        if slot[1] > self.limit:
            return max(1, int((window + 1) * WINDOW_S - now + 0.999))
        return None
