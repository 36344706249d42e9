"""The production application on a real socket, in a thread of its own, for tests that
drive it with a synchronous HTTP client (schemathesis uses requests).

``LiveServer(dsn, data_dir, **settings)`` starts ``exchange.server.create_app`` with
its own event loop on a free loopback port; ``run(coro)`` runs a coroutine on that
loop (to reach the app's pool or venue); ``stop()`` runs the cleanup contexts.
Also a fresh database copied from the session's migrated template, made and
dropped synchronously, for module-scoped servers.
"""

import asyncio
import threading
import uuid

from aiohttp import web

from exchange.server import create_app
from exchange.settings import Settings

from .databases import execute, with_database


class Database:
    """A new database copied from ``template``; ``drop()`` removes it."""

    def __init__(self, admin_dsn: str, template: str):
        self.admin_dsn, self.name = admin_dsn, f"t_{uuid.uuid4().hex[:16]}"
        asyncio.run(execute(admin_dsn, f'CREATE DATABASE "{self.name}" TEMPLATE "{template}"'))
        self.dsn = with_database(admin_dsn, self.name)

    def drop(self) -> None:
        asyncio.run(execute(self.admin_dsn, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


class LiveServer:
    """The server application listening on 127.0.0.1 in a background thread."""

    def __init__(self, dsn: str, data_dir: str, **settings):
        self.app = create_app(Settings(database_url=dsn, data_dir=data_dir, **settings),
                              on_fatal=lambda error: None)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="live-server")
        self._thread.start()
        self._runner = web.AppRunner(self.app, access_log=None)
        self.port = self.run(self._start())
        self.url = f"http://127.0.0.1:{self.port}"

    async def _start(self) -> int:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return self._runner.addresses[0][1]

    def run(self, coro, timeout: float = 60):
        """Run ``coro`` on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        try:
            self.run(self._runner.cleanup())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(30)
            self.loop.close()
