"""The store tests' database: a migrated pool on the fresh database of ``tests/conftest.py``
(EXCHANGE_TEST_DATABASE_URL, else the session's one embedded pgserver)."""

import pytest

from exchange.store.db import open_database
from exchange.store.migrate import migrate


@pytest.fixture
async def db(fresh_dsn, tmp_path):
    """An open, migrated Database on a fresh database."""
    database = await open_database(fresh_dsn, tmp_path)
    await migrate(database.pool)
    yield database
    await database.close()


@pytest.fixture
def pool(db):
    return db.pool
