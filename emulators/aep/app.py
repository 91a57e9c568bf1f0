"""The emulator's Flask application: blueprints, the gateway in front of them, error bodies."""

from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from emulators.aep import (
    admin,
    catalog,
    dataaccess,
    dataprep,
    descriptors,
    identity,
    schemaregistry,
)
from emulators.aep.context import emulator
from emulators.aep.errors import (
    ApiError,
    GatewayError,
    RawError,
    problem_body,
    service_of,
)
from emulators.aep.execution import FlowExecutor
from emulators.aep.faults import Fault, FaultRegistry
from emulators.aep.flowservice import blueprint as flowservice
from emulators.aep.gateway import authenticate, check_content_type, ims
from emulators.aep.scheduler import Scheduler
from emulators.aep.settings import Settings
from emulators.aep.store import Store
from emulators.aep.variance import Variance

logger = logging.getLogger(__name__)

EMULATOR_PREFIX = "/__emulator__"


class Emulator:
    """Everything one emulator process holds: storage, faults, the executor and scheduler."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.db_path)
        self.faults = FaultRegistry()
        self.variance = Variance(settings.without_variance)
        self.executor = FlowExecutor(settings, self.store, self.variance)
        self.scheduler = Scheduler(settings, self.store, self.executor)

    def start(self) -> None:
        queued = {p.run_id for p in self.store.pending_runs()}
        failed = self.executor.fail_interrupted_runs(queued)
        if failed:
            logger.info("marked %d interrupted runs as failed", failed)
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()


def create_app(emulator: Emulator) -> Flask:
    app = Flask(__name__)
    app.extensions["aep"] = emulator
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False
    app.json.sort_keys = False  # type: ignore[attr-defined]
    for blueprint in (ims, flowservice, dataprep.blueprint, descriptors.blueprint,
                      schemaregistry.blueprint, catalog.blueprint, dataaccess.blueprint,
                      identity.blueprint, admin.blueprint):  # fmt: skip
        app.register_blueprint(blueprint)
    app.before_request(_before_request)
    app.after_request(_after_request)
    _register_error_handlers(app)
    return app


def _before_request() -> None:
    g.request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
    if request.path.startswith(EMULATOR_PREFIX):
        return
    fault = emulator().faults.take(request.method, request.path)
    if fault is not None:
        _apply_fault(fault)
    service = service_of(request.path)
    if service is not None:
        g.caller = authenticate()
        check_content_type()


def _apply_fault(fault: Fault) -> None:
    if fault.kind == "delay":
        time.sleep(fault.delay_seconds)
        return
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    if fault.kind == "429":
        raise GatewayError(429, "429050", "Too many requests", headers)
    if fault.kind == "expired_token":
        raise GatewayError(401, "401013", "Oauth token is not valid", headers)
    if fault.kind == "412":
        raise ApiError(
            412,
            "1404",
            "The supplied version does not match the current version on the entity. Fetch the "
            "entity again and retry with its etag.",
            headers=headers,
        )
    if fault.kind == "403":
        # The answer to a credential whose product profile lacks the API's permission
        # (Flow Service error table, help/sources/errors/flow-service-errors.md: 2120-403).
        raise ApiError(
            403,
            "2120",
            "You do not have sufficient permissions to perform the operation. Please contact "
            "your administrator to resolve permissions and try again.",
            headers=headers,
        )
    if fault.kind == "503":
        raise ApiError(503, "1103", "The service is temporarily unavailable.", headers=headers)
    raise ApiError(500, "1102", "An internal error occurred.", headers=headers)


def _after_request(response: Response) -> Response:
    response.headers["x-request-id"] = g.get("request_id", "")
    return response


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        body = problem_body(error, service_of(request.path), g.get("request_id", ""))
        return jsonify(body), error.status, error.headers

    @app.errorhandler(GatewayError)
    def gateway_error(error: GatewayError):
        return jsonify(error.body()), error.status, error.headers

    @app.errorhandler(RawError)
    def raw_error(error: RawError):
        return jsonify(error.body), error.status, error.headers

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        if service_of(request.path) is None:
            return jsonify({"error": error.name, "message": error.description}), status
        message = f"{request.method} {request.path} is not supported by the platform emulator."
        return api_error(ApiError(status, "1101" if status == 404 else "1100", message))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return api_error(ApiError(500, "1102", f"An internal error occurred: {error}"))
