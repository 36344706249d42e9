"""The journal as a tamper-evident audit trail: a SHA-256 hash chain over its rows.

Each journal row carries ``hash`` = SHA-256 of, in this order:

- the previous row's hash (32 bytes; ``GENESIS``, 32 zero bytes, before the first row),
- ``seq`` and ``ts_ns`` as 8-byte big-endian signed integers,
- ``kind`` (UTF-8) and the canonical command bytes, each preceded by its length
  as a 4-byte big-endian unsigned integer,
- ``rejected``: one byte 0 when NULL, else byte 1, a 4-byte length and the UTF-8 text.

The canonical command bytes are ``orjson.dumps(command, option=OPT_SORT_KEYS)``
of the codec's dict: keys sorted at every level, no whitespace. PostgreSQL's
jsonb reorders keys (shorter first) and re-spaces the text, so the chain never
hashes jsonb text; it hashes this serialisation, which the verifier recomputes
from the value jsonb gives back. That round trip is exact because the codec only
emits what jsonb keeps as is: int64 integers, strings without NUL or lone
surrogates, booleans, null, lists and dicts (other values travel tagged). The
batcher writes these same bytes as the jsonb parameter, so it serialises each
command once.

The batcher (``exchange.store.batcher``) computes the hashes of a batch in
Python while it builds the batch and writes them in the batch's one
statement; it starts from ``chain_head``, the hash of the last committed row.
``verify`` walks the journal in seq order and reports the first row whose
stored hash is not the one recomputed from its own columns and its
predecessor's stored hash, or a gap in seq: an edited row breaks at its seq,
a deleted row at the missing seq, two swapped rows at the lower one, and a
row edited with its hash recomputed breaks the link of the row after it.

Journals written before migration 0004 have rows without a hash. ``seal_legacy``
(run at start-up after the migrations, and by ``exchange migrate``) chains
those rows, in seq order, from GENESIS: it seals only rows older than every
hashed row, so a hash removed later is reported by ``verify``, not resealed.
The chain attests to legacy rows only from the moment they were sealed.

A chain without a secret proves nothing against someone who can rewrite the
whole table and recompute every hash after the edit: keep the head hash that
``exchange audit verify`` prints somewhere else (a ticket, another system) and
compare. Admin actions (operators' and compliance's changes) have a chain of
their own in ``admin_actions`` (``exchange.store.actions``), hashed with
``row_hash`` and checked by ``exchange audit verify`` too.
"""


import asyncpg

from .actions import ActionsVerdict, verify_actions
from .chain import FETCH, GENESIS, Verdict, canonical, row_hash
from .db import open_configured

class AuditError(RuntimeError):
    """The journal cannot be chained (a row without a hash where one is required)."""


async def chain_head(conn) -> bytes:
    """Return the hash of the last journal row (GENESIS on an empty journal).

    Raises AuditError when that row has no hash: a legacy journal that was not
    sealed (``seal_legacy``), so new rows would chain from nothing.
    """
    row = await conn.fetchrow("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")
    if row is None:
        return GENESIS
    if row["hash"] is None:
        raise AuditError(f"journal seq {row['seq']} has no hash: seal the journal written "
                         "before migration 0004 first (exchange migrate does)")
    return bytes(row["hash"])


async def seal_legacy(pool) -> int:
    """Hash the journal rows written before the chain existed; return how many were sealed.

    Seals, in seq order from GENESIS, the rows without a hash that come before
    every hashed row (all of them on a journal that has none). A row without a
    hash after a hashed one is left for ``verify`` to report. One transaction
    under an exclusive lock on the journal; idempotent.
    """
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute("LOCK TABLE journal IN EXCLUSIVE MODE")
            first_hashed = await conn.fetchval(
                "SELECT min(seq) FROM journal WHERE hash IS NOT NULL")
            where = "hash IS NULL" + ("" if first_hashed is None else " AND seq < $1")
            args = () if first_hashed is None else (first_hashed,)
            count = await conn.fetchval(f"SELECT count(*) FROM journal WHERE {where}", *args)
            if not count:
                return 0
            prev, seqs, hashes = GENESIS, [], []
            cursor = conn.cursor(f"SELECT seq, ts_ns, kind, command, rejected FROM journal "
                                 f"WHERE {where} ORDER BY seq", *args, prefetch=FETCH)
            async for seq, ts_ns, kind, command, rejected in cursor:
                prev = row_hash(prev, seq, ts_ns, kind, canonical(command), rejected)
                seqs.append(seq)
                hashes.append(prev)
            await conn.execute(
                "UPDATE journal j SET hash = u.hash FROM unnest($1::bigint[], $2::bytea[]) "
                "AS u(seq, hash) WHERE j.seq = u.seq", seqs, hashes)
            # With hashed rows after them, the first hashed row's link pins the sealed
            # rows: resealed contents that differ from what it was chained to break there.
            return count


