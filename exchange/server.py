"""The venue's HTTP server: database, journal, venue and REST API in one aiohttp app.

Long-lived resources start and stop as pairs in cleanup contexts, in order:
the database (embedded PostgreSQL when no DSN, migrations applied), then the
venue (state recovered by journal replay, the write-behind batcher started;
on an empty journal the demo venue is set up), then the expiry clock (a task
that submits ``ExpireOrders`` when a DAY/GTD order is due), each under a
typed AppKey. If recovery finds the durable state inconsistent the server
refuses to start. Journal rows written before the audit hash chain existed are
sealed after the migrations; the batcher continues the chain from its head.

Operations: ``/healthz`` (liveness), ``/readyz`` (readiness) and ``/metrics``
(Prometheus, from the app's own ``exchange.metrics.Metrics``).
"""

import asyncio
import dataclasses
import gc
import logging
import os
import pathlib
import secrets
import signal

import orjson
from aiohttp import web

from . import api, feed, openapi, platform, tasks
from .web import page
from .api.state import MARKETDATA, POOL, VENUE, ApiSettings
from .demo import demo_instruments
from .engine import CommandRejected, Deposit, ExpireOrders, ListInstrument, Reason, SetRiskDefaults
from .engine.risk import LIMIT_FIELDS
from .engine.instrument import minor_unit, to_units
from .marketdata import MarketData
from .platform.notifications import NOTIFIER, Notifier
from .platform.surveillance import SURVEILLANCE, Surveillance
from .logs import configure as configure_logging
from .metrics import CONTENT_TYPE, METRICS, Metrics
from .settings import Settings
from .store import (Batcher, Database, RecoveryError, audit, migrate, open_database, recover,
                    snapshots)
from .store.queries import accounts
from .venue import Venue

log = logging.getLogger("exchange.server")

CONFIG = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
BATCHER = web.AppKey("batcher", Batcher)
DEMO_CREDENTIALS = web.AppKey("demo_credentials", dict)
RECOVERED = web.AppKey("recovered", dict)   # recover()'s report: snapshot seq, replayed
EXPIRY_CLOCK = web.AppKey("expiry_clock", asyncio.Task)

EXPIRY_TICK_S = 0.2         # the expiry clock looks at least this often

DEMO_ACCOUNT = "demo"
DEMO_CASH = "1000000.00"   # in each quote asset
DEMO_SHARES = 10_000       # of each instrument, in lots


def create_app(settings: Settings, *, on_fatal=None) -> web.Application:
    """Build the application; resources start when it starts (cleanup contexts)."""
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[CONFIG] = settings
    app[METRICS] = Metrics()
    api.setup(app, ApiSettings(weight_limit_1m=settings.weight_limit_1m,
                               max_body_bytes=settings.max_body_bytes))
    platform.setup(app, settings)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", serve_metrics)
    app.add_routes(feed.routes)
    page.setup(app)      # the trading page: / and /assets/{name}
    app[feed.WS_PING_S] = float(settings.ws_ping_s)
    openapi.setup(app)   # last: it describes every route above
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_venue(on_fatal))
    app.cleanup_ctx.append(_expiry_clock)
    app.cleanup_ctx.append(_feed)
    app.cleanup_ctx.append(_notifier)
    app.cleanup_ctx.append(_surveillance)
    return app


async def healthz(request: web.Request) -> web.Response:
    """Liveness and the journal's progress; 503 once the journal has failed."""
    batcher = request.app[BATCHER]
    venue = request.app[VENUE]
    ok = batcher.error is None
    body = {"status": "ok" if ok else "failed", "seq": venue.sequencer.seq,
            "committed_seq": batcher.committed_seq, "backlog": batcher.backlog}
    return web.Response(body=orjson.dumps(body), status=200 if ok else 503,
                        content_type="application/json")


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 200 once recovered, with the journal writer running and its backlog
    under the bound; 503 otherwise, with the reasons."""
    app = request.app
    venue, batcher = app.get(VENUE), app.get(BATCHER)
    reasons = []
    if venue is None or batcher is None:
        reasons.append("recovering: the venue is not rebuilt yet")
        body = {"ready": False, "reasons": reasons}
    else:
        if batcher.error is not None:
            reasons.append(f"journal failed: {batcher.error!r}")
        elif not batcher.running:
            reasons.append("journal writer not running")
        if batcher.backlog >= venue.max_backlog:
            reasons.append(f"journal backlog {batcher.backlog} is at its bound "
                           f"{venue.max_backlog}: new orders get 503")
        body = {"ready": not reasons, "reasons": reasons, "seq": venue.sequencer.seq,
                "committed_seq": batcher.committed_seq, "backlog": batcher.backlog,
                "max_backlog": venue.max_backlog}
    return web.Response(body=orjson.dumps(body), status=503 if reasons else 200,
                        content_type="application/json")


async def serve_metrics(request: web.Request) -> web.Response:
    """The app's metrics in the Prometheus text format."""
    return web.Response(body=request.app[METRICS].exposition(),
                        headers={"Content-Type": CONTENT_TYPE})


