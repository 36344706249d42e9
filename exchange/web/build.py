"""Build the trading page with npm when ``dist/`` is missing or older than its sources.

``exchange serve`` calls ``ensure_built()`` before it starts, so the README's
run command needs only Python and Node.js (with npm). ``npm install`` installs
the locked dependencies when ``node_modules`` is missing or older than
``package-lock.json`` (not ``npm ci``: npm 11 refuses a lock that, like ours,
records only this platform's optional packages, such as Rollup's native one;
``npm install`` installs the same locked versions and leaves the lock as it is); ``npm run build`` type-checks and bundles. Builds
are serialised by a lock file, so two servers (or test sessions) starting
at once build once.
"""

import fcntl
import logging
import pathlib
import shutil
import subprocess

log = logging.getLogger("exchange.web")

WEB_DIR = pathlib.Path(__file__).resolve().parent
DIST = WEB_DIR / "dist"
INDEX = DIST / "index.html"
SOURCES = ("package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "index.html", "src")


class BuildError(RuntimeError):
    """The page cannot be built (no npm, or npm failed); the message says what to do."""


def _newest_source_mtime() -> float:
    newest = 0.0
    for name in SOURCES:
        path = WEB_DIR / name
        files = path.rglob("*") if path.is_dir() else [path]
        for f in files:
            if f.is_file():
                newest = max(newest, f.stat().st_mtime)
    return newest


def is_stale() -> bool:
    """Whether ``dist/index.html`` is missing or older than any source file."""
    return not INDEX.exists() or INDEX.stat().st_mtime < _newest_source_mtime()


def _run(npm: str, *args: str) -> None:
    log.warning("building the trading page: npm %s (in %s)", " ".join(args), WEB_DIR)
    done = subprocess.run([npm, *args], cwd=WEB_DIR, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise BuildError(f"`npm {' '.join(args)}` in {WEB_DIR} failed (exit {done.returncode}):\n"
                         f"{done.stdout[-4000:]}")


def ensure_built() -> None:
    """Build ``dist/`` if it is missing or stale; raise ``BuildError`` if that is impossible.

    A stale build is kept (with a warning) when npm is not installed.
    """
    if not is_stale():
        return
    with open(WEB_DIR / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # another process may be building: wait for it
        if not is_stale():
            return
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            if INDEX.exists():
                log.warning("web page: sources changed but npm is not installed; "
                            "serving the previous build")
                return
            raise BuildError("the trading page needs Node.js (20 or newer) and npm to build: "
                             "install them (https://nodejs.org, or `apt-get install nodejs npm`) "
                             "and start again")
        modules = WEB_DIR / "node_modules" / ".package-lock.json"
        if not modules.exists() or modules.stat().st_mtime < (WEB_DIR / "package-lock.json").stat().st_mtime:
            _run(npm, "install", "--no-audit", "--no-fund")
        _run(npm, "run", "build")
        INDEX.touch()   # newer than every source even if one changed while building
