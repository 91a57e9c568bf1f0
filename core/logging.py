"""Log records that carry the request (or task) they belong to, in JSON or plain text.

Imported by the LOGGING configuration itself, so every process that logs (web, worker, beat)
loads it before anything else: it must not import models or touch the database.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime

from celery import signals

# The id of the web request, or of the request that enqueued the running task.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
task_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("task_id", default="")

REQUEST_ID_HEADER = "X-Request-ID"
# Incoming ids are echoed into logs and headers: accept only short, plain tokens.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def new_request_id(incoming: str | None = None) -> str:
    """The caller's id when it is a plain token (a proxy's), else a fresh one."""
    if incoming and _VALID_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


# --- secret masking ------------------------------------------------------------------------------

_SECRET_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Stripe secret and restricted keys, and webhook signing secrets.
    (re.compile(r"\b(sk|rk)_(live|test)_[0-9A-Za-z]{6,}"), r"\1_\2_[redacted]"),
    (re.compile(r"\bwhsec_[0-9A-Za-z]{6,}"), "whsec_[redacted]"),
    # An Authorization header or any "Bearer <token>" phrase.
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]{6,}=*"), r"\1 [redacted]"),
    # Fernet tokens (version byte 0x80 then a timestamp: base64 always starts with gAAAAA).
    (re.compile(r"\bgAAAAA[0-9A-Za-z_\-]{20,}={0,2}"), "[redacted-fernet-token]"),
    # Webhook URLs that carry their secret in the path (Slack, Teams, Discord) or in a signed
    # query (Power Automate / Logic Apps `sig=`, and any token-like parameter).
    (
        re.compile(r"(?i)\b(https?://hooks\.slack\.com/)[^\s\"'<>]+"),
        r"\1[redacted]",
    ),
    (
        re.compile(r"(?i)\b(https?://[0-9a-z.\-]*webhook\.office\.com/)[^\s\"'<>]+"),
        r"\1[redacted]",
    ),
    (
        re.compile(
            r"(?i)\b(https?://(?:[0-9a-z\-]+\.)?discord(?:app)?\.com/api/webhooks/)[^\s\"'<>]+"
        ),
        r"\1[redacted]",
    ),
    (
        re.compile(
            r"(?i)([?&](?:sig|signature|token|access_token|api_key|apikey|key|code|secret)=)"
            r"[^&\s\"'<>]+"
        ),
        r"\1[redacted]",
    ),
    # JWTs, e.g. an IMS access token outside an Authorization header.
    (
        re.compile(r"\beyJ[0-9A-Za-z_\-]{8,}\.[0-9A-Za-z_\-]{8,}\.[0-9A-Za-z_\-]{8,}"),
        "[redacted-jwt]",
    ),
]


def mask_secrets(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "request_id", "task_id", "ids"}
)


class SecretMaskingFilter(logging.Filter):
    """Last line of defence: rewrite the message, extras and traceback with secrets masked.

    Attach it to handlers (not loggers), so records propagated from every logger pass it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the formatter to report
            return True
        masked = mask_secrets(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, name, mask_secrets(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_secrets(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        return True


class RequestContextFilter(logging.Filter):
    """Add request_id and task_id to every record ("" outside a request or task).

    `ids` joins both for the plain format: "-" outside a request, "<id> task=<id>" in a task.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # django.request logs a 4xx/5xx after the middleware has returned: use its request.
        request_id = request_id_var.get() or getattr(
            getattr(record, "request", None), "request_id", ""
        )
        task_id = task_id_var.get()
        parts = [request_id] if request_id else []
        if task_id:
            parts.append(f"task={task_id}")
        # Extra record attributes, set the way `logging` itself sets a call's `extra`.
        record.__dict__.update(request_id=request_id, task_id=task_id, ids=" ".join(parts) or "-")
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, extras and traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "task_id"):
            value = getattr(record, name, "")
            if value:
                entry[name] = value
        for name, value in record.__dict__.items():
            if name not in _STANDARD_ATTRS and not name.startswith("_"):
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


def logging_config(*, log_format: str, level: str) -> dict:
    """The LOGGING dict for settings.py."""
    formatters = {
        "json": {"()": "core.logging.JSONFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(ids)s] %(message)s"},
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "core.logging.RequestContextFilter"},
            "mask_secrets": {"()": "core.logging.SecretMaskingFilter"},
        },
        "formatters": {log_format: formatters[log_format]},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context", "mask_secrets"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "INFO"}},
    }


# --- Celery: carry the request id into tasks and log each task's id ------------------------------


@signals.before_task_publish.connect(weak=False)
def _send_request_id(headers: dict | None = None, **kwargs) -> None:
    request_id = request_id_var.get()
    if headers is not None and request_id:
        headers.setdefault("request_id", request_id)


_task_tokens: dict[str, tuple[contextvars.Token, contextvars.Token]] = {}


@signals.task_prerun.connect(weak=False)
def _enter_task(task_id: str | None = None, task=None, **kwargs) -> None:
    if not task_id:
        return
    incoming = getattr(task.request, "request_id", None) if task is not None else None
    tokens = (
        request_id_var.set(new_request_id(incoming)),
        task_id_var.set(task_id),
    )
    _task_tokens[task_id] = tokens


@signals.task_postrun.connect(weak=False)
def _leave_task(task_id: str | None = None, **kwargs) -> None:
    tokens = _task_tokens.pop(task_id or "", None)
    if tokens:
        task_id_var.reset(tokens[1])
        request_id_var.reset(tokens[0])
