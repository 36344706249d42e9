"""mypy --strict passes on the engine (pyproject.toml's [tool.mypy]: exchange.engine strict)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_engine_type_checks_strictly():
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "exchange/engine"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout


def test_the_engine_is_configured_strict():
    import tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert {"module": "exchange.engine.*", "strict": True} in config["overrides"]
