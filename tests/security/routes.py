"""Every URL pattern of the project, read from the resolver, with its path parameters filled.

A parameter is filled from the literal segment before it (`dataflows/<int:pk>/` takes a
dataflow id), so a new pattern is covered without editing the tests; one whose parameter the
table below does not know makes the tests fail until it is added.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from core.crypto import EncryptedSecretField

PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
# (literal segment before the parameter, parameter name) -> kind of seeded object.
PARAM_KINDS = {
    ("jobs", "pk"): "job",
    ("jobs", "job_pk"): "job",
    ("wizard", "pk"): "draft",
    ("mapping", "resource"): "resource",
    ("accounts", "pk"): "account",
    ("dataflows", "pk"): "dataflow",
    ("runs", "pk"): "run",
    ("operations", "pk"): "operation",
    ("sandboxes", "pk"): "sandbox",
    ("rules", "pk"): "rule",
    ("tokens", "pk"): "api_token",
}
ADMIN_PREFIX = "admin/"


@dataclass(frozen=True)
class Route:
    template: str  # e.g. "ops/dataflows/<int:pk>/"
    name: str  # e.g. "operations:dataflow-detail"

    @property
    def params(self) -> list[tuple[str, str]]:
        """(kind of object, parameter name) of each parameter, in order."""
        found = []
        for match in PARAM.finditer(self.template):
            before = self.template[: match.start()].rstrip("/").rsplit("/", 1)[-1]
            kind = PARAM_KINDS.get((before, match["name"]))
            if kind is None:
                raise LookupError(
                    f"{self.template}: no seeded object for <{match['name']}> after '{before}/'"
                )
            found.append((kind, match["name"]))
        return found

    def paths(self, ids: dict[str, list]) -> list[str]:
        """The route with every combination of seeded ids, as absolute paths."""
        params = self.params
        choices = [ids[kind] for kind, _name in params]
        paths = []
        for combination in itertools.product(*choices):
            values = iter(combination)
            path = PARAM.sub(lambda _m, v=values: str(next(v)), self.template)
            paths.append("/" + path)
        return paths


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace) if part)
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else str(pattern.name)
            yield Route(prefix + str(pattern.pattern), name)


def project_routes() -> list[Route]:
    """Every route outside the Django admin (whose own pages are covered separately)."""
    return [
        r for r in _walk(get_resolver().url_patterns) if not r.template.startswith(ADMIN_PREFIX)
    ]


def project_paths(ids: dict[str, list]) -> list[tuple[Route, str]]:
    return [(route, path) for route in project_routes() for path in route.paths(ids)]


def secret_admin_change_paths() -> list[str]:
    """Admin change pages of every registered model that holds an encrypted secret."""
    paths = []
    for model in admin.site._registry:
        if not any(isinstance(f, EncryptedSecretField) for f in model._meta.concrete_fields):
            continue
        meta = model._meta
        for pk in model.objects.values_list("pk", flat=True):
            paths.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[pk]))
    return paths


def server_failed(path: str, status: int) -> bool:
    """A 5xx is a failure, except /healthz/background's 503: that is its answer when no worker
    or beat is alive. (/healthz and /healthz/ready need only the database and Redis.)"""
    return status >= 500 and not (path.rstrip("/") == "/healthz/background" and status == 503)
