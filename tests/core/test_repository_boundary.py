"""The suite reads only files inside the repository (the guard lives in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.boundary import REPO_ROOT, beside_repository

BESIDE = REPO_ROOT.parent / "shared" / "contracts" / "flow-service.yaml"

needs_a_parent_folder = pytest.mark.skipif(
    REPO_ROOT.parent == REPO_ROOT.parent.parent, reason="the clone sits at the filesystem root"
)


@needs_a_parent_folder
def test_opening_a_file_beside_the_repository_is_refused():
    with pytest.raises(PermissionError, match="outside the repository"):
        BESIDE.open()


@needs_a_parent_folder
def test_the_rule_separates_inside_from_beside():
    assert beside_repository(str(BESIDE))
    assert beside_repository(str(REPO_ROOT.parent / f"{REPO_ROOT.name}-other" / "x.py"))
    assert not beside_repository(str(REPO_ROOT / "contracts" / "adobe" / "flow-service.yaml"))
    assert not beside_repository(str(REPO_ROOT.parent / ".cache" / "pip"))


def test_the_specs_the_tests_read_are_in_the_repository():
    for name in ("flow-service", "data-prep", "catalog", "schema-registry"):
        assert (REPO_ROOT / "contracts" / "adobe" / f"{name}.yaml").stat().st_size > 10_000
    assert (REPO_ROOT / "docs" / "aep-api-notes.md").read_text().startswith("#")
