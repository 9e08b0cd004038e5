"""After the demo has started once, the commands the docs and pages suggest run in a new shell.

The demo runs with DEBUG on and no SECRET_KEY; a second shell has neither, so ``manage.py``
would refuse to start without the key the demo keeps in .env. The test runs a copy of the
project, so that the real checkout's .env and var/ are never touched.
"""

from __future__ import annotations

import html
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

PROJECT = Path(__file__).resolve().parents[2]
PARTS = (
    "confops",
    "monitoring",
    "alerts",
    "reports",
    "templates",
    "static",
    "examples/confradar/runbooks",
    "examples/retailfeed/runbooks",
)


def new_shell_env(**extra: str) -> dict[str, str]:
    """What a new terminal has: none of confops's variables."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    return {**env, "PYTHONDONTWRITEBYTECODE": "1", **extra}


def manage(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "confops"
    for part in PARTS:
        shutil.copytree(PROJECT / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(PROJECT / "manage.py", root / "manage.py")
    return root


def start_the_demo(checkout: Path) -> str:
    """Run the demo's manage.py steps; returns what demo_bootstrap printed."""
    demo = new_shell_env(DEBUG="true")  # what scripts/demo.sh exports, with no key of its own
    for args in (["migrate", "--no-input", "-v", "0"], ["demo_bootstrap"]):
        started = manage(checkout, demo, *args)
        assert started.returncode == 0, started.stderr
    return started.stdout


def test_daily_report_runs_in_a_second_shell_after_the_demo(checkout: Path) -> None:
    bootstrapped = start_the_demo(checkout)

    second = manage(checkout, new_shell_env(), "daily_report")

    assert second.returncode == 0, second.stderr
    assert "SECRET_KEY" not in second.stderr
    assert (checkout / ".env").is_file()
    assert (checkout / "var" / "confops.sqlite3").is_file()
    # Both examples' runbooks, from the checkout's examples/ folder, and one deployment for both.
    assert "retailfeed-feed-failure" in bootstrapped and "confradar-scraper-failure" in bootstrapped
    assert "code locations confradar and retailfeed" in bootstrapped


@pytest.mark.django_db
def test_the_command_the_reports_page_suggests_runs_as_printed(
    checkout: Path, viewer_user_client: Client
) -> None:
    page = viewer_user_client.get("/reports/").content.decode()
    found = re.search(r"<code>([^<]*) daily_report</code>", page)
    assert found, page
    command = shlex.split(html.unescape(found.group(1)))
    interpreter = Path(command[0])
    if not interpreter.is_absolute() and len(interpreter.parts) > 1:
        # The project's own virtualenv (.venv/bin/python), at the same place in the copy.
        (checkout / interpreter.parts[0]).symlink_to(PROJECT / interpreter.parts[0])
    start_the_demo(checkout)

    done = subprocess.run(
        [*command, "daily_report"],
        cwd=checkout,
        env=new_shell_env(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert command[1:] == ["manage.py"]
    assert done.returncode == 0, done.stderr
