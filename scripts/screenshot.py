"""Screenshot a confops page as a logged-in user, in Debian's Chromium driven by Playwright.

    .venv/bin/python scripts/screenshot.py --demo [--out docs/screenshot.png]
    .venv/bin/python scripts/screenshot.py --password PW [--url URL] [--out docs/screenshot.png]

``--demo`` takes the README's screenshot as a new user of the demo sees it after a fault: it
starts ``scripts/demo.sh`` on a fresh data folder and ports of its own, breaks the example
pipeline's ``elra_conferences`` with ConfRadar's fault switch (``confradar.faults``), waits until
the status page shows that source critical, shoots it at desktop width and stops the demo.
Without ``--demo`` it shoots a portal already running (``make demo``). Never downloads a browser:
it uses the binary `which chromium` finds (apt-get install chromium).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

from playwright.sync_api import ViewportSize, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = ViewportSize(width=1280, height=720)
FAULTY_SOURCE = "elra_conferences"
# A failing crawl is shown as soon as the worker has polled its run: the first crawl starts at
# once, and the demo schedule runs every two minutes after it.
FAULT_SHOWN = f"li.cell[data-state=critical] a.cell-name:text-is('{FAULTY_SOURCE}')"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demo", action="store_true", help="start the demo and break it first")
    parser.add_argument("--url", default="http://127.0.0.1:8000/")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="")
    parser.add_argument("--out", default="docs/screenshot.png")
    parser.add_argument("--wait-ms", type=int, default=1000)
    parser.add_argument("--timeout-s", type=int, default=420, help="--demo: wait for the fault")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium not found: apt-get install chromium")
    if args.demo:
        with running_demo() as (url, password):
            shoot(chromium, url, args.user, password, args.out, args.timeout_s)
    elif not args.password:
        raise SystemExit("--password is needed without --demo")
    else:
        shoot(chromium, args.url, args.user, args.password, args.out, 0, args.wait_ms)
    print(args.out)


@contextmanager
def running_demo() -> Iterator[tuple[str, str]]:
    """``scripts/demo.sh`` on a fresh data folder, ports of its own, with the fault switched on
    once the portal answers; stopped (its whole process group) on the way out."""
    data = Path(tempfile.mkdtemp(prefix="confops-shot-"))
    bind = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "CONFOPS_DATA_DIR": str(data),
        "CONFOPS_BIND": bind,
        "DAGSTER_WEBSERVER_PORT": str(free_port()),
        "VENV": sys.prefix,
    }
    log = (data / "demo.log").open("wb")
    demo = subprocess.Popen(
        ["bash", "scripts/demo.sh"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        url = f"http://{bind}/"
        wait_until_up(url, demo, data / "demo.log")
        switch_fault_on(data / "dagster" / "confradar_faults.json")
        yield url, (data / "demo_admin_password").read_text().strip()
    finally:
        demo.send_signal(signal.SIGINT)  # Ctrl-C: demo.sh exec'd the runner, which stops the rest
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(data, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, demo: subprocess.Popen[bytes], log: Path, limit_s: int = 180) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if demo.poll() is not None:
            raise SystemExit(f"the demo stopped:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(urljoin(url, "/health"), timeout=2):  # noqa: S310 - ours
                return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"the demo did not answer within {limit_s} s:\n{log.read_text()[-3000:]}")


def switch_fault_on(faults_file: Path) -> None:
    """What the demo's banner tells a new user to run to cause an incident."""
    env = {
        **os.environ,
        "CONFRADAR_FAULTS_FILE": str(faults_file),
        "PYTHONPATH": str(ROOT / "examples" / "confradar"),
    }
    command = [sys.executable, "-m", "confradar.faults", "set", FAULTY_SOURCE, "--fail"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)


def shoot(
    chromium: str, url: str, user: str, password: str, out: str, fault_s: int, wait_ms: int = 1000
) -> None:
    """Log in, open the status page, wait for the fault (``fault_s`` > 0) and take the picture."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=DESKTOP)
        page.goto(urljoin(url, "/accounts/login/"))
        page.fill("#id_username", user)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.goto(url)
        if fault_s:
            # The page refreshes itself (htmx): the cell turns critical without a reload.
            page.locator(FAULT_SHOWN).wait_for(timeout=fault_s * 1000)
            page.goto(url)  # then as a user opening it now sees it (no minutes-old page state)
        page.wait_for_timeout(wait_ms)
        page.screenshot(path=out, full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
