"""What the browser tests of the operation pages share: the sentence a finished operation
shows, and a screenshot of each page on the way when OPS_SCREENSHOT_DIR is set."""

from __future__ import annotations

import os
from pathlib import Path

DONE = "Done. Every step is recorded in the audit trail."


def shoot(page, name: str) -> None:
    folder = os.environ.get("OPS_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
