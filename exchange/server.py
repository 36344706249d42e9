"""The venue's server: the wiring of database, journal, venue, edges and feeds.

Long-lived resources start and stop as pairs in cleanup contexts, in this order
(and stop in the reverse one):

1. the database (embedded PostgreSQL when no DSN; migrations applied; journal rows
   written before the audit hash chain existed are sealed; API and TOTP secrets still
   in plaintext are sealed at rest, and the server refuses to start when its keys
   open no stored secret: ``exchange.store.sealing``);
2. the venue: state recovered (``exchange.store.recover``; the server refuses to
   start if the durable state is inconsistent), the write-behind batcher started,
   committed market data (``exchange.marketdata``), the snapshot schedule;
3. the WebSocket feeds, notifications and surveillance;
4. the commit listeners, registered in one place in the order they run;
5. the bootstrap (``exchange.bootstrap``: the demo venue on an empty journal, the
   ``[risk]`` settings as a command), so every listener sees its commits;
6. the expiry clock (a task that submits ``ExpireOrders`` when a DAY/GTD order is due).

Each resource is stored under its typed key in ``exchange.keys``. The probes are in
``exchange.health``.
"""

import asyncio
import gc
import logging
import os
import signal

from aiohttp import web

from . import api, feed, health, openapi, platform, tasks
from .api.state import ApiSettings
from .bootstrap import apply_risk_defaults, bootstrap_demo
from .engine import ExpireOrders
from .keys import (BATCHER, CONFIG, DATABASE, DEMO_CREDENTIALS, EXPIRY_CLOCK, HUB, MARKETDATA,
                   METRICS, NOTIFIER, POOL, PUBLIC_FEED, RECOVERED, SECRET_BOX, SURVEILLANCE,
                   USER_FEED, VENUE, WS_PING_S)
from .logs import configure as configure_logging, demoted
from .marketdata import MarketData
from .metrics import Metrics
from .platform import account_mail
from .platform.notifications import Notifier
from .platform.roles import set_role
from .platform.surveillance import Surveillance
from .settings import Settings
from .snapshotter import Snapshotter
from .store import Batcher, RecoveryError, audit, migrate, open_configured, recover
from .store.queries import secrets as sealed_columns
from .store.sealing import SealingError
from .venue import Venue
from .web import page

log = logging.getLogger("exchange.server")

EXPIRY_TICK_S = 0.2         # the expiry clock looks at least this often


def create_app(settings: Settings, *, on_fatal=None) -> web.Application:
    """Build the application; resources start when it starts (cleanup contexts)."""
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[CONFIG] = settings
    app[METRICS] = Metrics()
    api.setup(app, ApiSettings(weight_limit_1m=settings.weight_limit_1m,
                               max_body_bytes=settings.max_body_bytes))
    platform.setup(app, settings)
    app.add_routes(health.routes)
    app.add_routes(feed.routes)
    page.setup(app)      # the trading page: / and /assets/{name}
    app[WS_PING_S] = float(settings.ws_ping_s)
    openapi.setup(app)   # last: it describes every route above
    for ctx in (_database, _venue(on_fatal), _feed, _notifier, _surveillance,
                _commit_listeners, _bootstrap, _expiry_clock):
        app.cleanup_ctx.append(ctx)
    return app


async def _database(app: web.Application):
    settings = app[CONFIG]
    db = await open_configured(settings)
    log.info("database: %s", db.description)
    try:
        applied = await migrate(db.pool)
        log.info("migrations: %s", "applied " + ", ".join(applied) if applied
                 else "up to date")
        sealed = await audit.seal_legacy(db.pool)
        if sealed:
            log.info("sealed %d journal rows written before the audit chain", sealed)
        async with db.pool.acquire() as conn:
            # secrets written in plaintext (before secrets at rest, or by hand): seal them
            changed = await sealed_columns.reseal(conn, app[SECRET_BOX], plaintext_only=True)
            unopenable = await sealed_columns.unopenable(conn, app[SECRET_BOX])
        if unopenable:
            log.critical("secrets at rest sealed under a key that is not configured (%s): "
                         "set secrets_key / <data_dir>/secrets-key; refusing to serve",
                         ", ".join(f"{n} in {t}" for t, n in unopenable.items()))
            raise SealingError("secrets at rest sealed under a key that is not configured")
        if any(changed.values()):
            log.info("sealed plaintext secrets at rest: %s",
                     ", ".join(f"{n} in {t}" for t, n in changed.items() if n))
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
                 else "from the start", report["replayed"],
                 extra={"seq": sequencer.seq, "snapshot_seq": report["snapshot"],
                        "replayed": report["replayed"]})
        async with pool.acquire() as conn:
            chain_head = await audit.chain_head(conn)  # nothing writes the journal yet
        metrics = app[METRICS]
        batcher = Batcher(pool, on_fatal=on_fatal or _exit_on_fatal, metrics=metrics,
                          chain_head=chain_head, cut=sequencer.depth_changes,
                          committed_seq=sequencer.seq)
        metrics.watch_journal(batcher)
        app[MARKETDATA] = MarketData(sequencer)   # the recovered state is all committed
        batcher.start()   # nothing is submitted before the listeners are registered
        venue = Venue(sequencer, batcher, durability=settings.durability,
                      max_backlog=settings.max_backlog, metrics=metrics)
        app[BATCHER] = batcher
        app[VENUE] = venue
        snapshotter = Snapshotter(sequencer, batcher, pool, settings,
                                  report["snapshot"] or 0)
        snapshotter.start()
        try:
            yield
        finally:
            await snapshotter.stop()
            await batcher.stop()
            if batcher.error is None:
                await snapshotter.final()
    return venue_ctx


