"""The ``exchange`` command as a newcomer meets it, run in subprocesses.

Each test runs the installed console script in a fresh working directory with
no ``EXCHANGE_*`` variables and no ``XDG_RUNTIME_DIR``, so the commands use
their defaults: the embedded PostgreSQL in ``./data``. The page is built
first (as ``exchange serve`` would), so the server's output is its own.
The deadlines below only keep a broken start from hanging the suite.

The working directory is not pytest's ``tmp_path``: the embedded PostgreSQL
runs as another user (pgserver's, when we are root), and every pytest session
that starts on this machine makes ``/tmp/pytest-of-<user>`` private again, which
would lock that user out of a data directory below it between two commands.
"""

import os
import pathlib
import re
import signal
import socket
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from exchange.web.build import ensure_built

EXCHANGE = pathlib.Path(sys.executable).with_name("exchange")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
                      r"[\w.]+: ")


def _env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("EXCHANGE_") and k != "XDG_RUNTIME_DIR"}
    env.update(extra)
    return env


def _exchange(cwd, *args, **env):
    return subprocess.run([str(EXCHANGE), *args], cwd=cwd, env=_env(**env),
                          capture_output=True, text=True, timeout=300)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(cwd, **env):
    """Run ``exchange serve`` until it listens, stop it with SIGINT; return (stdout, stderr)."""
    port = _free_port()
    out, err = cwd / "serve.out", cwd / "serve.err"
    with out.open("w") as o, err.open("w") as e:
        proc = subprocess.Popen([str(EXCHANGE), "serve", "--port", str(port)], cwd=cwd,
                                env=_env(**env), stdout=o, stderr=e, text=True)
        try:
            deadline = time.monotonic() + 180
            while "listening on" not in err.read_text():
                assert proc.poll() is None, f"serve exited {proc.returncode}:\n{err.read_text()}"
                assert time.monotonic() < deadline, f"serve did not start:\n{err.read_text()}"
                time.sleep(0.1)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=120) == 0, err.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return port, out.read_text(), err.read_text()


@pytest.fixture(scope="module")
def page():
    ensure_built()


@pytest.fixture
def workdir():
    path = pathlib.Path(tempfile.mkdtemp(prefix="exchange-cli-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_exchange_alone_prints_its_help_and_exits_2(tmp_path):
    done = _exchange(tmp_path)
    assert done.returncode == 2
    assert done.stdout.startswith("usage: exchange")
    for command in ("serve", "migrate", "role", "audit", "demo"):
        assert re.search(rf"^\s+{command}\s", done.stdout, re.M), command
    assert done.stderr == ""


def test_start_up_is_one_line_per_phase_and_every_command_finds_the_same_data(page, workdir):
    port, out, err = _serve(workdir)

    lines = err.splitlines()
    assert all(LOG_LINE.match(line) for line in lines), err   # nothing but log lines
    assert "Warning" not in err and "pgserver" not in err and "initdb" not in err
    messages = [LOG_LINE.sub("", line) for line in lines]
    started = messages[:messages.index(f"listening on http://127.0.0.1:{port} (Ctrl+C stops)")]
    pgdata = (workdir / "data" / "pg").resolve()
    assert started[0] == f"database: embedded PostgreSQL in {pgdata} (created)"
    assert re.fullmatch(r"migrations: applied 0001_core\.sql(, \d{4}_\w+\.sql)+", started[1])
    assert started[2] == "recovered the venue at seq 0 (from the start, then 0 journal commands) seq=0"
    assert started[3] == "demo: listed AAPL, MSFT, NVDA, AMZN, TSLA"
    assert re.fullmatch(r"risk defaults set from the settings seq=(\d+)", started[4])
    assert len(started) == 5
    seq = int(started[4].rsplit("=", 1)[1])
    assert "demo account created" in out
    assert (workdir / "data" / "demo-credentials.json").is_file()

    # the other commands find serve's database by default
    migrate = _exchange(workdir, "migrate")
    assert (migrate.returncode, migrate.stdout) == (0, "applied: nothing (up to date)\n")
    verify = _exchange(workdir, "audit", "verify")
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith(f"journal intact: {seq} rows, head seq {seq}, ")
    role = _exchange(workdir, "role", "1", "operator")
    assert (role.returncode, role.stdout) == (0, "account 1: role trader -> operator\n")
    for done in (migrate, verify, role):
        assert "Warning" not in done.stderr, done.stderr

    # a restart: the same phases, from the snapshot taken at shutdown; pgserver at DEBUG
    port, out, err = _serve(workdir, EXCHANGE_LOG_LEVEL="DEBUG")
    assert "INFO pgserver" not in err and "DEBUG pgserver" in err
    info = [LOG_LINE.sub("", line) for line in err.splitlines()
            if LOG_LINE.match(line) and " INFO " in line]
    assert info[:4] == [f"database: embedded PostgreSQL in {pgdata}", "migrations: up to date",
                        f"recovered the venue at seq {seq} (from the snapshot at seq {seq}, "
                        f"then 0 journal commands) seq={seq}",
                        f"listening on http://127.0.0.1:{port} (Ctrl+C stops)"]
    assert "demo account created" not in out
