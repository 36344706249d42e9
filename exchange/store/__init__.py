"""The durable store: PostgreSQL through asyncpg.

- ``db``: open a pool on a DSN, or on an embedded server (pgserver) when there is none;
- ``migrate``: apply ``migrations/NNNN_*.sql`` once each, in order;
- ``codec``: commands <-> JSON-able dicts, exactly;
- ``batcher``: the write-behind journal of the venue (one transaction per batch);
- ``recovery``: rebuild the sequencer from a snapshot and the journal after it, check it
  against digests of the tables; ``audit_replay``, the full replay that proves every row;
- ``snapshots``: the state (``exchange.engine.state``) at a committed seq, MessagePack-encoded,
  so that recovery replays only the tail;
- ``actions``: the admin actions' chain (records carried by commands, written by the batcher);
- ``queries``: the SQL the handlers run, per concept, as named async functions.
"""

from .batcher import Batcher
from .codec import decode, dumps, encode, loads
from .db import Database, open_configured, open_database
from .migrate import migrate
from .recovery import RecoveryError, recover
from . import snapshots

__all__ = ["Batcher", "Database", "open_database", "open_configured", "migrate", "RecoveryError", "recover",
           "encode", "decode", "dumps", "loads", "snapshots"]