async def _commit_listeners(app: web.Application):
    """Register every commit listener, in the order they run after each commit:
    committed market data first (the public streams and surveillance read it), then
    the public and the user streams, then, each deferred to a callback of its own,
    notifications and surveillance."""
    batcher = app[BATCHER]
    for listener in (app[MARKETDATA].on_commit, app[PUBLIC_FEED].on_commit,
                     app[USER_FEED].on_commit, after_the_feed(app[NOTIFIER].on_commit),
                     after_the_feed(app[SURVEILLANCE].on_commit)):
        batcher.on_commit(listener)
    yield


async def _bootstrap(app: web.Application):
    """The demo venue on a new journal and the [risk] settings, then the GC tuned for
    the recovered heap."""
    # the bootstrap's dozen commands: a line each at DEBUG, one summary at INFO
    with demoted("exchange.venue"):
        creds = await bootstrap_demo(app)
        if creds is not None:
            app[DEMO_CREDENTIALS] = creds
        await apply_risk_defaults(app[VENUE], app[CONFIG])
    tune_gc()
    yield


async def _feed(app: web.Application):
    """The WebSocket fan-out, the public streams and the user data streams (with their
    listen keys)."""
    settings = app[CONFIG]
    hub = feed.Hub(flush_s=settings.ws_flush_ms / 1000, max_buffer=settings.ws_max_buffer_bytes,
                   metrics=app[METRICS])
    public = feed.PublicFeed(hub, app[MARKETDATA], app[VENUE].sequencer, app[POOL])
    user = feed.UserFeed(hub, app[VENUE].sequencer)
    app[HUB] = hub
    app[PUBLIC_FEED] = public
    app[USER_FEED] = user
    public.start()
    user.start()
    try:
        yield
    finally:
        await user.stop()
        await public.stop()
        hub.close()


async def _notifier(app: web.Application):
    """Notifications and price alerts, from committed events."""
    notifier = Notifier(app[POOL], app[VENUE].sequencer, app[HUB],
                        coalesce_s=app[CONFIG].notify_coalesce_ms / 1000)
    notifier.listeners.append(account_mail.notification_listener(app))   # opt-in mail
    await notifier.start()
    app[NOTIFIER] = notifier
    try:
        yield
    finally:
        await notifier.stop()


async def _surveillance(app: web.Application):
    """Market surveillance alerts, from committed events (its listener runs after
    MarketData's, so the committed depth it reads includes the batch)."""
    surveillance = Surveillance(app[POOL], app[VENUE].sequencer, app[MARKETDATA], app[CONFIG])
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
    # aiohttp calls ``print`` once, when the socket listens: our line instead of its banner
    web.run_app(app, host=settings.host, port=settings.port, loop=loop, access_log=None,
                print=lambda _banner: log.info("listening on http://%s:%d (Ctrl+C stops)",
                                               settings.host, settings.port))


async def set_account_role(settings: Settings, who: str, role: str) -> tuple[int, str]:
    """Migrate the configured database, then give account ``who`` (id or email) ``role``."""
    db = await open_configured(settings)
    try:
        await migrate(db.pool)
        return await set_role(db.pool, who, role)
    finally:
        await db.close()


async def migrate_only(settings: Settings) -> list[str]:
    """Apply the migrations to the configured database and return their names."""
    db = await open_configured(settings)
    try:
        applied = await migrate(db.pool)
        await audit.seal_legacy(db.pool)
        return applied
    finally:
        await db.close()
