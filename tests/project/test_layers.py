"""The layer contracts of DESIGN §2, checked by tools rather than by review.

- every module imports on its own, first, in a fresh interpreter, with warnings as
  errors: an import cycle shows up as the ImportError of whichever module of the cycle
  is imported first, which a test suite that imports everything in one order hides;
- import-linter's contracts in pyproject.toml (the layers, a pure engine, one keys module);
- ruff's lint rules in pyproject.toml.
"""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent

# Run in a fresh interpreter: third-party packages are imported once, then each module
# of ours is imported in a forked child of its own (a fresh set of our modules each time).
_EACH_ALONE = r"""
import os, pathlib, sys, traceback, warnings
import aiohttp.web, asyncpg, orjson, sortedcontainers  # noqa: F401  (shared, imported once)
root = pathlib.Path(sys.argv[1])
names = sorted(".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
               for p in (root / "exchange").rglob("*.py"))
failed = []
for name in names:
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            warnings.simplefilter("error")
            __import__(name)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        failed.append(name)
print("imported alone:", len(names), "failed:", failed)
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_alone_in_a_fresh_interpreter_without_warnings():
    proc = subprocess.run([sys.executable, "-c", _EACH_ALONE, str(ROOT)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "failed: []" in proc.stdout


def test_the_import_contracts_hold():
    proc = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_ruff_finds_nothing():
    proc = subprocess.run([str(BIN / "ruff"), "check", "--no-cache", "exchange", "tests",
                           "bench"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
