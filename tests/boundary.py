"""The repository's boundary: tests and the code they run read only files inside the clone.

Folders next to the clone (a reference `shared/`, another checkout) exist on some machines only;
a test or code path that reads them passes there and fails everywhere else. tests/conftest.py
installs a guard for the whole run that refuses to open anything inside the folders that sat
beside the clone when the run started. Folders made later (temporary files) are not refused, nor
hidden ones (caches in a home directory), nor those holding the interpreter, the temp directory,
the home directory or pytest's temporary folders.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class BoundaryGuard:
    siblings: tuple[str, ...]  # absolute paths, each ending with os.sep

    @classmethod
    def beside(cls, repo_root: Path) -> BoundaryGuard:
        parent = repo_root.parent
        if parent == Path(parent.anchor):
            return cls(())  # a clone at the filesystem root: its siblings are the system's
        keep = [p for p in parent.iterdir() if p != repo_root and refusable(p)]
        return cls(tuple(f"{p}{os.sep}" for p in keep))

    def refuses(self, path: str) -> bool:
        return any(path.startswith(sibling) for sibling in self.siblings)

    def audit_hook(self, event: str, args: tuple) -> None:
        if event != "open" or isinstance(args[0], int):
            return
        path = os.path.abspath(os.fsdecode(args[0]))
        if self.refuses(path):
            raise PermissionError(f"{path} lies outside the repository; read only files inside it")


def refusable(sibling: Path) -> bool:
    if sibling.name.startswith((".", "pytest-of-")) or not sibling.is_dir():
        return False
    needed = (sys.prefix, sys.base_prefix, tempfile.gettempdir(), str(Path.home()))
    return not any(f"{path}{os.sep}".startswith(f"{sibling}{os.sep}") for path in needed)
