"""Funding helpers of the platform tests: an operator client and a balance read."""

from exchange.keys import POOL, VENUE
from exchange.platform.roles import set_role


async def make_operator(app, client, email="op@example.com"):
    """Register ``email``, make its account an operator, log ``client`` in as it."""
    body = await client.register(email)
    await set_role(app[POOL], email, "operator")
    status, _, _ = await client.login(email)
    assert status == 200
    client.account_id = body["account_id"]
    return client


def balance(app, account, asset):
    b = app[VENUE].sequencer.ledger.balance(account, asset)
    return b.free, b.locked
