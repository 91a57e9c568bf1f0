"""The package's public names, and importing it from several threads at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aep

ROOT = Path(__file__).resolve().parents[2]


def test_every_public_name_resolves():
    for name in aep.__all__:
        assert getattr(aep, name) is not None, name


def test_an_unknown_name_is_an_attribute_error():
    try:
        aep.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("aep.NoSuchThing resolved")


def test_threads_importing_different_parts_at_once_get_whole_modules():
    # A fresh interpreter, so nothing is imported yet: one thread wants the errors, another
    # the client (which imports everything), as Django's autoreloader and system checks do.
    code = """
import threading
results = []
def load(statement):
    try:
        exec(statement, {})
        results.append("ok")
    except Exception as exc:
        results.append(repr(exc))
threads = [
    threading.Thread(target=load, args=("from aep.errors import AEPError",)),
    threading.Thread(target=load, args=("from aep.flowservice import FlowServiceClient",)),
    threading.Thread(target=load, args=("from aep import AEPClient",)),
    threading.Thread(target=load, args=("from aep.client import AEPClient",)),
]
for t in threads: t.start()
for t in threads: t.join()
print(results)
assert results == ["ok"] * 4, results
"""
    for _ in range(5):
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr
