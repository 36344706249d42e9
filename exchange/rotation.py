"""``exchange secrets rotate``: re-seal every secret at rest under a new key.

With the key file (``<data_dir>/secrets-key``, no ``secrets_key`` setting):
a new key is put first in the file, beside the old ones (a running server
reads the file again and opens both); every row is re-sealed under the new
key in one transaction; then the file keeps the new key and the one before
it (rows a running server sealed during the rotation used one of the two).
With the keys in the setting (``EXCHANGE_SECRETS_KEY``) the command cannot
change the server's environment: put the new key first (``NEW,OLD``),
restart, run the command (it re-seals under the first key), and drop OLD at
a later restart.
"""


from .settings import Settings
from .store import open_configured
from .store.migrate import migrate
from .store.queries import secrets as sealed_columns
from .store.sealing import KEY_FILE, SecretBox, new_key, write_key_file


async def rotate(settings: Settings) -> dict:
    """Re-seal every secret under a new key (see the module docstring); return a report:
    ``rows`` (per table), ``key_file`` (or None) and ``keys`` (how many the box now has)."""
    data_dir = settings.data_path()
    db = await open_configured(settings)
    try:
        await migrate(db.pool)
        if settings.secrets_key:
            box = SecretBox.load(settings.secrets_key, data_dir)
            async with db.pool.acquire() as conn:
                rows = await sealed_columns.reseal(conn, box, plaintext_only=False)
            return {"rows": rows, "key_file": None, "keys": len(box.keys)}
        old = SecretBox.load("", data_dir)   # creates the file on a new venue
        path = data_dir / KEY_FILE
        fresh = new_key()
        write_key_file(path, [fresh] + old.keys)
        box = SecretBox([fresh] + old.keys, path)
        async with db.pool.acquire() as conn:
            rows = await sealed_columns.reseal(conn, box, plaintext_only=False)
        keep = [fresh, old.keys[0]]
        write_key_file(path, keep)
        return {"rows": rows, "key_file": str(path), "keys": len(keep)}
    finally:
        await db.close()
