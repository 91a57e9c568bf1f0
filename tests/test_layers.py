"""The import rules of docs/ARCHITECTURE.md, read from the code's own import statements.

Layers, lowest first: aep → core → monitoring → onboarding, operations → api. A module imports
only from its own app or a lower layer (onboarding and operations, side by side, share code
through the layers below them; the REST API sits on top and calls operations' service code).
`aep` is a plain HTTP client and imports no Django. No view module imports another app's
views. Only the edges of a process (views, tasks, management commands, urls) import a `tasks`
module: domain code is handed the task or an enqueue function.

Imports inside functions count too: deferring an import hides a dependency, it does not remove it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import pytest

from tests.boundary import REPO_ROOT

LAYERS = {"aep": 0, "core": 1, "monitoring": 2, "onboarding": 3, "operations": 3, "api": 4}
EDGE_MODULES = ("views", "tasks", "urls", "management")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted
    names: tuple[str, ...]  # what `from target import …` takes: names, or submodules
    line: int

    def reaches(self, predicate) -> bool:
        return predicate(self.target) or any(predicate(f"{self.target}.{n}") for n in self.names)


def imports_of(module: str, source: str) -> list[Import]:
    found = []
    package = module if module.endswith("__init__") else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, (), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = resolve_relative(package, node.level, node.module)
            names = tuple(alias.name for alias in node.names)
            found.append(Import(module, target, names, node.lineno))
    return found


def resolve_relative(package: str, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    parts = package.split(".")[: len(package.split(".")) - level + 1]
    return ".".join([*parts, name] if name else parts)


def broken_rules(imp: Import) -> list[str]:
    source_app, target_app = imp.module.split(".")[0], imp.target.split(".")[0]
    where = f"{imp.module}:{imp.line} imports {imp.target}"
    problems = []
    if source_app == "aep" and target_app in ("django", "celery"):
        problems.append(f"{where}: aep is a plain HTTP client without Django")
    if source_app in LAYERS and target_app in LAYERS and source_app != target_app:
        if LAYERS[target_app] >= LAYERS[source_app]:
            problems.append(f"{where}: {source_app} may not import from {target_app}")
        if is_views(imp.module) and imp.reaches(is_views):
            problems.append(f"{where}: a view module imports another app's views")
    if source_app in LAYERS and not is_edge(imp.module) and imp.reaches(is_tasks):
        problems.append(f"{where}: domain code imports a tasks module; pass the task in")
    return problems


def is_views(module: str) -> bool:
    return "views" in module.split(".")


def is_tasks(module: str) -> bool:
    return module.split(".")[-1] == "tasks" or ".tasks." in f"{module}."


def is_edge(module: str) -> bool:
    parts = module.split(".")
    return any(part in EDGE_MODULES for part in parts)


def project_modules():
    for app in LAYERS:
        for path in sorted((REPO_ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            dotted = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
            yield dotted, path


def all_broken_rules() -> list[str]:
    problems = []
    for module, path in project_modules():
        for imp in imports_of(module, path.read_text()):
            problems += broken_rules(imp)
    return sorted(set(problems))


def test_the_code_follows_the_import_rules():
    problems = all_broken_rules()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "core.jobs",
            "from monitoring.models import Dataflow",
            "core may not import from monitoring",
        ),
        ("monitoring.sync", "from onboarding import mapping", "monitoring may not import"),
        ("onboarding.forms", "from operations.keys import check", "onboarding may not import"),
        ("aep.http", "from django.conf import settings", "without Django"),
        ("operations.views.dataflow", "from monitoring.views import x", "another app's views"),
        ("operations.service", "from .tasks import execute", "pass the task in"),
        ("monitoring.alerts", "def f():\n    from monitoring import tasks", "pass the task in"),
        (
            "core.metrics",
            "def f():\n    from monitoring.models import Alert",
            "core may not import from monitoring",
        ),
        ("monitoring.views.dataflows", "from operations.views import x", "another app's views"),
        ("operations.service", "from api.tokens import issue", "operations may not import"),
        ("api.views.actions", "from operations.views.access import launch", "another app's views"),
    ],
)
def test_each_rule_catches_a_wrong_import(module, source, expected):
    problems = [p for imp in imports_of(module, source) for p in broken_rules(imp)]
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("operations.runner", "from monitoring.models import Dataflow"),
        ("monitoring.sync", "from core.jobs import perform\nfrom aep import flowservice"),
        ("onboarding.views.account", "from onboarding import tasks"),
        ("monitoring.tasks", "from monitoring import sync"),
        ("operations.management.commands.ops", "from operations.tasks import execute"),
        ("monitoring.views.dataflows", "from monitoring.tasks import reconcile_dataflow"),
        ("monitoring.metrics", "from core.metrics import register_gauges"),
        ("api.views.actions", "from operations import service\nfrom operations.tasks import x"),
    ],
)
def test_imports_that_follow_the_rules_pass(module, source):
    assert [p for imp in imports_of(module, source) for p in broken_rules(imp)] == []


def test_the_scan_of_the_tree_reports_an_upward_import(tmp_path, monkeypatch):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "stripe.py").write_text("def f():\n    from monitoring import models\n")
    (tmp_path / "monitoring").mkdir()
    (tmp_path / "monitoring" / "drift.py").write_text("from core import mapping\n")
    monkeypatch.setitem(globals(), "REPO_ROOT", tmp_path)
    assert all_broken_rules() == [
        "core.stripe:2 imports monitoring: core may not import from monitoring"
    ]
