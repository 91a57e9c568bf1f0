"""Where the platform is documented to behave in more than one way, the emulator does the way a
careless client would not expect, by default.

Each behaviour is named here with the Adobe document it comes from (README.md, "Deviations and
variance"). A test may turn one off for itself through ``POST /__emulator__/variance``
(``{"<name>": false}``); ``POST /__emulator__/reset`` turns every one back on, and
``--without-variance NAME`` starts the process with one off.
"""

from __future__ import annotations

import threading

# A run that ends writes `lastRunDetails` into its flow, which moves the flow's etag and
# `updatedAt` although nobody edited it (flow-service API: "lastRunDetails";
# sources/tutorials/api/update-dataflows.md: every update moves the etag).
RUN_END_TOUCHES_FLOW = "runEndTouchesFlow"
# Flow Service's error table lists "resource not found" as `1439-400` as well as `1101-404`
# (sources/errors/flow-service-errors.md): deleting, patching or acting on a flow, source or
# target connection that does not exist answers 400 with code 1439; reading one answers 404
# (`FLOW-1439-404` for a flow, `FLOW-1101-404` for other kinds).
NOT_FOUND_AS_400 = "notFoundAs400"
# Error-diagnostics rows carry the source record inside a root field (`{"data": {...}}`), as
# a REST source's records are read (ingestion/batch-ingestion/partial.md, "_corrupt_record").
WRAPPED_CORRUPT_RECORD = "wrappedCorruptRecord"
# `DELETE /mappingSets/{id}` is not in Data Prep's public OpenAPI spec, and
# data-prep/api/mapping-set.md shows no request or answer for it: the emulator refuses it
# (405), as a sandbox without it would.
MAPPING_SET_DELETE_REFUSED = "mappingSetDeleteRefused"
# Runs listed by GET /runs report their status in the Flow Service spec's spelling
# (`IN_PROGRESS`, `PARTIAL_SUCCESS`) for some runs and in camelCase for others, as Adobe's
# documents do (README "Deviations and variance").
RUN_STATUS_SPELLINGS = "runStatusSpellings"

ALL = (
    RUN_END_TOUCHES_FLOW,
    NOT_FOUND_AS_400,
    WRAPPED_CORRUPT_RECORD,
    MAPPING_SET_DELETE_REFUSED,
    RUN_STATUS_SPELLINGS,
)


class Variance:
    """Which behaviours are on; all of them unless a test or the command line says otherwise."""

    def __init__(self, disabled: tuple[str, ...] = ()) -> None:
        unknown = set(disabled) - set(ALL)
        if unknown:
            raise ValueError(f"unknown variance: {', '.join(sorted(unknown))}")
        self._initial = frozenset(disabled)
        self._off = set(disabled)
        self._lock = threading.Lock()

    def on(self, name: str) -> bool:
        with self._lock:
            return name not in self._off

    def set(self, name: str, enabled: bool) -> None:
        if name not in ALL:
            raise ValueError(f"unknown variance {name!r}; known: {', '.join(ALL)}")
        with self._lock:
            if enabled:
                self._off.discard(name)
            else:
                self._off.add(name)

    def reset(self) -> None:
        with self._lock:
            self._off = set(self._initial)

    def public(self) -> dict[str, bool]:
        with self._lock:
            return {name: name not in self._off for name in ALL}
