"""Start an emulator as a child process and wait until it answers.

Used by the test fixtures, the benchmarks and the dev runner, so that every caller starts the
servers the same way: ``python -m <module> --port <port> …``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """Ask the kernel for a TCP port nobody is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    url: str
    port: int
    process: subprocess.Popen
    log_path: Path | None = None
    args: list[str] = field(default_factory=list)

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""


def start_server(
    module: str,
    *args: str,
    health_path: str,
    port: int | None = None,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
    timeout: float = 30,
) -> ServerProcess:
    """Run ``python -m module --port PORT *args`` and return once ``health_path`` answers 200."""
    port = port or free_port()
    argv = [sys.executable, "-m", module, "--port", str(port), *args]
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    server = ServerProcess(f"http://127.0.0.1:{port}", port, process, log_path, argv)
    _wait_until_healthy(server, health_path, timeout)
    return server


def _wait_until_healthy(server: ServerProcess, health_path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.args} exited early:\n{server.log()}")
        try:
            if requests.get(server.url + health_path, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(
        f"{server.args} did not answer {health_path} within {timeout}s:\n{server.log()}"
    )
