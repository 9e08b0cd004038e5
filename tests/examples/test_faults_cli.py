"""The README's fault commands work as printed, from the repository root, in a new shell.

A new shell has neither CONFRADAR_FAULTS_FILE nor DAGSTER_HOME: the CLI then edits the faults
file of the demo (``var/dagster`` of the repository). The example is copied into a throwaway
"repository" so that the test never touches the real ``var/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.fixtures.dagster import CONFRADAR_DIR

# The README's command, minus the interpreter (this test's own, which the demo would use).
FAIL = ["-m", "confradar.faults", "set", "elra_conferences", "--fail"]
CLEAR = ["-m", "confradar.faults", "clear"]


def new_shell_env() -> dict[str, str]:
    """What a new terminal has: no DAGSTER_HOME, no CONFRADAR_* variables."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    return {**env, "PYTHONPATH": "examples/confradar", "PYTHONDONTWRITEBYTECODE": "1"}


def a_repository(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(
        CONFRADAR_DIR / "confradar",
        root / "examples" / "confradar" / "confradar",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return root


def run(root: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=root,
        env=new_shell_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_readme_fault_command_writes_the_demos_faults_file(tmp_path: Path) -> None:
    root = a_repository(tmp_path)

    done = run(root, FAIL)

    assert done.returncode == 0, done.stderr
    written = root / "var" / "dagster" / "confradar_faults.json"
    assert json.loads(written.read_text()) == {"elra_conferences": {"fail": True}}
    assert str(written) in done.stdout


def test_clear_empties_it_again(tmp_path: Path) -> None:
    root = a_repository(tmp_path)
    run(root, FAIL)

    done = run(root, CLEAR)

    assert done.returncode == 0, done.stderr
    assert json.loads((root / "var" / "dagster" / "confradar_faults.json").read_text()) == {}


def test_the_environment_still_wins_over_the_demos_file(tmp_path: Path) -> None:
    root = a_repository(tmp_path)
    home = tmp_path / "dagster-home"
    env = {**new_shell_env(), "DAGSTER_HOME": str(home)}

    done = subprocess.run(
        [sys.executable, *FAIL], cwd=root, env=env, capture_output=True, text=True, check=False
    )

    assert done.returncode == 0, done.stderr
    assert (home / "confradar_faults.json").is_file()
    assert not (root / "var").exists()
