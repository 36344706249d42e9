"""A real PostgreSQL for the store and API tests, never a mock: one server per session.

The server is EXCHANGE_TEST_DATABASE_URL when set (its database is used only
as the admin connection), else ONE embedded pgserver for the whole session,
in a temp dir, started the first time a test asks for a database (unit tests
never start it). Each test gets a fresh database of its own, created from the
admin connection and dropped afterwards.
"""

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from exchange.store.db import start_embedded


@pytest.fixture(scope="session")
def admin_dsn(tmp_path_factory):
    """The admin DSN of the session's PostgreSQL."""
    url = os.environ.get("EXCHANGE_TEST_DATABASE_URL")
    if url:
        yield url
        return
    server = start_embedded(tmp_path_factory.mktemp("pgserver") / "pg")
    yield server.get_uri("postgres")
    server.cleanup()


def with_database(dsn: str, name: str) -> str:
    """Return ``dsn`` pointing at database ``name`` (host, socket and options kept)."""
    return urlunsplit(urlsplit(dsn)._replace(path="/" + name))


@pytest.fixture
async def fresh_dsn(admin_dsn):
    """A DSN of a new, empty database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_database(admin_dsn, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
