"""The server's snapshot schedule: one snapshot (``exchange.store.snapshots``) every
``snapshot_every`` commands and one at shutdown, so that a restart replays only the
journal's tail."""

import asyncio
import logging

from . import tasks
from .settings import Settings
from .store import snapshots

log = logging.getLogger(__name__)


class Snapshotter:
    """Takes a snapshot every ``snapshot_every`` commands and one at shutdown, one at
    a time."""

    CHECK_S = 1.0   # how often the count is looked at (cheap)

    def __init__(self, sequencer, batcher, pool, settings: Settings, last_seq: int):
        self.sequencer, self.batcher, self.pool = sequencer, batcher, pool
        self.every = settings.snapshot_every
        self.data_dir = settings.data_path()
        self.day_end_s = settings.day_end_utc_s
        self.last_seq = last_seq   # the newest snapshot's seq (0: none)
        self._task = None

    def start(self) -> None:
        if self.every > 0:
            self._task = asyncio.get_running_loop().create_task(
                tasks.repeat(self.CHECK_S, self.maybe, "snapshot"), name="snapshots")

    async def maybe(self) -> None:
        seq = self.sequencer.seq
        if seq - self.last_seq >= self.every and self.batcher.error is None:
            try:
                await self.take()
            except Exception:
                self.last_seq = seq   # not again at once: after another snapshot_every
                raise

    async def take(self) -> None:
        self.last_seq = await snapshots.take(self.sequencer, self.batcher, self.pool,
                                             self.data_dir, self.day_end_s)

    async def stop(self) -> None:
        await tasks.stop(self._task)   # a snapshot being taken is abandoned (its file removed)

    async def final(self) -> None:
        """At shutdown (the journal drained): a snapshot of the final state if it is new."""
        if self.sequencer.seq > self.last_seq:
            try:
                await self.take()
            except Exception:
                log.exception("the shutdown snapshot failed; the next start replays more")