async def _database(app: web.Application):
    settings = app[CONFIG]
    db = await open_database(settings.database_url or None, pathlib.Path(settings.data_dir))
    try:
        applied = await migrate(db.pool)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        sealed = await audit.seal_legacy(db.pool)
        if sealed:
            log.info("sealed %d journal rows written before the audit chain", sealed)
        app[DATABASE] = db
        app[POOL] = db.pool
        yield
    finally:
        await db.close()


def _venue(on_fatal):
    async def venue_ctx(app: web.Application):
        settings = app[CONFIG]
        pool = app[POOL]
        report = {}
        try:
            sequencer = await recover(pool, settings.day_end_utc_s, report=report)
        except RecoveryError:
            log.critical("recovery failed: the durable state is inconsistent; refusing to serve")
            raise
        app[RECOVERED] = report
        log.info("recovered the venue at seq %d (%s, then %d journal commands)", sequencer.seq,
                 "from the snapshot at seq %d" % report["snapshot"] if report["snapshot"]
                 else "from the start", report["replayed"], extra={"seq": sequencer.seq})
        async with pool.acquire() as conn:
            chain_head = await audit.chain_head(conn)  # nothing writes the journal yet
        metrics = app[METRICS]
        batcher = Batcher(pool, on_fatal=on_fatal or _exit_on_fatal, metrics=metrics,
                          chain_head=chain_head, cut=sequencer.depth_changes)
        metrics.watch_journal(batcher)
        app[MARKETDATA] = MarketData(sequencer)   # the recovered state is all committed
        batcher.on_commit(app[MARKETDATA].on_commit)
        batcher.start()
        venue = Venue(sequencer, batcher, durability=settings.durability,
                      max_backlog=settings.max_backlog, metrics=metrics)
        app[BATCHER] = batcher
        app[VENUE] = venue
        snapshotter = Snapshotter(sequencer, batcher, pool, settings,
                                  report["snapshot"] or 0)
        try:
            creds = await bootstrap_demo(app)
            if creds is not None:
                app[DEMO_CREDENTIALS] = creds
            await apply_risk_defaults(venue, settings)
            tune_gc()
            snapshotter.start()
            yield
        finally:
            await snapshotter.stop()
            await batcher.stop()
            if batcher.error is None:
                await snapshotter.final()
    return venue_ctx


class Snapshotter:
    """Takes a snapshot (exchange.store.snapshots) every ``snapshot_every`` commands and
    one at shutdown, one at a time, so that a restart replays only the journal's tail."""

    CHECK_S = 1.0   # how often the count is looked at (cheap)

    def __init__(self, sequencer, batcher, pool, settings: Settings, last_seq: int):
        self.sequencer, self.batcher, self.pool = sequencer, batcher, pool
        self.every = settings.snapshot_every
        self.data_dir = settings.data_dir
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


async def _feed(app: web.Application):
    """The WebSocket fan-out, the public streams and the user data streams (with their
    listen keys), fed after each commit."""
    settings = app[CONFIG]
    hub = feed.Hub(flush_s=settings.ws_flush_ms / 1000, max_buffer=settings.ws_max_buffer_bytes,
                   metrics=app[METRICS])
    public = feed.PublicFeed(hub, app[MARKETDATA], app[VENUE].sequencer, app[POOL])
    app[BATCHER].on_commit(public.on_commit)   # after MarketData's listener
    user = feed.UserFeed(hub, app[VENUE].sequencer)
    app[BATCHER].on_commit(user.on_commit)
    app[feed.HUB] = hub
    app[feed.PUBLIC_FEED] = public
    app[feed.USER_FEED] = user
    public.start()
    user.start()
    try:
        yield
    finally:
        await user.stop()
        await public.stop()
        hub.close()


