"""The documentation site builds cleanly, and README stays a short front page."""

import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

RUN_COMMAND = "scripts/serve"
TEST_COMMAND = "scripts/test"


def test_docs_site_builds_strictly(tmp_path):
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "--site-dir", str(site)], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    for page in ("index", "architecture", "binance", "streams", "platform", "engine",
                 "web", "operations", "development", "benchmarks"):
        built = site / page / "index.html" if page != "index" else site / "index.html"
        assert built.is_file(), f"{page} was not built"


def test_readme_is_a_short_front_page():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 160


def test_readme_shows_the_two_commands_verbatim():
    readme = (ROOT / "README.md").read_text()
    assert RUN_COMMAND in readme.splitlines()
    assert TEST_COMMAND in readme.splitlines()


def test_readme_commands_are_the_scripts_ci_runs():
    for command in (RUN_COMMAND, TEST_COMMAND):
        assert os.access(ROOT / command, os.X_OK), command
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'scripts/test" "$@"' in ci


def test_readme_links_only_pages_that_exist():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert links
    for link in links:
        assert (ROOT / link).is_file(), link
