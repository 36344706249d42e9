"""Helpers the platform tests import by name (a module of its own: ``conftest`` is
ambiguous when tests/api's conftest is loaded too)."""


async def api_key(user):
    """A new read+trade API key of the logged-in ``user``."""
    status, key, _ = await user.call("POST", "/api/v1/api-keys",
                                     {"name": "bot", "permissions": ["read", "trade"]})
    assert status == 201, key
    return key


class Trader:
    """Signed /api/v3 order entry for one account."""

    def __init__(self, client, account_id, key, secret):
        self.client, self.account_id, self.key, self.secret = client, account_id, key, secret

    async def order(self, symbol, side, price, qty, **extra):
        params = {"symbol": symbol, "side": side, "type": "LIMIT", "timeInForce": "GTC",
                  "quantity": qty, "price": price, **extra}
        status, body = await self.client.signed("POST", "/api/v3/order", self.key, self.secret,
                                                params)
        assert status == 200, body
        return body

    async def cancel(self, symbol, order_id):
        status, body = await self.client.signed("DELETE", "/api/v3/order", self.key,
                                                self.secret, {"symbol": symbol,
                                                              "orderId": order_id})
        assert status == 200, body