async def _notifier(app: web.Application):
    """Notifications and price alerts, from committed events (after the feed's hub exists)."""
    notifier = Notifier(app[POOL], app[VENUE].sequencer, app[feed.HUB],
                        coalesce_s=app[CONFIG].notify_coalesce_ms / 1000)
    app[BATCHER].on_commit(after_the_feed(notifier.on_commit))
    await notifier.start()
    app[NOTIFIER] = notifier
    try:
        yield
    finally:
        await notifier.stop()


async def _surveillance(app: web.Application):
    """Market surveillance alerts, from committed events (after MarketData's listener, so
    the committed depth it reads includes the batch)."""
    surveillance = Surveillance(app[POOL], app[VENUE].sequencer, app[MARKETDATA], app[CONFIG])
    app[BATCHER].on_commit(after_the_feed(surveillance.on_commit))
    await surveillance.start()
    app[SURVEILLANCE] = surveillance
    try:
        yield
    finally:
        await surveillance.stop()


def after_the_feed(listener):
    """A commit listener run as a callback of its own, after the commit's other listeners,
    so the streams' flush (a timer) may run first: notifications and surveillance are
    not what a trader waits for, and a batch's worth of them takes milliseconds."""
    def deferred(batch):
        asyncio.get_running_loop().call_soon(listener, batch)
    return deferred


async def _expiry_clock(app: web.Application):
    task = asyncio.get_running_loop().create_task(run_expiry_clock(app[VENUE]),
                                                  name="expiry-clock")
    app[EXPIRY_CLOCK] = task
    try:
        yield
    finally:
        await tasks.stop(task)


GC_THRESHOLDS = (50_000, 50, 100)


def tune_gc() -> None:
    """Keep the cyclic garbage collector off the latency path.

    Everything alive once the venue is up (the recovered books and orders) is
    moved out of the collector's view (``gc.freeze``), and the young
    generation is collected every 50,000 allocations instead of 700: with the
    defaults a busy venue ran ~90 gen-0 collections a second and a full
    collection of the whole heap about every second (pauses of 100+ ms, 12% of
    the CPU; bench/feed.py). Nothing here relies on cycles being freed
    promptly: engine records hold no cycles that outlive a command.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def apply_risk_defaults(venue: Venue, settings: Settings) -> None:
    """Journal the [risk] settings as SetRiskDefaults when they differ from the
    venue's (recovery replays the journal, so the defaults in force are a command)."""
    seq = venue.sequencer
    values = tuple(getattr(settings, name) for name in LIMIT_FIELDS)
    if values == seq.risk_defaults.values() and settings.halt_s * 10**9 == seq.halt_ns:
        return
    events = await venue.submit(SetRiskDefaults(0, *values, halt_s=settings.halt_s))
    if any(type(ev) is CommandRejected for ev in events):
        raise RuntimeError(f"the [risk] settings were refused: {events}")
    log.info("risk defaults set from the settings", extra={"seq": seq.seq})


async def run_expiry_clock(venue: Venue, tick_s: float = EXPIRY_TICK_S) -> None:
    """Submit ``ExpireOrders`` whenever the earliest expiry is due; never returns.

    Sleeps until the earliest expiry, at most ``tick_s`` at a time (orders
    placed meanwhile may be due sooner), so an order expires within about
    ``tick_s`` of its time even when no other command arrives. Any command
    expires what is due before it anyway; this clock covers a quiet venue. Entries
    of orders that closed otherwise stay until they are due, so a tick may expire
    nothing; the tick still pops them.
    """
    while True:
        due = venue.sequencer.due_ns
        now = venue.now()
        if due is not None and due <= now:
            try:
                await venue.submit(ExpireOrders(0))
            except Exception:  # the journal failed: on_fatal reports and stops the server
                log.exception("expiry tick failed")
                await asyncio.sleep(tick_s)
            continue
        delay = tick_s if due is None else min(tick_s, (due - now) / 1e9)
        await asyncio.sleep(delay)


