"""The audit of admin actions: ``admin_actions``, a SHA-256 hash chain of its own.

Every operator or compliance action that changes something (a withdrawal
resolved, a risk limit or kill switch set, an instrument's status, a
beneficial owner, a surveillance alert reviewed, a role changed on the
command line) is appended by ``record_admin_action``, the one writer. It
takes ``LOCK TABLE admin_actions IN SHARE ROW EXCLUSIVE MODE`` (a lock that
conflicts with itself, not with readers) in the caller's transaction, reads
the head and appends the next row, so the chain stays linear across
requests, processes and the command line; when the caller's transaction also
makes the change (an UPDATE of ``accounts``, of an alert), the change and its
record commit together or not at all. Actions that are engine commands are
recorded after their command is durable, with its ``seq``.

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

from .chain import FETCH, GENESIS, Verdict, canonical, row_hash

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)
CLI_ROLE = "cli"     # the role recorded for the command line (no actor account)


class ActionError(ValueError):
    """Details that jsonb would not give back exactly (a float, a huge int, a NUL)."""


def _check(value, path="details"):
    t = type(value)
    if t is dict:
        for k, v in value.items():
            if type(k) is not str:
                raise ActionError(f"{path}: keys must be strings")
            _check(v, f"{path}.{k}")
    elif t is list or t is tuple:
        for i, v in enumerate(value):
            _check(v, f"{path}[{i}]")
    elif t is int:
        if not -2**63 <= value < 2**63:
            raise ActionError(f"{path}: integer out of int64 range")
    elif t is str:
        if "\x00" in value:
            raise ActionError(f"{path}: NUL in a string")
    elif value is not None and t is not bool:
        raise ActionError(f"{path}: {t.__name__} is not kept exactly by jsonb")


def _payload(actor, role, target, details) -> bytes:
    return canonical({"actor": actor, "role": role, "target": target, "details": details})


def action_hash(prev: bytes, action_id: int, created_at: datetime, action: str, actor,
                role: str, target: str, details) -> bytes:
    """Return the chain hash of one admin action row, given its predecessor's hash."""
    ts_ns = (created_at - EPOCH) // _US * 1000
    return row_hash(prev, action_id, ts_ns, action, _payload(actor, role, target, details),
                    None)


async def record_admin_action(db, caller, action: str, target, details: dict | None = None):
    """Append an admin action by ``caller`` (anything with ``account_id`` and ``role``; None:
    the command line) to the chain; return the row.

    ``db`` is a pool (a transaction of its own) or a connection (joins its
    transaction, so a change made there commits with its record). O(1).
    """
    details = {} if details is None else details
    _check(details)
    actor = None if caller is None else caller.account_id
    role = CLI_ROLE if caller is None else caller.role
    target = str(target)
    if hasattr(db, "acquire"):
        async with db.acquire() as conn:
            async with conn.transaction():
                return await _append(conn, actor, role, action, target, details)
    async with db.transaction():
        return await _append(db, actor, role, action, target, details)


async def _append(conn, actor, role, action, target, details):
    await conn.execute("LOCK TABLE admin_actions IN SHARE ROW EXCLUSIVE MODE")
    head = await conn.fetchrow(
        "SELECT action_id, hash FROM admin_actions ORDER BY action_id DESC LIMIT 1")
    action_id, prev = (1, GENESIS) if head is None else (head["action_id"] + 1,
                                                         bytes(head["hash"]))
    created_at = EPOCH + time.time_ns() // 1000 * _US
    payload_details = canonical(details)   # the bytes hashed are the bytes stored
    digest = row_hash(prev, action_id, (created_at - EPOCH) // _US * 1000, action,
                      _payload(actor, role, target, details), None)
    return await conn.fetchrow("""
        INSERT INTO admin_actions (action_id, actor, role, action, target, details, created_at,
                                   prev_hash, hash)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *""",
        action_id, actor, role, action, target, payload_details, created_at, prev, digest)


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
