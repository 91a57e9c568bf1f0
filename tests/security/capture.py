"""Where a secret could surface: log records, the JSON log lines, responses and database rows.

Each collector returns plain text (or finds canaries in it) so the tests can say exactly where
a secret showed up.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.models import Session
from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from core import crypto
from core.crypto import EncryptedSecretField
from core.logging import JSONFormatter, RequestContextFilter, SecretMaskingFilter
from tests.security.canaries import leak_report

# Attributes every LogRecord has; everything else came in through `extra=`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)


def record_text(record: logging.LogRecord) -> str:
    """Message, arguments, extras and traceback of a record, as the code produced them."""
    parts = [str(record.msg), repr(record.args)]
    try:
        parts.append(record.getMessage())
    except Exception as exc:  # a broken format string is reported, not hidden
        parts.append(f"<unformattable: {exc!r}>")
    parts += [
        f"{name}={value!r}" for name, value in record.__dict__.items() if name not in _STANDARD
    ]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


class RawRecords(logging.Handler):
    """Keeps the text of every record before any filter of another handler rewrites it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(f"[{record.name} {record.levelname}] {record_text(record)}")


@dataclass
class LogCapture:
    raw: RawRecords = field(default_factory=RawRecords)
    json_lines: io.StringIO = field(default_factory=io.StringIO)

    def leaks(self) -> list[str]:
        found = []
        for text in self.raw.texts:
            found += leak_report("a log record", text)
        for line in self.json_lines.getvalue().splitlines():
            found += leak_report("a JSON log line", line)
        return found


def _json_handler(stream: io.StringIO) -> logging.Handler:
    """The production console handler (JSON, request ids, secret masking) writing to `stream`."""
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(JSONFormatter())
    handler.addFilter(RequestContextFilter())
    handler.addFilter(SecretMaskingFilter())
    return handler


@contextmanager
def capture_logs(caplog) -> Iterator[LogCapture]:
    """Every logger at DEBUG (through caplog, which restores the levels afterwards); raw
    records taken first in line, the production JSON formatter's output taken last."""
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.level not in (logging.NOTSET,):
            caplog.set_level(logging.DEBUG, logger=name)
    capture = LogCapture()
    root = logging.getLogger()
    json_handler = _json_handler(capture.json_lines)
    root.handlers.insert(0, capture.raw)
    root.addHandler(json_handler)
    try:
        yield capture
    finally:
        root.removeHandler(capture.raw)
        root.removeHandler(json_handler)


# -- responses -----------------------------------------------------------------------------------


def response_body(response: HttpResponse | StreamingHttpResponse) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def _messages_in_cookie(value: str) -> str:
    """Messages ride in a signed, possibly compressed cookie: read them as the next page would."""
    storage = CookieStorage(RequestFactory().get("/"))
    decoded = storage._decode(value)
    return " ".join(str(message) for message in decoded or [])


def response_leaks(where: str, response, body: str | None = None) -> list[str]:
    body = response_body(response) if body is None else body
    found = leak_report(f"{where} body", body)
    headers = "\n".join(f"{name}: {value}" for name, value in response.items())
    found += leak_report(f"{where} headers", headers)
    for name, morsel in response.cookies.items():
        found += leak_report(f"{where} cookie {name}", morsel.OutputString())
        if name == "messages" and morsel.value:
            found += leak_report(f"{where} messages", _messages_in_cookie(morsel.value))
    return found


# -- database ------------------------------------------------------------------------------------


def encrypted_columns() -> list[tuple[str, str, str]]:
    """(model label, table, column) of every EncryptedSecretField."""
    columns = []
    for model in apps.get_models():
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, EncryptedSecretField):
                columns.append((model._meta.label, model._meta.db_table, model_field.column))
    return columns


def _rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
        return cursor.fetchall()


def database_leaks() -> list[str]:
    """Every column of every table, raw (no field converters), and the decoded sessions."""
    found = []
    for table in connection.introspection.table_names():
        for row in _rows(table):
            text = " | ".join(
                value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                for value in row
            )
            found += leak_report(f"table {table}", text)
    for session in Session.objects.all():
        found += leak_report("a session", repr(session.get_decoded()))
    return found


def plaintext_secret_columns() -> list[str]:
    """Encrypted columns must hold Fernet tokens that decrypt, never the plaintext itself."""
    problems = []
    for label, table, column in encrypted_columns():
        with connection.cursor() as cursor:
            quoted = connection.ops.quote_name
            cursor.execute(f"SELECT {quoted(column)} FROM {quoted(table)}")  # noqa: S608
            values = [value for (value,) in cursor.fetchall() if value]
        for value in values:
            try:
                crypto.decrypt(value)
            except ValueError:
                problems.append(f"{label}.{column} holds something that is not ciphertext")
    return problems
