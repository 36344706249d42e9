"""Building the trading page leaves the working tree as git has it.

A copy of the page's tracked files (``git ls-files exchange/web``) is made a
repository of its own and built from scratch the way ``exchange serve`` builds
it (``npm ci`` and ``npm run build``, as in a fresh clone); afterwards
``git status`` there is clean: the committed lock already records every
platform's optional packages, so the install has nothing to add to it.
"""

import logging
import pathlib
import shutil
import subprocess

from exchange.web.build import ensure_built, is_stale

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def test_a_fresh_build_changes_no_tracked_file(tmp_path, caplog):
    web = tmp_path / "web"
    for name in _git(ROOT, "ls-files", "exchange/web").splitlines():
        target = web / pathlib.Path(name).relative_to("exchange/web")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    _git(web, "init", "-q")
    _git(web, "add", "-A")
    _git(web, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "page")
    lock = (web / "package-lock.json").read_bytes()
    assert is_stale(web)

    with caplog.at_level(logging.DEBUG, logger="exchange.web"):
        ensure_built(web)

    assert (web / "dist" / "index.html").is_file()
    assert (web / "node_modules" / ".package-lock.json").is_file()
    assert (web / "package-lock.json").read_bytes() == lock
    assert _git(web, "status", "--porcelain") == ""
    assert not is_stale(web)
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "exchange.web"] == [
        (logging.INFO, f"building the trading page: npm ci --no-audit --no-fund (in {web})"),
        (logging.INFO, f"building the trading page: npm run build (in {web})")]


def test_the_committed_lock_records_every_platforms_rollup_build():
    lock = (ROOT / "exchange" / "web" / "package-lock.json").read_text()
    for platform in ("linux-x64-gnu", "linux-arm64-gnu", "linux-x64-musl", "darwin-arm64",
                     "darwin-x64", "win32-x64-msvc"):
        assert f'"node_modules/@rollup/rollup-{platform}"' in lock, platform
