"""The REST edge's own shared objects: its settings and the client-order-id registry
(each stored under its key in ``exchange.keys`` by ``exchange.api.setup``)."""

import asyncio
from collections import OrderedDict
from dataclasses import dataclass



@dataclass(frozen=True, slots=True)
class ApiSettings:
    weight_limit_1m: int = 6000       # request weight per IP per minute
    max_body_bytes: int = 64 * 1024   # larger bodies get 413


class ClientIds:
    """Makes ``newClientOrderId`` idempotent per account.

    A request with a client id that is in flight waits for the first one and
    then sees it as a duplicate; ids of orders placed recently are remembered
    here (bounded) and older ones are found in the orders table, so a retry
    never creates a second order, even after the first has closed.
    """

    def __init__(self, remember: int = 100_000):
        self._pending = {}             # (account, client id) -> Future
        self._recent = OrderedDict()   # (account, client id) -> None, newest last
        self._remember = remember

    def seen(self, key) -> bool:
        return key in self._recent

    def in_flight(self, key) -> bool:
        return key in self._pending

    async def wait(self, key) -> bool:
        """Wait for an in-flight request with ``key``; return whether there was one."""
        fut = self._pending.get(key)
        if fut is None:
            return False
        await asyncio.shield(fut)
        return True

    def begin(self, key) -> None:
        self._pending[key] = asyncio.get_running_loop().create_future()

    def end(self, key, placed: bool) -> None:
        fut = self._pending.pop(key, None)
        if placed:
            self._recent[key] = None
            if len(self._recent) > self._remember:
                self._recent.popitem(last=False)
        if fut is not None and not fut.done():
            fut.set_result(None)


