"""The repository's boundary: tests and the code they run read only files inside the clone.

tests/conftest.py installs ``refuse_reads_beside_repository`` as an audit hook for the whole run.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def refuse_reads_beside_repository(event: str, args: tuple) -> None:
    """A user clones only the repository, so nothing may read the folders beside it.

    Folders next to the clone (a reference `shared/`, another checkout) exist on some machines
    only; a test or code path that reads them passes there and fails everywhere else. Hidden
    folders (caches in a home directory), the interpreter's own prefix and the temp directory
    are not the project's business and stay readable.
    """
    if event != "open" or isinstance(args[0], int):
        return
    path = os.path.abspath(os.fsdecode(args[0]))
    if beside_repository(path):
        raise PermissionError(f"{path} lies outside the repository; read only files inside it")


def beside_repository(path: str) -> bool:
    parent = REPO_ROOT.parent
    if parent == Path(parent.anchor):
        return False  # a clone at the filesystem root: its siblings are the system's folders
    relative = Path(path).relative_to(parent) if path.startswith(f"{parent}{os.sep}") else None
    if relative is None or relative.parts[0] == REPO_ROOT.name:
        return False
    allowed = (sys.prefix, sys.base_prefix, tempfile.gettempdir())
    if any(path.startswith(f"{root}{os.sep}") for root in allowed):
        return False
    return not relative.parts[0].startswith(".")
