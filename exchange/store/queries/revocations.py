"""Revocations other processes must hear of: PostgreSQL ``NOTIFY`` on one channel.

A change made outside the serving process (``exchange role`` from the command
line, another router of a cluster) reaches every server through the
``exchange_revocations`` channel: ``notify_account`` inside the changing
transaction (PostgreSQL delivers it at commit, never for a rolled-back
change), and each server ``listen``s and ends what the account holds
(``exchange.api.grants``). The payload is ``account:<id>:<reason>``: an id and
a fixed reason, never a credential.
"""

import asyncpg

CHANNEL = "exchange_revocations"


async def notify_account(conn, account_id: int, reason: str) -> None:
    """Tell every server, at commit, that ``account_id`` must lose its streams."""
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"account:{account_id}:{reason}")


def parse(payload: str) -> tuple[int, str] | None:
    """``(account id, reason)`` of a notification's payload, or None if malformed."""
    kind, _, rest = payload.partition(":")
    text, _, reason = rest.partition(":")
    if kind != "account" or not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text), reason


async def listen(dsn: str, on_account) -> asyncpg.Connection:
    """A connection of its own listening on the channel; ``on_account(id, reason)`` runs
    for each well-formed notification. Close it to stop."""
    conn = await asyncpg.connect(dsn)

    def received(connection, pid, channel, payload):
        parsed = parse(payload)
        if parsed is not None:
            on_account(*parsed)

    await conn.add_listener(CHANNEL, received)
    return conn
