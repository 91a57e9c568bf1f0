"""Prometheus metrics: counters, gauges and histograms kept in Redis, plus gauges from the database.

Any process (web, worker, beat) records through ``incr``, ``set_gauge`` and ``observe``; the
web's /metrics view renders them all in the Prometheus text format. Names get the
``stripe_sources_`` prefix when they lack it. Recording never raises: a metrics outage must not
fail the work being measured. Gauges computed from the database at each scrape come from the
apps that own the data, registered with ``register_gauges`` (monitoring/metrics.py).
"""

from __future__ import annotations

import hmac
import logging
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.redis_client import app_redis

logger = logging.getLogger(__name__)

PREFIX = "stripe_sources_"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds: from a quick heartbeat to a long sync, below the 10-minute task time limit.
DEFAULT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str  # counter, gauge or histogram
    help: str
    always: bool = False  # render an unlabelled 0 before anything was recorded


# One sample a collector gives: (name, labels, value).
Sample = tuple[str, Mapping[str, str] | None, float]
Collector = Callable[[], Iterable[Sample]]

RUNS_SYNCED = "stripe_sources_runs_synced_total"
AEP_ERRORS = "stripe_sources_aep_errors_total"
TASK_DURATION = "stripe_sources_task_duration_seconds"
TASKS = "stripe_sources_tasks_total"
STORE_UP = "stripe_sources_metrics_store_up"
RUN_STATUS_UNKNOWN = "stripe_sources_run_status_unknown_total"

KNOWN: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric(RUNS_SYNCED, "counter", "Flow runs read from AEP and stored by the sync.", True),
        Metric(AEP_ERRORS, "counter", "AEP errors met by background work, by error code."),
        Metric(TASK_DURATION, "histogram", "Time background tasks took, by task name."),
        Metric(TASKS, "counter", "Background tasks finished, by task name and state."),
        Metric(STORE_UP, "gauge", "1 when the Redis metrics store answered this scrape."),
        Metric(
            RUN_STATUS_UNKNOWN,
            "counter",
            "Flow runs stored with a status AEP does not document (kept open), by status.",
        ),
    ]
}
_COLLECTORS: list[Collector] = []


def register_gauges(gauges: Iterable[Metric], collect: Collector) -> None:
    """Gauges an app computes at scrape time: `collect` gives their samples (it may query the
    database; a database error leaves them out of that scrape). Call it from AppConfig.ready."""
    for metric in gauges:
        KNOWN[metric.name] = metric
    if collect not in _COLLECTORS:
        _COLLECTORS.append(collect)


# --- recording -----------------------------------------------------------------------------------


def incr(name: str, labels: Mapping[str, str] | None = None, amount: float = 1) -> None:
    """Add `amount` to a counter."""
    _safely(lambda r: r.hincrbyfloat(_key("counter", name), _labels(labels), amount))


def set_gauge(name: str, value: float, labels: Mapping[str, str] | None = None) -> None:
    _safely(lambda r: r.hset(_key("gauge", name), _labels(labels), repr(float(value))))


def observe(
    name: str,
    value: float,
    labels: Mapping[str, str] | None = None,
    buckets: Iterable[float] = DEFAULT_BUCKETS,
) -> None:
    """Count `value` into a histogram (the first bucket it fits, cumulated when rendered)."""
    label_text = _labels(labels)
    bucket = next((b for b in sorted(buckets) if value <= b), math.inf)

    def write(r: redis.Redis) -> None:
        key = _key("histogram", name)
        pipe = r.pipeline(transaction=False)
        pipe.hincrbyfloat(key, f"{label_text}|sum", value)
        pipe.hincrby(key, f"{label_text}|count", 1)
        pipe.hincrby(key, f"{label_text}|le={_number(bucket)}", 1)
        pipe.execute()

    _safely(write)


def record_aep_error(code: str | None) -> None:
    """Count one AEP error; call it wherever background work catches an AEPError."""
    incr(AEP_ERRORS, {"code": code or "unknown"})


def record_runs_synced(count: int) -> None:
    """Count flow runs the sync read from AEP and stored."""
    if count:
        incr(RUNS_SYNCED, amount=count)


def record_unknown_run_status(status: str) -> None:
    """Count one run stored with a status outside Flow Service's documented set."""
    incr(RUN_STATUS_UNKNOWN, {"status": status})


def _safely(write) -> None:
    try:
        write(app_redis())
    except redis.RedisError as exc:
        logger.warning("metrics not recorded: Redis error %s", type(exc).__name__)


def full_name(name: str) -> str:
    name = name if name.startswith(PREFIX) else PREFIX + name
    if not _NAME.match(name):
        raise ValueError(f"not a metric name: {name!r}")
    return name


