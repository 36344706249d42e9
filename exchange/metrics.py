"""The venue's Prometheus metrics, defined in one place, on a registry of their own.

One ``Metrics`` per application (``exchange.server`` creates it and hands it to
the venue and the batcher), each with its own ``CollectorRegistry`` rather than
prometheus_client's global one, so several apps in one process (the tests) do
not collide. ``/metrics`` serves ``exposition()``; the app keeps its Metrics under ``METRICS``. The engine
never sees this module: the shell around it observes.

- ``exchange_commands_total{kind, outcome}``: commands applied, by command class
  and ``accepted`` / ``rejected`` (rate() of it is commands/s by type);
- ``exchange_match_seconds``: time of one ``Sequencer.apply``;
- ``exchange_journal_batch_commands`` and ``exchange_journal_commit_seconds``:
  commands per journal batch, and the time to build and commit one;
- ``exchange_journal_backlog`` and ``exchange_journal_committed_seq``: read from
  the batcher at scrape time (``watch_journal``), so appends cost nothing;
- ``exchange_websocket_clients`` and ``exchange_websocket_drops_total``: for the
  WebSocket feed to keep (``ws_clients.inc()/.dec()``, ``ws_drops.inc()``);
  they read 0 until it does;
- ``exchange_mail_total{outcome}``: mail ``sent``, ``failed`` (an SMTP error) or
  ``dropped`` (the queue was full), from ``exchange.platform.mail``.

The two per-command metrics are not prometheus_client's Counter and Histogram
objects: measured on the shared 2-core dev box, ``Histogram.observe`` costs
~3 µs and a labelled ``Counter.inc()`` ~1.3-3 µs (a lock each), together about
what a simple ``apply`` takes. The venue adds to plain ints instead (~0.5 µs
each) and a collector reports them at scrape time as a counter and a
histogram family, exposed by prometheus_client like any other metric. Per-batch
metrics keep the library's objects: a batch is far rarer than a command.
"""

from bisect import bisect_left

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge,
                               Histogram, generate_latest)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

CONTENT_TYPE = CONTENT_TYPE_LATEST

# apply() takes microseconds; a slow one (a sweep through many levels) milliseconds.
MATCH_BUCKETS = (1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3,
                 2.5e-2, 0.1)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
COMMIT_BUCKETS = (5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The metrics of one venue, on their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = r = CollectorRegistry() if registry is None else registry
        self._commands = {}                              # (kind, rejected) -> count
        self._match_counts = [0] * (len(MATCH_BUCKETS) + 1)  # per bucket, not cumulative
        self._match_sum = 0.0
        r.register(_CommandCollector(self))
        self.batch_commands = Histogram("exchange_journal_batch_commands",
                                        "Commands per journal batch", buckets=BATCH_BUCKETS,
                                        registry=r)
        self.commit_seconds = Histogram("exchange_journal_commit_seconds",
                                        "Time to build and commit one journal batch",
                                        buckets=COMMIT_BUCKETS, registry=r)
        self.backlog = Gauge("exchange_journal_backlog",
                             "Commands applied but not yet committed", registry=r)
        self.committed_seq = Gauge("exchange_journal_committed_seq",
                                   "Highest committed seq", registry=r)
        # Hooks for the WebSocket feed (exchange/feed/): it increments these.
        self.ws_clients = Gauge("exchange_websocket_clients",
                                "Connected WebSocket clients", registry=r)
        self.ws_drops = Counter("exchange_websocket_drops",
                                "WebSocket clients dropped (slow consumer, error)", registry=r)
        # exchange.platform.mail: outcome sent, failed (SMTP error) or dropped (queue full)
        self.mail = Counter("exchange_mail", "Mail handed to the SMTP server, by outcome",
                            ["outcome"], registry=r)

    def count_command(self, kind: str, rejected: bool) -> None:
        """Count one applied command of class name ``kind``. O(1)."""
        key = (kind, rejected)
        commands = self._commands
        commands[key] = commands.get(key, 0) + 1

    def observe_match(self, seconds: float) -> None:
        """Record the time of one ``Sequencer.apply``. O(log buckets)."""
        self._match_counts[bisect_left(MATCH_BUCKETS, seconds)] += 1
        self._match_sum += seconds

    def observe_batch(self, commands: int, seconds: float) -> None:
        """Record one committed journal batch: its size and its build-and-commit time."""
        self.batch_commands.observe(commands)
        self.commit_seconds.observe(seconds)

    def watch_journal(self, journal) -> None:
        """Read ``journal.backlog`` and ``journal.committed_seq`` at each scrape."""
        self.backlog.set_function(lambda: journal.backlog)
        self.committed_seq.set_function(lambda: journal.committed_seq)

    def exposition(self) -> bytes:
        """Return the registry in the Prometheus text format (``CONTENT_TYPE``)."""
        return generate_latest(self.registry)


class _CommandCollector:
    """Reports the venue's per-command tallies as metric families at scrape time."""

    def __init__(self, metrics: Metrics):
        self._metrics = metrics

    def collect(self):
        m = self._metrics
        commands = CounterMetricFamily("exchange_commands", "Commands applied by the sequencer",
                                       labels=("kind", "outcome"))
        for (kind, rejected), n in sorted(m._commands.items()):
            commands.add_metric((kind, "rejected" if rejected else "accepted"), n)
        yield commands
        buckets, total = [], 0
        for bound, n in zip(MATCH_BUCKETS + (float("inf"),), m._match_counts):
            total += n
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), total))
        yield HistogramMetricFamily("exchange_match_seconds",
                                    "Time of one Sequencer.apply (matching included)",
                                    buckets=buckets, sum_value=m._match_sum)


