"""The durable store: PostgreSQL through asyncpg.

- ``db``: open a pool on a DSN, or on an embedded server (pgserver) when there is none;
- ``migrate``: apply ``migrations/NNNN_*.sql`` once each, in order;
- ``codec``: commands <-> JSON-able dicts, exactly;
- ``batcher``: the write-behind journal of the venue (one transaction per batch);
- ``recovery``: rebuild the sequencer from the journal and cross-check the tables;
- ``snapshots``: the sequencer pickled at a committed seq, so recovery replays only the tail;
- ``actions``: the admin actions' chain (records carried by commands, written by the batcher);
- ``queries``: the SQL the handlers run, per concept, as named async functions.
"""

from .batcher import Batcher
from .codec import decode, dumps, encode, loads
from .db import Database, open_database
from .migrate import migrate
from .recovery import RecoveryError, recover
from . import snapshots

__all__ = ["Batcher", "Database", "open_database", "migrate", "RecoveryError", "recover",
           "encode", "decode", "dumps", "loads", "snapshots"]