def _key(kind: str, name: str) -> str:
    return f"{settings.METRICS_REDIS_PREFIX}{kind}:{full_name(name)}"


def _labels(labels: Mapping[str, str] | None) -> str:
    """Canonical Prometheus label text, sorted, e.g. `code="X",task="y"`."""
    labels = labels or {}
    parts = []
    for key in sorted(labels):
        if not _LABEL.match(key):
            raise ValueError(f"not a label name: {key!r}")
        value = str(labels[key]).replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
        parts.append(f'{key}="{value}"')
    return ",".join(parts)


def _number(value: float) -> str:
    if value == math.inf:
        return "+Inf"
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


# --- rendering -----------------------------------------------------------------------------------


def render() -> str:
    """Every metric in the Prometheus text exposition format."""
    samples: dict[str, list[str]] = defaultdict(list)
    kinds = {name: metric.kind for name, metric in KNOWN.items()}
    try:
        _read_store(samples, kinds)
        samples[STORE_UP].append(f"{STORE_UP} 1")
    except redis.RedisError as exc:
        logger.warning("metrics store unreachable: %s", type(exc).__name__)
        samples[STORE_UP].append(f"{STORE_UP} 0")
    _collect(samples)

    lines: list[str] = []
    for name in sorted(set(kinds) | set(samples)):
        metric = KNOWN.get(name)
        rows = samples.get(name, [])
        if not rows and metric and metric.always:
            rows = [f"{name} 0"]
        if not rows and not metric:
            continue
        lines.append(f"# HELP {name} {metric.help if metric else 'Recorded by the application.'}")
        lines.append(f"# TYPE {name} {kinds[name]}")
        lines.extend(rows)
    return "\n".join(lines) + "\n"


def _text(value: bytes | str) -> str:
    """A Redis reply as text (the client answers bytes, as it decodes no responses)."""
    return value.decode() if isinstance(value, bytes) else value


def _read_store(samples: dict[str, list[str]], kinds: dict[str, str]) -> None:
    r = app_redis()
    prefix = settings.METRICS_REDIS_PREFIX
    for raw_key in sorted(r.scan_iter(match=f"{prefix}*", count=500)):
        key = raw_key.decode()
        kind, _, name = key[len(prefix) :].partition(":")
        if kind not in ("counter", "gauge", "histogram") or not _NAME.match(name):
            continue
        kinds.setdefault(name, kind)
        fields = {_text(f): _text(v) for f, v in r.hgetall(raw_key).items()}
        if kind == "histogram":
            samples[name].extend(_histogram_rows(name, fields))
        else:
            for label_text, value in sorted(fields.items()):
                samples[name].append(_sample(name, label_text, float(value)))


def _histogram_rows(name: str, fields: dict[str, str]) -> list[str]:
    by_labels: dict[str, dict[str, float]] = defaultdict(dict)
    for field, value in fields.items():
        label_text, _, part = field.rpartition("|")
        by_labels[label_text][part] = float(value)
    rows = []
    for label_text, parts in sorted(by_labels.items()):
        bounds = sorted(
            (float(p.removeprefix("le=")) for p in parts if p.startswith("le=")),
        )
        edges = sorted({*DEFAULT_BUCKETS, *bounds, math.inf})
        running = 0.0
        for edge in edges:
            running += parts.get(f"le={_number(edge)}", 0.0)
            le = f'le="{_number(edge)}"'
            labels = f"{label_text},{le}" if label_text else le
            rows.append(_sample(f"{name}_bucket", labels, running))
        rows.append(_sample(f"{name}_sum", label_text, parts.get("sum", 0.0)))
        rows.append(_sample(f"{name}_count", label_text, parts.get("count", 0.0)))
    return rows


def _sample(name: str, label_text: str, value: float) -> str:
    labels = f"{{{label_text}}}" if label_text else ""
    return f"{name}{labels} {_number(value)}"


def _collect(samples: dict[str, list[str]]) -> None:
    """Gauges computed at scrape time; a database error leaves them out of this scrape."""
    from django.db import DatabaseError

    try:
        for collect in _COLLECTORS:
            for name, labels, value in collect():
                samples[name].append(_sample(name, _labels(labels), value))
    except DatabaseError:
        logger.exception("database metrics not computed")


# --- the view ------------------------------------------------------------------------------------


def token_accepted(request: HttpRequest) -> bool:
    """Open when METRICS_TOKEN is unset; otherwise `Authorization: Bearer <token>` must match."""
    expected = settings.METRICS_TOKEN
    if not expected:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), expected.encode()
    )


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not token_accepted(request):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(render(), content_type=CONTENT_TYPE)
