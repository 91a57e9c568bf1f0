"""Screenshot pages of a running dashboard in headless chromium, logged in as a demo user.

    .venv/bin/python scripts/screenshots.py --base http://127.0.0.1:8000 --user admin \
        --out docs/screenshots / sandboxes/ sandboxes/1/

Passwords come from var/demo-users.json (written by `./dev run`).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--out", default="screenshots")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    password = json.loads((ROOT / "var" / "demo-users.json").read_text())[args.user]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": 900})
        page.goto(f"{args.base}/login/")
        page.fill("#id_username", args.user)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        for path in args.paths:
            page.goto(f"{args.base}/{path.lstrip('/')}")
            page.wait_for_load_state("networkidle")
            name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
            page.screenshot(path=out / f"{args.user}-{name}.png", full_page=True)
            print(out / f"{args.user}-{name}.png")
        browser.close()


if __name__ == "__main__":
    main()
