"""SQL lives in ``exchange/store/`` (DESIGN §2, STYLE "Where we depart" 2): no module
outside it calls a database connection's query methods.

The scan reads every module's syntax tree and reports each call of a method that only
a database connection or pool has (``conn.execute(...)``, ``pool.fetchrow(...)``, the
``copy_*`` family ...) by file:line. Handlers call the named functions of
``exchange/store/queries/`` instead. Opening a transaction (``conn.transaction()``) is
not SQL text and stays allowed: a handler that must run several query functions
atomically opens one and passes its connection.
"""

import ast
import pathlib

import exchange

ROOT = pathlib.Path(exchange.__file__).parent
STORE = ROOT / "store"

# asyncpg's methods that run SQL on a connection or pool. (``prepare`` is left out:
# aiohttp's WebSocketResponse has one too.)
SQL_METHODS = frozenset({
    "execute", "executemany", "fetch", "fetchrow", "fetchval", "fetchmany", "cursor",
    "copy_records_to_table", "copy_to_table", "copy_from_table", "copy_from_query"})

def sql_calls(source: str) -> list[tuple[int, str]]:
    """(line, method) of each call ``<anything>.<SQL method>(...)`` in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in SQL_METHODS):
            found.append((node.lineno, node.func.attr))
    return sorted(found)


def offenders() -> dict[str, list[str]]:
    """module path (relative to exchange/) -> ["file:line .method(", ...], outside store/."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        if STORE in path.parents:
            continue
        rel = path.relative_to(ROOT).as_posix()
        calls = sql_calls(path.read_text())
        if calls:
            out[rel] = [f"exchange/{rel}:{line} .{method}(" for line, method in calls]
    return out


def test_the_scan_finds_sql_calls_on_any_receiver():
    source = ("async def f(pool, request):\n"
              "    await pool.fetch('SELECT 1')\n"
              "    async with pool.acquire() as conn:\n"
              "        async with conn.transaction():\n"
              "            await conn.execute('SELECT 2')\n"
              "    await request.app[POOL].fetchval('SELECT 3')\n"
              "    await conn.copy_records_to_table('t', records=[])\n"
              "    await ws.prepare(request)\n")
    assert sql_calls(source) == [(2, "fetch"), (5, "execute"), (6, "fetchval"),
                                 (7, "copy_records_to_table")]


def test_no_module_outside_store_runs_sql():
    found = offenders()
    assert not found, "SQL outside exchange/store/ (move it to exchange/store/queries/):\n" + \
        "\n".join(line for calls in found.values() for line in calls)
