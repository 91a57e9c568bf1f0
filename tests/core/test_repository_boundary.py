"""The suite reads only files inside the repository (the guard is tests/boundary.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.boundary import REPO_ROOT, BoundaryGuard

# Opens a file with the guard of a given clone installed, as tests/conftest.py installs it.
OPEN_WITH_GUARD = """
import sys
from pathlib import Path
from tests.boundary import BoundaryGuard
sys.addaudithook(BoundaryGuard.beside(Path(sys.argv[1])).audit_hook)
open(sys.argv[2]).close()
"""


@pytest.fixture
def clone(tmp_path):
    """A clone with a reference folder, a cache and a file beside it."""
    (tmp_path / "repo" / "contracts").mkdir(parents=True)
    (tmp_path / "repo" / "contracts" / "spec.yaml").write_text("inside")
    (tmp_path / "shared" / "contracts").mkdir(parents=True)
    (tmp_path / "shared" / "contracts" / "spec.yaml").write_text("beside")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "pip").write_text("cache")
    return tmp_path / "repo"


def open_guarded(clone, path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", OPEN_WITH_GUARD, str(clone), str(path)]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)


def test_opening_a_file_beside_the_clone_is_refused(clone):
    result = open_guarded(clone, clone.parent / "shared" / "contracts" / "spec.yaml")
    assert result.returncode == 1
    assert "PermissionError" in result.stderr and "outside the repository" in result.stderr


def test_files_inside_the_clone_and_hidden_caches_stay_readable(clone):
    assert open_guarded(clone, clone / "contracts" / "spec.yaml").returncode == 0
    assert open_guarded(clone, clone.parent / ".cache" / "pip").returncode == 0


def test_folders_made_after_the_start_are_not_refused(clone):
    guard = BoundaryGuard.beside(clone)
    later = clone.parent / "made-later"
    assert guard.refuses(str(clone.parent / "shared" / "x"))
    assert not guard.refuses(str(later / "x"))
    assert not guard.refuses(str(clone / "x"))


def test_the_specs_the_tests_read_are_in_the_repository():
    for name in ("flow-service", "data-prep", "catalog", "schema-registry"):
        assert (REPO_ROOT / "contracts" / "adobe" / f"{name}.yaml").stat().st_size > 10_000
    assert (REPO_ROOT / "docs" / "aep-api-notes.md").read_text().startswith("#")
