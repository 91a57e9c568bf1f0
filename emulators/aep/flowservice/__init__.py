"""Flow Service: connections, specs, source/target connections, flows and runs."""

from emulators.aep.flowservice import connections, flows, runs, source_target  # noqa: F401
from emulators.aep.flowservice.blueprint import BASE_PATH, blueprint

__all__ = ["BASE_PATH", "blueprint"]
