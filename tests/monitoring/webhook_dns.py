"""A stand-in for DNS in webhook tests: chosen names resolve to chosen addresses.

Names not in the table (IP literals, localhost) go to the real resolver, so a local HTTP server
is still reachable; a name mapped to no address does not resolve. The table may be changed
while the patch is active, as DNS changes between saving a rule and sending to it.
"""

from __future__ import annotations

import socket
from typing import Any
from unittest.mock import _patch, patch

REAL_GETADDRINFO = socket.getaddrinfo
# What example.com resolved to when these tests were written: any public address will do.
PUBLIC_ADDRESS = "93.184.215.14"


def fake_dns(answers: dict[str, list[str]]) -> _patch:
    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[tuple]:
        if host not in answers:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        if not answers[host]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [_info(address, port) for address in answers[host]]

    return patch("monitoring.webhook_targets.socket.getaddrinfo", side_effect=getaddrinfo)


def _info(address: str, port: int) -> tuple:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