async def verify(conn) -> Verdict:
    """Walk the journal in seq order, recompute the chain and return the first break. O(rows).

    Reads in one repeatable-read snapshot, FETCH rows per round trip.
    """
    prev, expected, rows = GENESIS, 1, 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = conn.cursor("SELECT seq, ts_ns, kind, command, rejected, hash FROM journal "
                             "ORDER BY seq", prefetch=FETCH)
        async for seq, ts_ns, kind, command, rejected, stored in cursor:
            broken = None
            if seq != expected:  # ORDER BY over the primary key: only ever a gap
                missing = (f"seq {expected}" if seq == expected + 1
                           else f"seqs {expected}..{seq - 1}")
                broken, why = expected, f"{missing} missing (deleted rows)"
            elif stored is None:
                broken, why = seq, "no hash"
            elif row_hash(prev, seq, ts_ns, kind, canonical(command), rejected) != stored:
                why = ("its contents do not match its hash (edited, or moved from another "
                       "seq), or the row before it was rewritten")
                broken = seq
            if broken is not None:
                return Verdict(False, rows, expected - 1, prev, broken, why)
            prev, expected, rows = bytes(stored), expected + 1, rows + 1
        # Rows deleted from the end leave no gap; the tables written in the same
        # transactions still name their seqs.
        referenced = await conn.fetchval(_REFERENCED)
    if referenced is not None and referenced >= expected:
        missing = (f"seq {expected}" if referenced == expected
                   else f"seqs {expected}..{referenced}")
        return Verdict(False, rows, expected - 1, prev, expected,
                       f"{missing} missing from the end of the journal (the ledger, trades, "
                       f"orders, balances or instruments name seq {referenced})")
    return Verdict(True, rows, expected - 1, prev)


_REFERENCED = """
SELECT greatest((SELECT max(seq) FROM ledger_entries), (SELECT max(seq) FROM trades),
                (SELECT max(updated_seq) FROM orders), (SELECT max(updated_seq) FROM balances),
                (SELECT max(updated_seq) FROM instruments))
"""


async def verify_configured(settings) -> Verdict:
    """Verify the journal of the database ``settings`` name.

    Read-only: it neither migrates nor seals. A database it cannot reach or a
    journal without the hash column is a Verdict that is not ok, with the reason.
    """
    return (await verify_all_configured(settings, actions=False))[0]


async def verify_all_configured(settings, *, actions: bool = True) -> list:
    """Verify the journal and (``actions``) the admin actions' chain
    (``exchange.store.actions``) of the configured database: ``exchange audit verify``.

    Returns their verdicts (each has ``ok`` and ``message()``), the journal's first.
    """
    try:
        db = await open_configured(settings, min_size=1, max_size=1)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
        return [Verdict(False, 0, 0, GENESIS, None, f"cannot connect to the database: {e}")]
    try:
        async with db.pool.acquire() as conn:
            has_hash = await conn.fetchval(
                "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('journal') "
                "AND attname = 'hash' AND NOT attisdropped")
            if not has_hash:
                return [Verdict(False, 0, 0, GENESIS, None, "the journal has no hash column "
                                "(migration 0004 not applied): run exchange migrate")]
            verdicts = [await verify(conn)]
            if actions:
                if await conn.fetchval("SELECT to_regclass('admin_actions') IS NULL"):
                    verdicts.append(ActionsVerdict(
                        False, 0, 0, GENESIS, None, "there is no admin_actions table "
                        "(migration 0007 not applied): run exchange migrate"))
                else:
                    verdicts.append(await verify_actions(conn))
            return verdicts
    finally:
        await db.close()
