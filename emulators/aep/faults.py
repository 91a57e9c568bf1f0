"""Injected faults: make matching platform calls fail (or slow down) on request, for tests.

A fault matches on method (``*`` for any) and on the request path, as a glob
(``/data/foundation/flowservice/flows*``) or, when it starts with ``^``, a regular expression.
It fires on the next ``count`` matching calls, or on each call with probability ``rate``.
"""

from __future__ import annotations

import fnmatch
import itertools
import random
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("429", "500", "503", "delay", "412", "expired_token", "403")


class FaultSpecError(ValueError):
    pass


@dataclass
class Fault:
    id: int
    kind: str
    path: str
    method: str = "*"
    count: int | None = 1
    rate: float | None = None
    retry_after: int | None = None
    delay_seconds: float = 0.0
    hits: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def matches(self, method: str, path: str) -> bool:
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if self._pattern is not None:
            return self._pattern.search(path) is not None
        return fnmatch.fnmatchcase(path, self.path)

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.count <= 0

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_pattern")
        data["remaining"] = data.pop("count")
        return data


class FaultRegistry:
    def __init__(self, seed: int | None = None) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._random = random.Random(seed)

    def add(self, spec: dict[str, Any]) -> Fault:
        fault = _fault_from_spec(next(self._ids), spec)
        with self._lock:
            self._faults.append(fault)
        return fault

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.public() for f in self._faults]

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) < before

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault that fires for this call, with its remaining count decremented."""
        with self._lock:
            for fault in self._faults:
                if fault.exhausted or not fault.matches(method, path):
                    continue
                if fault.rate is not None and self._random.random() >= fault.rate:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                fault.hits += 1
                return fault
        return None


def _fault_from_spec(fault_id: int, spec: dict[str, Any]) -> Fault:
    kind = str(spec.get("kind", ""))
    if kind not in KINDS:
        raise FaultSpecError(f"kind must be one of {', '.join(KINDS)}")
    path = spec.get("path")
    if not isinstance(path, str) or not path:
        raise FaultSpecError("path (a glob, or a regex starting with '^') is required")
    pattern = None
    if path.startswith("^"):
        try:
            pattern = re.compile(path)
        except re.error as exc:
            raise FaultSpecError(f"path is not a valid regular expression: {exc}") from exc
    rate = spec.get("rate")
    count = spec.get("count")
    if rate is not None and not (isinstance(rate, int | float) and 0 < rate <= 1):
        raise FaultSpecError("rate must be a number in (0, 1]")
    if count is not None and (not isinstance(count, int) or count < 1):
        raise FaultSpecError("count must be a positive integer")
    if count is None and rate is None:
        count = 1
    return Fault(
        id=fault_id,
        kind=kind,
        path=path,
        method=str(spec.get("method") or "*"),
        count=count,
        rate=float(rate) if rate is not None else None,
        retry_after=_optional_int(spec, "retry_after"),
        delay_seconds=float(spec.get("delay_seconds") or 0),
        _pattern=pattern,
    )


def _optional_int(spec: dict[str, Any], key: str) -> int | None:
    value = spec.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or value < 0:
        raise FaultSpecError(f"{key} must be a non-negative integer")
    return value
