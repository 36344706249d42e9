"""The imperative shell around the sequencer: stamp, apply, journal, acknowledge.

Every command of the running venue goes through ``Venue.submit``: the venue
stamps the time, calls ``Sequencer.apply`` synchronously (no ``await`` between
reading and writing state), hands the command and its events to the journal
(the write-behind batcher, through the ``Journal`` protocol), and returns the
events only once the batch holding them has committed (``durability="sync"``,
the default; ``"async"`` returns at once, and a caller that needs the rows the
batcher writes awaits ``journal.wait_committed(seq)``). Listeners registered with ``on_commit`` (market data, user
streams) receive ``(seq, events)`` in seq order after each commit.

With a ``Metrics`` (exchange.metrics) the venue counts each command by class
and outcome and times ``apply``. Commands that move money or change
instruments are logged at INFO with their seq; the rest at DEBUG.
"""

import asyncio
import logging
import time
from typing import Protocol, runtime_checkable

from .engine import CommandRejected, PlaceOrder, Sequencer
from .engine.commands import (AmendOrder, CancelReplace, ChangeInstrument, Deposit, ListInstrument,
                              RequestWithdrawal, ResolveWithdrawal, SetInstrumentStatus,
                              SetKillSwitch, SetRiskDefaults, SetRiskLimits, Withdraw)

log = logging.getLogger(__name__)


class Busy(Exception):
    """The journal backlog is over its bound: new orders must retry later."""

    def __init__(self, retry_after_s: int = 1):
        super().__init__("busy: too many unflushed commands, retry later")
        self.retry_after_s = retry_after_s


@runtime_checkable
class Journal(Protocol):
    """What the venue and its handlers need from the journal: the write-behind batcher
    (``exchange.store.Batcher``) is the one implementation; this is the one definition."""

    backlog: int            # appended, not yet committed
    committed_seq: int      # the highest seq committed by this journal (0: none yet)

    def append(self, seq: int, cmd, events: list) -> asyncio.Future:
        """Queue one applied command; the future resolves when its batch commits."""

    async def wait_committed(self, seq: int) -> None:
        """Return once every command appended up to ``seq`` has committed (at once for a
        seq older than anything appended); raise the journal's error if it failed."""


# Commands that add exposure are refused under back-pressure; cancels are not.
_NEW_RISK = (PlaceOrder, AmendOrder, CancelReplace)
# Rare commands worth a log line each (INFO): money across the boundary, instruments.
_NOTABLE = frozenset((Deposit, Withdraw, RequestWithdrawal, ResolveWithdrawal, ListInstrument,
                      ChangeInstrument,
                      SetInstrumentStatus, SetKillSwitch, SetRiskLimits, SetRiskDefaults))
_perf_counter = time.perf_counter


class Venue:
    def __init__(self, sequencer: Sequencer, journal: Journal, *, durability: str = "sync",
                 max_backlog: int = 50_000, clock=time.time_ns, metrics=None):
        if durability not in ("sync", "async"):
            raise ValueError("durability must be 'sync' or 'async'")
        self.sequencer = sequencer
        self.journal = journal
        self.durability = durability
        self.max_backlog = max_backlog
        self.metrics = metrics          # exchange.metrics.Metrics, or None
        self._clock = clock
        self._last_ts = 0

    def now(self) -> int:
        """Return the venue clock's current time in ns (without stamping anything)."""
        return self._clock()

    def stamp(self) -> int:
        """Return the time for the next command: wall clock, never going backwards."""
        ts = self._clock()
        if ts < self._last_ts:
            ts = self._last_ts
        self._last_ts = ts
        return ts

    async def submit(self, cmd) -> list:
        """Apply ``cmd`` (its ``ts_ns`` is replaced by the venue's) and return its events
        once durable. Raises Busy for new orders while the journal is backed up."""
        if isinstance(cmd, _NEW_RISK) and self.journal.backlog >= self.max_backlog:
            raise Busy()
        cmd = cmd.stamped(self.stamp())   # its own copy: the caller's command stays as it was
        metrics = self.metrics
        if metrics is None:
            events = self.sequencer.apply(cmd)
        else:
            started = _perf_counter()
            events = self.sequencer.apply(cmd)
            metrics.observe_match(_perf_counter() - started)
        seq = self.sequencer.seq
        done = self.journal.append(seq, cmd, events)
        cls = type(cmd)
        notable = cls in _NOTABLE
        if metrics is not None or notable or log.isEnabledFor(logging.DEBUG):
            rejected = None
            for ev in events:
                if type(ev) is CommandRejected:
                    rejected = ev.reason
                    break
            kind = cls.__name__
            if metrics is not None:
                metrics.count_command(kind, rejected is not None)
            if notable or log.isEnabledFor(logging.DEBUG):
                log.log(logging.INFO if notable else logging.DEBUG, "%s %s", kind,
                        "accepted" if rejected is None else f"rejected: {rejected}",
                        extra={"seq": seq, "kind": kind, "rejected": rejected})
        if self.durability == "sync":
            await done
        return events
