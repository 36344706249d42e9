"""Databases of the tests' PostgreSQL server, made and dropped through its admin DSN."""

from urllib.parse import urlsplit, urlunsplit

import asyncpg


def with_database(dsn: str, name: str) -> str:
    """Return ``dsn`` pointing at database ``name`` (host, socket and options kept)."""
    return urlunsplit(urlsplit(dsn)._replace(path="/" + name))


async def execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
