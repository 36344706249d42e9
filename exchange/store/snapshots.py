"""Snapshots of the sequencer, so that a restart replays only the journal's tail.

Recovery (``recovery.recover``) rebuilds the venue by replaying the journal
through a fresh ``Sequencer``; without snapshots its time grows with the
venue's whole history. A snapshot is the sequencer itself, pickled at a seq S
once every command up to S has committed, stored in ``snapshots`` and
``snapshot_parts`` (migration 0009). Recovery starts from the newest snapshot
taken by the same engine code (``ENGINE``, a digest of ``exchange/engine``'s
source) under the same ``day_end_utc_s`` and replays the journal after it;
any other snapshot is ignored, so an upgrade can never load state its classes
describe differently. The checks after recovery are the same either way, and
a recovery from a snapshot that fails them is retried from the whole journal.

Taking one must not stop the venue: ``take`` forks, and the child pickles the
sequencer as it stood at the fork (copy-on-write; the parent goes on applying
commands) into a file in the data directory and exits; the parent then waits
for the child and for the journal to commit through S, and stores the file.
The server takes one every ``snapshot_every`` commands and at shutdown.

Only this server writes these tables; whoever could write a malicious pickle
there could rewrite the journal as well.
"""

import asyncio
import hashlib
import logging
import os
import pathlib
import pickle

from ..engine import Sequencer

log = logging.getLogger(__name__)

PART_BYTES = 64 << 20   # bytes per snapshot_parts row
KEEP = 2                # snapshots kept (the newest and one before it)


def _engine_digest() -> str:
    engine = pathlib.Path(__file__).resolve().parents[1] / "engine"
    h = hashlib.sha256()
    for path in sorted(engine.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:32]


ENGINE = _engine_digest()


def dumps(sequencer: Sequencer) -> bytes:
    return pickle.dumps(sequencer, protocol=pickle.HIGHEST_PROTOCOL)


async def latest(conn, day_end_s: int):
    """``(seq, Sequencer)`` of the newest usable snapshot, or None. Call it inside the
    transaction that reads the journal, so that both are one view."""
    row = await conn.fetchrow(
        "SELECT seq, parts FROM snapshots WHERE engine = $1 AND day_end_utc_s = $2 "
        "AND seq <= (SELECT coalesce(max(seq), 0) FROM journal) ORDER BY seq DESC LIMIT 1",
        ENGINE, day_end_s)
    if row is None:
        return None
    parts = await conn.fetch("SELECT data FROM snapshot_parts WHERE seq = $1 ORDER BY part",
                             row["seq"])
    if len(parts) != row["parts"]:
        log.warning("snapshot at seq %d has %d of its %d parts: not used", row["seq"],
                    len(parts), row["parts"])
        return None
    try:
        sequencer = pickle.loads(b"".join(p["data"] for p in parts))
    except Exception:
        log.exception("snapshot at seq %d does not load: not used", row["seq"])
        return None
    if type(sequencer) is not Sequencer or sequencer.seq != row["seq"]:
        log.warning("snapshot at seq %d holds something else: not used", row["seq"])
        return None
    return row["seq"], sequencer


async def store(pool, seq: int, day_end_s: int, blob: bytes) -> None:
    """Store ``blob`` as the snapshot at ``seq`` (committed through ``seq``); keep KEEP."""
    parts = [blob[i:i + PART_BYTES] for i in range(0, len(blob), PART_BYTES)] or [b""]
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO snapshots (seq, engine, day_end_utc_s, parts, bytes) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING",
                seq, ENGINE, day_end_s, len(parts), len(blob))
            await conn.executemany("INSERT INTO snapshot_parts (seq, part, data) "
                                   "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                                   [(seq, i, p) for i, p in enumerate(parts)])
            await conn.execute("DELETE FROM snapshots WHERE seq NOT IN "
                               "(SELECT seq FROM snapshots ORDER BY seq DESC LIMIT $1)", KEEP)


async def take(sequencer: Sequencer, batcher, pool, data_dir, day_end_s: int) -> int:
    """Snapshot ``sequencer`` as it stands now, without stopping the loop; return its seq.

    Forks: the child writes the pickle to ``data_dir`` and exits at once. The parent
    waits for it (in a thread), then for ``batcher`` to commit through that seq, then
    stores the file and removes it. Raises RuntimeError if the child failed."""
    seq = sequencer.seq
    path = pathlib.Path(data_dir) / f"snapshot-{seq}.{os.getpid()}.tmp"
    path.parent.mkdir(parents=True, exist_ok=True)
    pid = os.fork()
    if pid == 0:   # the child: no loop, no finalizers, nothing but the pickle
        code = 1
        try:
            import gc
            gc.disable()
            with open(path, "wb") as f:
                pickle.dump(sequencer, f, protocol=pickle.HIGHEST_PROTOCOL)
            code = 0
        finally:
            os._exit(code)
    try:
        _, status = await asyncio.to_thread(os.waitpid, pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"the snapshot child at seq {seq} failed (status {status})")
        # committed through seq: nothing appended is pending (every command up to seq was
        # appended as it was applied), or a batch at or past seq has committed
        try:
            await batcher.wait_committed(seq)
        except Exception as e:
            raise RuntimeError("the journal failed before the snapshot's seq committed") from e
        blob = await asyncio.to_thread(path.read_bytes)
        await store(pool, seq, day_end_s, blob)
    finally:
        path.unlink(missing_ok=True)
    log.info("snapshot taken at seq %d (%d bytes)", seq, len(blob), extra={"seq": seq})
    return seq
