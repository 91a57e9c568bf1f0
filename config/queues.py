"""Which Celery queue each task goes to: the one place that decides it.

Three queues; ``interactive`` has workers of its own (README, "Scaling workers"), so that a
person never waits behind the poller:

- ``interactive``: work a person waits on; a page polls its Job, Draft or Operation.
- ``sync``: the monitoring poller, which dispatches up to hundreds of syncs per beat tick, and
  flow discovery and the daily schema-drift checks.
- ``default``: everything else (alert delivery, housekeeping, automatic resumes).

Celery asks ``route`` for every task it sends (``CELERY_TASK_ROUTES``). The broker's name of
a queue is ``TASK_QUEUE_PREFIX`` + its name here: empty in production; the test settings give
each test process queues of its own, so a developer's running worker never takes test tasks.
"""

from __future__ import annotations

from django.conf import settings

INTERACTIVE = "interactive"
SYNC = "sync"
DEFAULT = "default"
QUEUES = (INTERACTIVE, SYNC, DEFAULT)

# Task name -> queue. Every task of the project is listed (a test checks it), so a new task
# gets a deliberate place instead of silently joining `default`.
TASK_QUEUES: dict[str, str] = {
    # The wizard: each one a page polls while the person waits.
    "onboarding.probe_stripe_key": INTERACTIVE,
    "onboarding.connect_account": INTERACTIVE,
    "onboarding.explore_resources": INTERACTIVE,
    "onboarding.list_datasets": INTERACTIVE,
    "onboarding.list_namespaces": INTERACTIVE,
    "onboarding.check_mapping": INTERACTIVE,
    "onboarding.import_flow_mapping": INTERACTIVE,
    "onboarding.estimate_backfill": INTERACTIVE,
    "onboarding.provision": INTERACTIVE,
    "onboarding.discard_draft": INTERACTIVE,
    # Pages and buttons of monitoring and support.
    "monitoring.check_sandbox_connection": INTERACTIVE,
    "monitoring.check_sandbox_readiness": INTERACTIVE,
    "monitoring.fetch_rejected_records": INTERACTIVE,
    "monitoring.reconcile_dataflow": INTERACTIVE,
    "monitoring.check_schema_drift_now": INTERACTIVE,
    "operations.preview": INTERACTIVE,
    "operations.execute": INTERACTIVE,
    "operations.load_mapping": INTERACTIVE,
    # The REST API's calls that wait on AEP (the caller polls the job).
    "api.export_plan": INTERACTIVE,
    "api.apply_plan": INTERACTIVE,
    # The poller and what it fans out to.
    "monitoring.schedule_syncs": SYNC,
    "monitoring.sync_dataflow": SYNC,
    "monitoring.sync_dataflows": SYNC,
    "monitoring.discover_flows": SYNC,
    "monitoring.discover_sandbox_flows": SYNC,
    "monitoring.schedule_drift_checks": SYNC,
    "monitoring.check_schema_drift": SYNC,
    # The rest.
    "monitoring.housekeeping": DEFAULT,
    "onboarding.housekeeping": DEFAULT,
    "operations.housekeeping": DEFAULT,
    "monitoring.deliver_alert": DEFAULT,
    "operations.resume_due_dataflows": DEFAULT,
    "operations.resume_stuck": DEFAULT,
    "onboarding.resume_stalled": DEFAULT,
    # Beat sends one heartbeat into each queue; its argument names the queue (route below).
    "core.heartbeat": DEFAULT,
}
HEARTBEAT_TASK = "core.heartbeat"


def broker_name(queue: str) -> str:
    """The name the broker and the workers' ``-Q`` know `queue` by."""
    return f"{settings.TASK_QUEUE_PREFIX}{queue}"


def broker_names() -> list[str]:
    return [broker_name(queue) for queue in QUEUES]


def queue_for(name: str, args=()) -> str:
    """The queue task `name` goes to; tasks not in the table (Celery's own) go to `default`."""
    if name == HEARTBEAT_TASK and args and args[0] in QUEUES:
        return args[0]
    return TASK_QUEUES.get(name, DEFAULT)


def route(name, args, kwargs, options, task=None, **kw) -> dict[str, str]:
    """Celery's router (``CELERY_TASK_ROUTES``); a ``queue`` given to apply_async still wins."""
    return {"queue": broker_name(queue_for(name, args or ()))}
