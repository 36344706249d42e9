"""Apply the numbered SQL migrations (``migrations/NNNN_name.sql``) once each, in order.

Each file runs in its own transaction together with its row in
``schema_migrations`` (version, name, sha256 of the text), so a file is either
fully applied and recorded or not at all. A session advisory lock serialises
concurrent runners (two processes starting at once): the second waits, then
finds everything applied. A recorded migration whose file has since changed
is an error: the database no longer matches the code.
"""

import hashlib
import pathlib
import re

import asyncpg

MIGRATIONS_DIR = pathlib.Path(__file__).resolve().parents[2] / "migrations"
LOCK_KEY = 0x65786368_6d696772  # "exchmigr": one advisory lock for all runners
_NAME = re.compile(r"^(\d{4})_[A-Za-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    """The migrations on disk and those recorded in the database disagree."""


def discover(directory: pathlib.Path = MIGRATIONS_DIR) -> list[tuple[int, str, str]]:
    """Return ``(version, file name, sql)`` of every migration file, by version."""
    found = {}
    for path in sorted(pathlib.Path(directory).glob("*.sql")):
        m = _NAME.match(path.name)
        if m is None:
            raise MigrationError(f"migration file name {path.name!r} is not NNNN_name.sql")
        version = int(m.group(1))
        if version in found:
            raise MigrationError(f"two migrations numbered {version:04d}")
        found[version] = (version, path.name, path.read_text())
    return [found[v] for v in sorted(found)]


async def migrate(db, directory: pathlib.Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now.

    ``db`` is an asyncpg pool or connection. Idempotent and safe to race.
    """
    if isinstance(db, asyncpg.Connection):
        return await _migrate(db, directory)
    async with db.acquire() as conn:
        return await _migrate(conn, directory)


async def _migrate(conn, directory):
    files = discover(directory)
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                sha256     text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )""")
        done = {r["version"]: r for r in await conn.fetch(
            "SELECT version, name, sha256 FROM schema_migrations")}
        unknown = sorted(set(done) - {v for v, _, _ in files})
        if unknown:
            raise MigrationError(f"database has migrations this code does not know: {unknown}")
        applied = []
        for version, name, sql in files:
            digest = hashlib.sha256(sql.encode()).hexdigest()
            row = done.get(version)
            if row is not None:
                if row["sha256"] != digest:
                    raise MigrationError(
                        f"migration {name} changed after it was applied (recorded as "
                        f"{row['name']}, sha256 {row['sha256'][:12]}…, file now {digest[:12]}…)")
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)",
                    version, name, digest)
            applied.append(name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
