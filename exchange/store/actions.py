"""The audit of admin actions: ``admin_actions``, a SHA-256 hash chain of its own.

Every operator or compliance action that changes something (a withdrawal
resolved, a risk limit or kill switch set, an instrument's status, a
beneficial owner, a surveillance alert reviewed, a role changed on the
command line) is appended by ``append``, the one writer. It takes ``LOCK
TABLE admin_actions IN SHARE ROW EXCLUSIVE MODE`` (a lock that conflicts
with itself, not with readers) in the caller's transaction, reads the head
and appends the next rows, so the chain stays linear across requests,
processes and the command line. Two ways lead to it, and each commits the
change and its record together or not at all:

- an action that is an engine command carries its record in the command
  (``record``: an ``AdminRecord`` in its ``admin`` field); the batcher
  appends it in the transaction of the batch that journals the command,
  stamped with the command's time, with the command's ``seq`` (and, for
  commands that cancel orders, the ``canceled_order_ids``) added to its
  details; a rejected command records nothing;
- an action that changes a platform table (an UPDATE of ``accounts``, of an
  alert) calls ``record_admin_action`` on the connection of the transaction
  that makes the change.

Each row's ``hash`` is the journal's ``row_hash`` (``exchange.store.audit``)
with ``seq`` = ``action_id``, ``ts_ns`` = ``created_at`` in ns (microsecond
precision, what timestamptz keeps), ``kind`` = ``action``, the command bytes
= the canonical bytes of ``{"actor", "role", "target", "details"}`` and
``rejected`` = NULL, chained from the previous row's hash (``GENESIS``
before the first) which the row also stores as ``prev_hash``. ``details``
holds only what jsonb keeps exactly (strings, int64 integers, booleans,
null, lists, objects), so the verifier recomputes the same bytes.

``verify_actions`` walks the table in id order and reports the first row
that was edited, deleted (a gap in ids) or relinked. As with the journal,
keep the head hash it prints somewhere else: rows cut from the end, or a
table rewritten with every hash recomputed, leave no trace inside.
"""

import time
from datetime import datetime, timedelta, timezone

from ..engine.commands import AdminRecord
from .chain import FETCH, GENESIS, Verdict, canonical, row_hash
from .codec import InexactValue, check_exact

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)
CLI_ROLE = "cli"     # the role recorded for the command line (no actor account)


# Details that jsonb would not give back exactly (a float, a huge int, a NUL).
ActionError = InexactValue
_check = check_exact


def _payload(actor, role, target, details) -> bytes:
    return canonical({"actor": actor, "role": role, "target": target, "details": details})


def action_hash(prev: bytes, action_id: int, created_at: datetime, action: str, actor,
                role: str, target: str, details) -> bytes:
    """Return the chain hash of one admin action row, given its predecessor's hash."""
    ts_ns = (created_at - EPOCH) // _US * 1000
    return row_hash(prev, action_id, ts_ns, action, _payload(actor, role, target, details),
                    None)


def record(caller, action: str, target, details: dict | None = None) -> AdminRecord:
    """Return the record of an action by ``caller`` (anything with ``account_id`` and
    ``role``; None: the command line) for a command's ``admin`` field.

    Checks the details (ActionError) before the command is submitted: the
    batcher cannot refuse a record once its command is applied.
    """
    details = {} if details is None else details
    _check(details)
    actor = None if caller is None else caller.account_id
    role = CLI_ROLE if caller is None else caller.role
    return AdminRecord(actor, role, action, str(target), details)


async def record_admin_action(db, caller, action: str, target, details: dict | None = None):
    """Append an admin action by ``caller`` (anything with ``account_id`` and ``role``; None:
    the command line) to the chain; return the row.

    For an action that is not an engine command (those carry their ``record``).
    ``db`` is a pool (a transaction of its own) or a connection (joins its
    transaction, so a change made there commits with its record). O(1).
    """
    rec = record(caller, action, target, details)
    created_at = EPOCH + time.time_ns() // 1000 * _US
    if hasattr(db, "acquire"):
        async with db.acquire() as conn:
            async with conn.transaction():
                return (await append(conn, [(created_at, rec)]))[0]
    async with db.transaction():
        return (await append(db, [(created_at, rec)]))[0]


def created_at_of(ts_ns: int) -> datetime:
    """Return a command's time as an admin action's ``created_at`` (microseconds)."""
    return EPOCH + ts_ns // 1000 * _US


_INSERT = """
INSERT INTO admin_actions (action_id, actor, role, action, target, details, created_at,
                           prev_hash, hash)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                     $6::jsonb[], $7::timestamptz[], $8::bytea[], $9::bytea[])
RETURNING *"""


async def append(conn, records: list) -> list:
    """Append ``[(created_at, AdminRecord), ...]`` to the chain in the caller's transaction,
    in order; return the rows. O(len(records))."""
    await conn.execute("LOCK TABLE admin_actions IN SHARE ROW EXCLUSIVE MODE")
    head = await conn.fetchrow(
        "SELECT action_id, hash FROM admin_actions ORDER BY action_id DESC LIMIT 1")
    action_id, prev = (0, GENESIS) if head is None else (head["action_id"], bytes(head["hash"]))
    cols = [[] for _ in range(9)]
    for created_at, (actor, role, action, target, details) in records:
        action_id += 1
        digest = action_hash(prev, action_id, created_at, action, actor, role, target, details)
        row = (action_id, actor, role, action, target,
               canonical(details),   # the bytes hashed are the bytes stored
               created_at, prev, digest)
        for col, value in zip(cols, row):
            col.append(value)
        prev = digest
    rows = await conn.fetch(_INSERT, *cols)
    return sorted(rows, key=lambda r: r["action_id"])


class ActionsVerdict(Verdict):
    """The outcome of ``verify_actions``: intact, or the first broken action id and why
    (in ``broken_seq`` and ``head_seq``)."""

    __slots__ = ()
    what = "admin actions"
    position = "id"


async def verify_actions(conn) -> ActionsVerdict:
    """Walk ``admin_actions`` in id order, recompute the chain, return the first break. O(rows)."""
    prev, expected, rows = GENESIS, 1, 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = conn.cursor("SELECT action_id, actor, role, action, target, details, "
                             "created_at, prev_hash, hash FROM admin_actions "
                             "ORDER BY action_id", prefetch=FETCH)
        async for r in cursor:
            action_id = r["action_id"]
            broken = None
            if action_id != expected:
                missing = (f"id {expected}" if action_id == expected + 1
                           else f"ids {expected}..{action_id - 1}")
                broken, why = expected, f"{missing} missing (deleted rows)"
            elif bytes(r["prev_hash"]) != prev:
                broken, why = action_id, "its prev_hash is not the previous row's hash"
            elif action_hash(prev, action_id, r["created_at"], r["action"], r["actor"],
                             r["role"], r["target"], r["details"]) != bytes(r["hash"]):
                broken, why = action_id, ("its contents do not match its hash (edited), or "
                                          "the row before it was rewritten")
            if broken is not None:
                return ActionsVerdict(False, rows, expected - 1, prev, broken, why)
            prev, expected, rows = bytes(r["hash"]), expected + 1, rows + 1
    return ActionsVerdict(True, rows, expected - 1, prev)
