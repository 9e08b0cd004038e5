"""Screenshot a confops page as a logged-in user, in Debian's Chromium driven by Playwright.

    .venv/bin/python scripts/screenshot.py --password PW [--url URL] [--out docs/screenshot.png]

Used for the README's screenshot while `make demo` runs. Never downloads a browser: it uses the
binary `which chromium` finds (apt-get install chromium).
"""

from __future__ import annotations

import argparse
import shutil
from urllib.parse import urljoin

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000/")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--out", default="docs/screenshot.png")
    parser.add_argument("--wait-ms", type=int, default=1000)
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium not found: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(urljoin(args.url, "/accounts/login/"))
        page.fill("#id_username", args.user)
        page.fill("#id_password", args.password)
        page.click("button[type=submit]")
        page.goto(args.url)
        page.wait_for_timeout(args.wait_ms)
        page.screenshot(path=args.out, full_page=True)
        browser.close()
    print(args.out)


if __name__ == "__main__":
    main()
