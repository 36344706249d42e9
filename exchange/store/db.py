"""Connect to PostgreSQL: the configured server, or an embedded one in the data directory.

With no DSN, ``open_database`` starts (or reuses) a PostgreSQL server in
``data_dir/pg`` with pgserver, which ships the binaries in its wheel. As root,
pgserver runs the server as a system user ``pgserver`` (created with useradd
if missing, since PostgreSQL refuses to run as root), chowns the data
directory to it and widens the parent directories to o+rx so that user can
reach it; it talks over a Unix socket only, with trust authentication. After
connecting, both cases share one code path. pgserver's own log lines (every
initdb and pg_ctl run with its output) are DEBUG records, and the warning of
platformdirs that ``XDG_RUNTIME_DIR`` is unset (pgserver keeps a lock file in
the user's runtime directory, and the fallback it gets is fine) is not shown.

Every connection of the pool maps ``jsonb`` to Python values with orjson
(``bytes`` and ``str`` are taken as JSON text already serialised) and
``numeric`` to ``int`` when it has no fractional scale (``store.numeric``).
"""

import asyncio
import logging
import pathlib
import urllib.parse
import warnings

import asyncpg
import orjson

from ..logs import Demote
from . import numeric

logging.getLogger("pgserver").addFilter(Demote())


def _jsonb_encode(value) -> bytes:
    if type(value) is bytes:
        return b"\x01" + value
    if type(value) is str:
        return b"\x01" + value.encode()
    return b"\x01" + orjson.dumps(value)


def _jsonb_decode(data: bytes):
    return orjson.loads(data[1:])  # first byte: jsonb binary format version (1)


async def init_connection(conn: asyncpg.Connection) -> None:
    """Set up a new connection: jsonb through orjson, numeric as int when integral."""
    await conn.set_type_codec("jsonb", schema="pg_catalog", encoder=_jsonb_encode,
                              decoder=_jsonb_decode, format="binary")
    await conn.set_type_codec("numeric", schema="pg_catalog", encoder=numeric.encode,
                              decoder=numeric.decode, format="binary")


def start_embedded(pgdata: pathlib.Path):
    """Start (or reuse) a pgserver PostgreSQL in ``pgdata``; return the server handle.

    Blocking (runs initdb / pg_ctl): call it in a thread from async code. The
    handle's ``get_uri(database)`` gives a DSN; ``cleanup()`` stops the server
    once the last handle in any process lets go of it.
    """
    with warnings.catch_warnings():
        try:
            from platformdirs import RuntimeDirWarning
            warnings.simplefilter("ignore", RuntimeDirWarning)
        except ImportError:   # platformdirs before 4.4 has no such warning
            pass
        import pgserver  # imported lazily: only the embedded mode needs it

    pgdata = pathlib.Path(pgdata).resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    return pgserver.get_server(pgdata, cleanup_mode="stop")


class Database:
    """An open pool, and the embedded server behind it if we started one."""

    def __init__(self, dsn: str, pool: asyncpg.Pool, server=None, description: str = ""):
        self.dsn = dsn
        self.pool = pool
        self._server = server
        self.description = description or describe_dsn(dsn)

    async def close(self) -> None:
        """Close the pool, then stop the embedded server (if we started one)."""
        await self.pool.close()
        if self._server is not None:
            server, self._server = self._server, None
            await asyncio.to_thread(server.cleanup)


def describe_dsn(dsn: str) -> str:
    """The DSN without its password, for a log line."""
    parts = urllib.parse.urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


async def open_database(dsn: str | None, data_dir: pathlib.Path, *, min_size: int = 2,
                        max_size: int = 10) -> Database:
    """Open a pool on ``dsn``, or on an embedded PostgreSQL in ``data_dir/pg`` when it is None."""
    server = None
    description = ""
    if not dsn:
        pgdata = pathlib.Path(data_dir).resolve() / "pg"
        created = not (pgdata / "PG_VERSION").exists()
        server = await asyncio.to_thread(start_embedded, pgdata)
        dsn = server.get_uri("postgres")
        description = f"embedded PostgreSQL in {pgdata}" + (" (created)" if created else "")
    try:
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                         init=init_connection)
    except BaseException:
        if server is not None:
            await asyncio.to_thread(server.cleanup)
        raise
    return Database(dsn, pool, server, description)


async def open_configured(settings, *, min_size: int = 2, max_size: int = 10) -> Database:
    """Open the database ``settings`` name: ``database_url``, else the embedded one in
    ``settings.data_path()``, the data directory every command shares."""
    return await open_database(settings.database_url or None, settings.data_path(),
                               min_size=min_size, max_size=max_size)
