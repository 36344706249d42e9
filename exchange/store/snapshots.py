"""Snapshots of the venue's state, so that a restart replays only the journal's tail.

A snapshot is the sequencer's whole state at a seq S once every command up to
S has committed, as the plain, versioned data of ``exchange.engine.state``
(its format is documented there), encoded here as bytes and stored in
``snapshots`` and ``snapshot_parts`` (migrations 0009 and 0012). What it holds
is described by the data, not by the classes of the code that wrote it: a
new version of the engine loads the snapshots of an older one (``state.upgrade``
brings an older format up to date), so an upgrade restarts from the newest
snapshot like any other start. Recovery (``recovery.recover``) uses the newest
snapshot taken under the same ``day_end_utc_s`` whose format this code knows,
replays the journal after it and checks the result.

The bytes: one MessagePack map, the state's data as it is (maps, arrays,
strings, integers, booleans, nil). An integer outside MessagePack's 64-bit
range (money in minor units can be larger) is the extension type 1 holding
its decimal digits in ASCII (with a leading "-" when negative). The row's
``format`` column repeats the data's format version, so that a snapshot this
code cannot read is skipped without being fetched.

Taking one must not stop the venue: ``take`` forks, and the child dumps the
sequencer as it stood at the fork (copy-on-write; the parent goes on applying
commands), encodes it into a file in the data directory and exits; the parent
then waits for the child and for the journal to commit through S, and stores
the file. The server takes one every ``snapshot_every`` commands and at
shutdown.
"""

import asyncio
import gc
import logging
import os
import pathlib

import msgpack

from ..engine import Sequencer, state

log = logging.getLogger(__name__)

PART_BYTES = 64 << 20   # bytes per snapshot_parts row
KEEP = 2                # snapshots kept (the newest and one before it)
BIG_INT = 1             # the MessagePack extension type of an integer past 64 bits


def _big_int(value):
    if type(value) is int:
        return msgpack.ExtType(BIG_INT, str(value).encode("ascii"))
    raise TypeError(f"a snapshot holds no {type(value).__name__}")


def _ext(code, data):
    if code == BIG_INT:
        return int(data.decode("ascii"))
    raise ValueError(f"unknown MessagePack extension type {code}")


def encode(data: dict) -> bytes:
    """Return the snapshot bytes of a state's plain data (``state.dump``)."""
    return msgpack.packb(data, default=_big_int, use_bin_type=True)


def decode(blob: bytes) -> dict:
    """Return the plain data ``encode`` made ``blob`` from; ValueError if it is not one."""
    try:
        data = msgpack.unpackb(blob, ext_hook=_ext, raw=False, strict_map_key=False)
    except (msgpack.UnpackException, ValueError) as e:
        raise ValueError(f"not a snapshot: {e}") from e
    if type(data) is not dict:
        raise ValueError("not a snapshot: not a map")
    return data


def dumps(sequencer: Sequencer) -> bytes:
    """Return the snapshot bytes of ``sequencer``'s state now."""
    return encode(state.dump(sequencer))


def loads(blob: bytes) -> Sequencer:
    """Return a Sequencer with the state of snapshot bytes ``blob``; ValueError (a
    ``state.StateError`` among them) if they hold no state this code can load."""
    enabled = gc.isenabled()
    gc.disable()   # millions of new objects, none of them garbage: no collection to run
    try:
        return state.load(decode(blob))
    finally:
        if enabled:
            gc.enable()


async def latest(conn, day_end_s: int):
    """``(seq, Sequencer)`` of the newest usable snapshot, or None. Call it inside the
    transaction that reads the journal, so that both are one view."""
    found = await fetch_latest(conn, day_end_s)
    return None if found is None else load(*found)


async def fetch_latest(conn, day_end_s: int):
    """``(seq, format, bytes)`` of the newest snapshot taken under ``day_end_s`` in a
    format this code can load and complete, or None (``load`` makes the Sequencer)."""
    row = await conn.fetchrow(
        "SELECT seq, parts, format FROM snapshots WHERE format <= $1 AND day_end_utc_s = $2 "
        "AND seq <= (SELECT coalesce(max(seq), 0) FROM journal) ORDER BY seq DESC LIMIT 1",
        state.FORMAT, day_end_s)
    if row is None:
        return None
    parts = await conn.fetch("SELECT data FROM snapshot_parts WHERE seq = $1 ORDER BY part",
                             row["seq"])
    if len(parts) != row["parts"]:
        log.warning("snapshot at seq %d has %d of its %d parts: not used", row["seq"],
                    len(parts), row["parts"])
        return None
    return row["seq"], row["format"], b"".join(p["data"] for p in parts)


def load(seq: int, format: int, blob: bytes):
    """``(seq, Sequencer)`` from what ``fetch_latest`` found, or None (logged) if it does
    not load or holds another seq's state."""
    try:
        sequencer = loads(blob)
    except Exception:
        log.exception("snapshot at seq %d (format %d) does not load: not used", seq, format)
        return None
    if sequencer.seq != seq:
        log.warning("snapshot at seq %d holds the state at seq %d: not used", seq,
                    sequencer.seq)
        return None
    return seq, sequencer


async def store(pool, seq: int, day_end_s: int, blob: bytes,
                format: int = state.FORMAT) -> None:
    """Store ``blob`` as the snapshot at ``seq`` (committed through ``seq``) of state
    format ``format``; keep the newest KEEP."""
    parts = [blob[i:i + PART_BYTES] for i in range(0, len(blob), PART_BYTES)] or [b""]
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO snapshots (seq, format, day_end_utc_s, parts, bytes) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING",
                seq, format, day_end_s, len(parts), len(blob))
            await conn.executemany("INSERT INTO snapshot_parts (seq, part, data) "
                                   "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                                   [(seq, i, p) for i, p in enumerate(parts)])
            await conn.execute("DELETE FROM snapshots WHERE seq NOT IN "
                               "(SELECT seq FROM snapshots ORDER BY seq DESC LIMIT $1)", KEEP)


async def take(sequencer: Sequencer, batcher, pool, data_dir, day_end_s: int) -> int:
    """Snapshot ``sequencer`` as it stands now, without stopping the loop; return its seq.

    Forks: the child writes the snapshot's bytes to ``data_dir`` and exits at once. The
    parent waits for it (in a thread), then for ``batcher`` to commit through that seq,
    then stores the file and removes it. Raises RuntimeError if the child failed."""
    seq = sequencer.seq
    path = pathlib.Path(data_dir) / f"snapshot-{seq}.{os.getpid()}.tmp"
    path.parent.mkdir(parents=True, exist_ok=True)
    pid = os.fork()
    if pid == 0:   # the child: no loop, no finalizers, nothing but the snapshot
        code = 1
        try:
            gc.disable()
            blob = dumps(sequencer)
            with open(path, "wb") as f:
                f.write(blob)
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
    log.info("snapshot taken at seq %d (%d bytes, format %d)", seq, len(blob), state.FORMAT,
             extra={"seq": seq})
    return seq
