"""A 403 names the permission most likely missing and every permission the product needs."""

from __future__ import annotations

import pytest

from aep.errors import PermissionDeniedError
from core.explain import explain_aep_error, explain_failure, permissions

EVERY = (
    "View Sources",
    "Manage Sources",
    "Manage Schemas",
    "Manage Datasets",
    "View Datasets",
    "View Identity Namespaces",
    "Manage Identity Namespaces",
)


def test_the_product_needs_seven_permissions_each_with_what_fails_without_it():
    listed = permissions()
    assert tuple(p.name for p in listed) == EVERY
    assert all(len(p.without_it) > 40 for p in listed)
    assert "rejected records" in dict(listed)["View Datasets"]
    assert "identity descriptors" in dict(listed)["Manage Schemas"]


@pytest.mark.parametrize(
    ("code", "likely"),
    [
        ("FLOW-2120-403", "View Sources / Manage Sources"),
        ("XDM-1000-403", "Manage Schemas"),
        ("CAT-2120-403", "Manage Datasets / View Datasets"),
        ("MAPPER-2120-403", "Manage Sources"),
    ],
)
def test_a_403_names_the_likely_permission_of_the_service(code, likely):
    message = explain_aep_error(PermissionDeniedError("Forbidden", 403, "req-1", code))
    assert f"the {likely} permission" in message
    for name in EVERY:
        assert name in message


def test_a_403_of_an_unknown_service_lists_every_permission():
    explanation = explain_failure(PermissionDeniedError("Forbidden", 403, "req-2", "403025"))
    assert "every permission Stripe Sources needs" in explanation.message
    for name in EVERY:
        assert name in explanation.message
    assert explanation.request_id == "req-2"


def test_the_readme_lists_the_same_permissions():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Before you connect a real sandbox", 1)[1].split("\n## ", 1)[0]
    for permission in permissions():
        assert f"| *{permission.name}* | {permission.without_it.rstrip('.')} |" in section
    assert "aep_readiness --sandbox" in section
