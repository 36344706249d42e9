"""Build the trading page with npm when ``dist/`` is missing or older than its sources.

``exchange serve`` calls ``ensure_built()`` before it starts, so the README's
run command needs only Python and Node.js (with npm). ``npm ci`` installs
exactly the locked dependencies when ``node_modules`` is missing or older
than ``package-lock.json``, and never writes the lock: the committed lock
records every platform's optional packages (Rollup's and esbuild's native
builds), so no platform's install has anything to add to it, and a server
start leaves the working tree as it found it. ``npm run build`` type-checks
and bundles. Builds are serialised by a lock file, so two servers (or test
sessions) starting at once build once.
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


def _newest_source_mtime(web_dir: pathlib.Path) -> float:
    newest = 0.0
    for name in SOURCES:
        path = web_dir / name
        files = path.rglob("*") if path.is_dir() else [path]
        for f in files:
            if f.is_file():
                newest = max(newest, f.stat().st_mtime)
    return newest


def is_stale(web_dir: pathlib.Path = WEB_DIR) -> bool:
    """Whether ``dist/index.html`` is missing or older than any source file."""
    index = web_dir / "dist" / "index.html"
    return not index.exists() or index.stat().st_mtime < _newest_source_mtime(web_dir)


def _run(npm: str, web_dir: pathlib.Path, *args: str) -> None:
    log.info("building the trading page: npm %s (in %s)", " ".join(args), web_dir)
    done = subprocess.run([npm, *args], cwd=web_dir, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise BuildError(f"`npm {' '.join(args)}` in {web_dir} failed (exit {done.returncode}):\n"
                         f"{done.stdout[-4000:]}")


def ensure_built(web_dir: pathlib.Path = WEB_DIR) -> None:
    """Build ``dist/`` if it is missing or stale; raise ``BuildError`` if that is impossible.

    A stale build is kept (with a warning) when npm is not installed. ``web_dir``
    is the page's source folder (a copy of it in the tests).
    """
    if not is_stale(web_dir):
        return
    index = web_dir / "dist" / "index.html"
    with open(web_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # another process may be building: wait for it
        if not is_stale(web_dir):
            return
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            if index.exists():
                log.warning("web page: sources changed but npm is not installed; "
                            "serving the previous build")
                return
            raise BuildError("the trading page needs Node.js (20 or newer) and npm to build: "
                             "install them (https://nodejs.org, or `apt-get install nodejs npm`) "
                             "and start again")
        modules = web_dir / "node_modules" / ".package-lock.json"
        if not modules.exists() or modules.stat().st_mtime < (web_dir / "package-lock.json").stat().st_mtime:
            _run(npm, web_dir, "ci", "--no-audit", "--no-fund")
        _run(npm, web_dir, "run", "build")
        index.touch()   # newer than every source even if one changed while building
