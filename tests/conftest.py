"""A real PostgreSQL for the store and API tests, never a mock: one server per session.

The server is EXCHANGE_TEST_DATABASE_URL when set (its database is used only
as the admin connection), else ONE embedded pgserver for the whole session,
in a temp dir of its own, started the first time a test asks for a database (unit tests
never start it). Each test gets a fresh database of its own, created from the
admin connection and dropped afterwards: ``fresh_dsn`` a copy of a template the
session migrated once (PostgreSQL copies it faster than the migrations run),
``empty_dsn`` an empty one, for the tests of the migrations themselves.
"""

import asyncio
import os
import pathlib
import shutil
import tempfile
import uuid

import asyncpg
import pytest

from exchange.store.db import start_embedded
from exchange.store.migrate import migrate

from tests.helpers.databases import execute, with_database


@pytest.fixture(scope="session")
def admin_dsn():
    """The admin DSN of the session's PostgreSQL.

    The embedded server's data directory is a temp dir of its own, not below pytest's
    ``tmp_path`` base: pytest keeps only the newest few base directories, so another
    pytest session on the machine would delete a running server's data from under it
    (and it makes the base private again, which locks pgserver's user out of it)."""
    url = os.environ.get("EXCHANGE_TEST_DATABASE_URL")
    if url:
        yield url
        return
    root = pathlib.Path(tempfile.mkdtemp(prefix="exchange-test-pg-"))
    server = start_embedded(root / "pg")
    try:
        yield server.get_uri("postgres")
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated_template(admin_dsn):
    """The name of a database with every migration applied, made once for the session;
    nothing connects to it afterwards, so it can be copied (CREATE DATABASE ... TEMPLATE)."""
    name = f"t_template_{uuid.uuid4().hex[:16]}"

    async def make():
        await execute(admin_dsn, f'CREATE DATABASE "{name}"')
        conn = await asyncpg.connect(with_database(admin_dsn, name))
        try:
            await migrate(conn)
        finally:
            await conn.close()

    asyncio.run(make())
    yield name
    asyncio.run(execute(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _database(admin_dsn, template=None):
    """Yield the DSN of a new database (a copy of ``template``, else empty); drop it after."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"'
                            + (f' TEMPLATE "{template}"' if template else ""))
        yield with_database(admin_dsn, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def fresh_dsn(admin_dsn, migrated_template):
    """A DSN of a new database with every migration applied (and nothing else), dropped
    after the test."""
    async for dsn in _database(admin_dsn, migrated_template):
        yield dsn


@pytest.fixture
async def empty_dsn(admin_dsn):
    """A DSN of a new, empty database (no migration applied), dropped after the test."""
    async for dsn in _database(admin_dsn):
        yield dsn
