"""The Flow Service blueprint, mounted at ``/data/foundation/flowservice``."""

from __future__ import annotations

from flask import Blueprint

BASE_PATH = "/data/foundation/flowservice"

blueprint = Blueprint("flowservice", __name__, url_prefix=BASE_PATH)
