"""The sealed columns (``api_keys.secret``, ``users.totp_secret``): seal what is still
plaintext, and re-seal everything under a new key (``exchange secrets rotate``)."""

from ..sealing import SealingError, SecretBox, is_sealed

# (table, key column, secret column)
SEALED_COLUMNS = (("api_keys", "api_key", "secret"), ("users", "account_id", "totp_secret"))


async def reseal(conn, box: SecretBox, *, plaintext_only: bool) -> dict[str, int]:
    """Seal every plaintext secret (and, unless ``plaintext_only``, re-seal every sealed one
    under the box's first key) in one transaction; return the rows changed per table."""
    changed = {}
    async with conn.transaction():
        for table, key, column in SEALED_COLUMNS:
            rows = await conn.fetch(f"SELECT {key} AS k, {column} AS v FROM {table} "
                                    f"WHERE {column} IS NOT NULL FOR UPDATE")
            updates = [(r["k"], box.reseal(r["v"])) for r in rows
                       if not (plaintext_only and is_sealed(r["v"]))]
            if updates:
                await conn.executemany(f"UPDATE {table} SET {column} = $2 WHERE {key} = $1",
                                       updates)
            changed[table] = len(updates)
    return changed


async def unsealed_count(conn) -> int:
    """Rows whose secret is not sealed (0 once the start-up sealing has run)."""
    total = 0
    for table, _, column in SEALED_COLUMNS:
        total += await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL "
                                     f"AND {column} NOT LIKE 'sealed:v1:%'")
    return total


async def unopenable(conn, box: SecretBox) -> dict[str, int]:
    """Rows per table whose sealed secret no key of ``box`` opens (a key is missing)."""
    bad = {}
    for table, _, column in SEALED_COLUMNS:
        rows = await conn.fetch(f"SELECT {column} AS v FROM {table} WHERE {column} IS NOT NULL")
        count = 0
        for r in rows:
            try:
                box.open(r["v"])
            except SealingError:
                count += 1
        if count:
            bad[table] = count
    return bad