def _exit_on_fatal(error):
    """The journal failed: memory is ahead of the database. Stop; recovery restarts clean."""
    log.critical("journal failed (%r): shutting down", error)
    os.kill(os.getpid(), signal.SIGTERM)


async def create_account(app: web.Application, name: str, funds: dict | None = None,
                         permissions=("read", "trade")) -> dict:
    """Create an account with an API key and fund it by Deposit commands.

    ``funds`` maps asset -> amount as a decimal string. Returns
    ``{"account_id", "api_key", "api_secret"}``.
    """
    api_key, secret = secrets.token_hex(32), secrets.token_hex(32)
    account_id = await accounts.create_account(app[POOL], name, api_key, secret, permissions)
    for asset, amount in (funds or {}).items():
        await deposit(app, account_id, asset, amount)
    return {"account_id": account_id, "api_key": api_key, "api_secret": secret}


async def deposit(app: web.Application, account_id: int, asset: str, amount: str) -> None:
    """Credit ``amount`` (a decimal string) of ``asset`` to an account, by a Deposit command."""
    decimals = app[VENUE].sequencer.assets[asset]
    units = to_units(amount, minor_unit(decimals), "amount", Reason.INVALID_AMOUNT)
    events = await app[VENUE].submit(Deposit(0, account_id, asset, units, "bootstrap"))
    if any(type(e) is CommandRejected for e in events):
        raise RuntimeError(f"deposit of {amount} {asset} refused: {events}")


async def bootstrap_demo(app: web.Application) -> dict | None:
    """On a new venue: list the demo instruments and create a funded demo account.

    Idempotent: lists only what is missing, and creates the account (with its
    API key, printed and written to ``<data_dir>/demo-credentials.json``)
    only if there is none. Returns the credentials when it created them.
    """
    settings = app[CONFIG]
    venue = app[VENUE]
    instruments = [dataclasses.replace(i, default_stp=settings.default_stp)
                   for i in demo_instruments()]
    if venue.sequencer.seq == 0:
        for inst in instruments:
            await venue.submit(ListInstrument(0, inst))
    if await accounts.name_taken(app[POOL], DEMO_ACCOUNT):
        return None
    funds = {}
    for inst in instruments:
        if inst.symbol in venue.sequencer.markets:
            funds[inst.quote] = DEMO_CASH
            funds[inst.base] = str(DEMO_SHARES * inst.step_size)
    creds = await create_account(app, DEMO_ACCOUNT, funds)
    creds = {"api_key": creds["api_key"], "api_secret": creds["api_secret"]}
    path = pathlib.Path(settings.data_dir) / "demo-credentials.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps(creds, option=orjson.OPT_INDENT_2))
    print(f"demo account created (funded with {DEMO_CASH} of each quote asset and "
          f"{DEMO_SHARES} shares of each instrument)\n"
          f"  api key:    {creds['api_key']}\n  api secret: {creds['api_secret']}\n"
          f"  written to {path}", flush=True)
    return creds


def serve(settings: Settings) -> None:
    """Run the server until SIGINT/SIGTERM, on uvloop."""
    import uvloop
    configure_logging(settings.log_level, settings.log_format)
    from .web.build import BuildError, ensure_built
    try:
        ensure_built()   # the trading page, when dist/ is missing or older than its sources
    except BuildError as e:
        raise SystemExit(f"exchange: {e}") from None
    app = create_app(settings)
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    web.run_app(app, host=settings.host, port=settings.port, loop=loop,
                print=lambda msg: print(msg, flush=True), access_log=None)


async def set_account_role(settings: Settings, who: str, role: str) -> tuple[int, str]:
    """Migrate the configured database, then give account ``who`` (id or email) ``role``."""
    from .platform.roles import set_role
    db = await open_database(settings.database_url or None, pathlib.Path(settings.data_dir))
    try:
        await migrate(db.pool)
        return await set_role(db.pool, who, role)
    finally:
        await db.close()


async def migrate_only(settings: Settings) -> list[str]:
    """Apply the migrations to the configured database and return their names."""
    db = await open_database(settings.database_url or None, pathlib.Path(settings.data_dir))
    try:
        applied = await migrate(db.pool)
        await audit.seal_legacy(db.pool)
        return applied
    finally:
        await db.close()
