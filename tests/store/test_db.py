"""open_database: an embedded server with no DSN, the given server otherwise."""

from exchange.store import open_database
from exchange.store.db import describe_dsn


async def test_embedded_database_starts_persists_and_stops(tmp_path):
    db = await open_database(None, tmp_path)
    try:
        assert (tmp_path / "pg" / "PG_VERSION").exists()
        async with db.pool.acquire() as conn:
            await conn.execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)")
    finally:
        await db.close()
    again = await open_database(None, tmp_path)  # same data directory, same data
    try:
        assert await again.pool.fetchval("SELECT x FROM kept") == 42
    finally:
        await again.close()


async def test_a_dsn_is_used_as_given_and_jsonb_speaks_python(fresh_dsn, tmp_path):
    db = await open_database(fresh_dsn, tmp_path)
    try:
        assert db.dsn == fresh_dsn and not (tmp_path / "pg").exists()
        value = {"a": [1, None, "x"], "big": 2**62}
        assert await db.pool.fetchval("SELECT $1::jsonb", value) == value
        assert await db.pool.fetchval("SELECT $1::jsonb", b'{"raw": true}') == {"raw": True}
    finally:
        await db.close()


def test_the_database_line_masks_a_dsn_password():
    assert describe_dsn("postgresql://ada:s3cret@db.example:5432/venue") == \
        "postgresql://ada:***@db.example:5432/venue"
    assert describe_dsn("postgresql://postgres@127.0.0.1:5432/postgres") == \
        "postgresql://postgres@127.0.0.1:5432/postgres"
