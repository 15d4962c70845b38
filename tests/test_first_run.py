"""A first `make run` on a fresh copy says nothing but its one setup line and the bot's own words."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def fresh_copy(target: Path) -> Path:
    """The project's tracked files as they are now, without the developer's .venv, database or node_modules."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.timeout(900)
def test_a_first_make_run_prints_only_the_setup_line_and_the_bots_words(tmp_path):
    if shutil.which("make") is None or shutil.which("python3.11") is None:
        pytest.skip("make and python3.11 are what the README asks for")
    project = fresh_copy(tmp_path / "boussole")
    # as a person on a fresh machine types it: not inside `make test` (whose make would announce directories)
    inherited = ("VIRTUAL_ENV", "PYTHON", "MAKE", "MFLAGS")
    environment = {key: value for key, value in os.environ.items() if not key.startswith(inherited)}
    run = subprocess.run(["make", "run"], cwd=project, input="nouveau\n", capture_output=True, text=True,
                         env=environment, timeout=840)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stderr == ""
    lines = run.stdout.splitlines()
    assert lines[0] == "Setting up .venv (once; a minute or two)…"
    assert lines[1].startswith("Nouvelle évaluation n°1 : ")
    assert "question 1 sur environ" in run.stdout
    assert not [line for line in lines if "warning" in line.lower() or "pip" in line.lower()]
