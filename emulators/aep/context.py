"""Access to the running emulator and the caller of the current request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app, g

from emulators.aep.settings import Org, Sandbox
from emulators.aep.store import Scope

if TYPE_CHECKING:
    from emulators.aep.app import Emulator


@dataclass(frozen=True)
class Caller:
    """Who is calling: set by the gateway checks on every platform request."""

    org: Org
    sandbox: Sandbox
    client_id: str

    @property
    def scope(self) -> Scope:
        return Scope(self.org.ims_org_id, self.sandbox.name)

    @property
    def principal(self) -> str:
        return self.org.technical_account


def emulator() -> Emulator:
    return current_app.extensions["aep"]


def caller() -> Caller:
    return g.caller


def request_id() -> str:
    return g.get("request_id", "")
