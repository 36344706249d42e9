"""A restart after the engine's code changed starts from the snapshot, not from seq 1.

The venue's history (a snapshot, then more commands) is written here; then a copy
of the source tree whose engine differs by a byte (a comment appended to
``exchange/engine/book.py``) serves the same database in a subprocess. Its
recovery, read from its log line, must start from that snapshot and replay only
the journal after it. (With snapshots keyed to a digest of the engine's source,
this start replayed the whole journal.)
"""

import asyncio
import hashlib
import itertools
import json
import os
import pathlib
import random
import shutil
import signal
import socket
import subprocess
import sys
import time

import aiohttp

from exchange.engine import Sequencer
from exchange.store import snapshots

from tests.helpers.store_streams import journal, random_commands, setup_commands

REPO = pathlib.Path(__file__).resolve().parents[2]

# The server as `exchange serve` runs it, less the web page's npm build (which a copy
# of the tree would redo): the app, its cleanup contexts (recovery among them), uvloop.
SERVE = """
import sys, exchange, uvloop
from aiohttp import web
from exchange import settings as config
from exchange.logs import configure
from exchange.server import create_app
print("exchange from", exchange.__file__, flush=True)
settings = config.load({"data_dir": sys.argv[1], "port": int(sys.argv[2]),
                        "log_format": "json"})
configure("INFO", "json")
web.run_app(create_app(settings), host="127.0.0.1", port=settings.port,
            loop=uvloop.new_event_loop(), print=None, access_log=None)
"""


def _copy_tree(dest: pathlib.Path) -> pathlib.Path:
    """A copy of the package, its migrations and config, with one engine file changed."""
    ignore = shutil.ignore_patterns("__pycache__", "node_modules", "dist", "*.egg-info")
    shutil.copytree(REPO / "exchange", dest / "exchange", ignore=ignore)
    shutil.copytree(REPO / "migrations", dest / "migrations")
    shutil.copy2(REPO / "config.toml", dest / "config.toml")
    changed = dest / "exchange" / "engine" / "book.py"
    with changed.open("a") as f:
        f.write("\n# This comment is an upgrade: the engine's bytes are not the ones that "
                "wrote the snapshot.\n")
    return changed


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _serve_until_ready(tree, data_dir, dsn, log_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    env.update(EXCHANGE_DATABASE_URL=dsn, EXCHANGE_SNAPSHOT_EVERY="0", PYTHONPATH=str(tree))
    log = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(data_dir), str(port)],
                            cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    async with aiohttp.ClientSession() as http:
        while True:
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the server did not become ready"
            try:
                async with http.get(f"http://127.0.0.1:{port}/readyz") as resp:
                    if resp.status == 200:
                        return proc, log
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)


async def test_a_restart_after_an_engine_code_change_replays_only_the_journal_tail(
        pool, fresh_dsn, tmp_path):
    rng = random.Random(21)
    seq = Sequencer()
    batcher = await journal(pool, seq, itertools.chain(setup_commands(),
                                                        random_commands(rng, seq, 600)))
    taken = await snapshots.take(seq, batcher, pool, tmp_path / "shots", 0)
    await journal(pool, seq, random_commands(rng, seq, 150, ts=10**7))
    tail = seq.seq - taken
    assert taken > 0 and tail == 150

    tree = tmp_path / "tree"
    changed = _copy_tree(tree)
    original = REPO / "exchange" / "engine" / "book.py"
    assert hashlib.sha256(changed.read_bytes()).digest() != hashlib.sha256(
        original.read_bytes()).digest()

    log_path = tmp_path / "server.log"
    proc, log = await _serve_until_ready(tree, tmp_path / "data", fresh_dsn, log_path)
    try:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    lines = log_path.read_text().splitlines()
    assert f"exchange from {tree / 'exchange' / '__init__.py'}" in lines   # the copy ran
    records = [json.loads(line) for line in lines if line.startswith("{")]
    recovered = [r for r in records if r["msg"].startswith("recovered the venue")]
    assert len(recovered) == 1, lines
    assert (recovered[0]["snapshot_seq"], recovered[0]["replayed"]) == (taken, tail)
    assert recovered[0]["seq"] == seq.seq
