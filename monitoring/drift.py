"""Schema drift: the changes in what Stripe sends that matter to a dataflow's mapping.

A check (in a worker: daily from beat, or "Check now" on the dataflow page) explores the flow's
Stripe resource through AEP, reads the mapping set the flow uses from Data Prep, and keeps only
two kinds of change:

- a field Stripe sends now, did not send at the first check, and no rule reads: a suggestion,
  with the target the mapping's own naming would give it;
- a field a rule reads that Stripe does not send: breaking, the rule has nothing to map.

Everything else stays quiet. Each finding has a stable key, so the same drift found again
tomorrow is the same finding, and a dismissed one stays dismissed until it goes away. A check
or a dismissal evaluates the flow's alert rules at once, with the `deliver` its caller hands in.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from aep import AEPClient
from aep.errors import AEPError
from core import mapping, profiling
from core.explain import explain_aep_error
from core.jobs import start_job
from core.models import Job
from monitoring import alerts
from monitoring.clients import NoMappingSet, mapping_set_in_use
from monitoring.models import Dataflow, Sandbox, SchemaDrift

logger = logging.getLogger(__name__)

NEW = SchemaDrift.NEW
REMOVED = SchemaDrift.REMOVED
ROOT = profiling.ROOT
CHECK_EVERY = timedelta(days=1)
RETRY_AFTER = timedelta(hours=1)
BATCH = 500
# Checks of one beat tick are spread this far apart, so AEP sees no burst.
DISPATCH_SPACING_SECONDS = 2.0
JOB_KIND = "dataflow.schema_drift"
_SUBSCRIPT = re.compile(r"\[(\d+|\*)\]")

ClientFactory = Callable[[Sandbox], AEPClient]
Rules = Sequence[mapping.Rule]


class CannotCheck(Exception):
    """The flow lacks what a check needs (a Stripe connection, a mapping set)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- comparing (pure) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExploredFields:
    """What an explore says Stripe sends, as `data.…` paths without array subscripts."""

    paths: frozenset[str]  # every field, inside objects and array items too
    leaves: frozenset[str]  # what a rule maps as a whole (scalars, maps, arrays)
    unknown: frozenset[str]  # null in every sampled object: what is inside cannot be told

    def has(self, path: str) -> bool:
        return path in self.paths or any(a in self.unknown for a in ancestors(path))


def ancestors(path: str) -> list[str]:
    """`data.outcome` for `data.outcome.risk_score` (the root `data` is left out)."""
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts))]


def explored_fields(schema: Mapping[str, Any]) -> ExploredFields:
    """The fields of an explore schema (rooted at `data`, as core.profiling reads it)."""
    paths: set[str] = set()
    leaves: set[str] = set()
    unknown: set[str] = set()

    def walk(properties: Mapping[str, Any], prefix: str, in_array: bool) -> None:
        for name, fragment in properties.items():
            path = f"{prefix}.{name}"
            paths.add(path)
            if not in_array and not _has_children(fragment):
                leaves.add(path)
            kind = profiling.field_type(fragment)
            in_items = in_array
            while kind == "array":
                fragment = fragment.get("items") or {}
                kind = profiling.field_type(fragment)
                in_items = True
            if not kind:
                unknown.add(path)
            elif kind == "object" and fragment.get("properties"):
                walk(fragment["properties"], path, in_items)

    walk(profiling.explored_properties(schema), ROOT, False)
    return ExploredFields(frozenset(paths), frozenset(leaves), frozenset(unknown))


def _has_children(fragment: Mapping[str, Any]) -> bool:
    return profiling.field_type(fragment) == "object" and bool(fragment.get("properties"))


def rule_fields(source: str) -> set[str]:
    """The fields a rule reads: its attribute, or each field its calculation names.

    `data.items[0].price` reads `data.items.price`: explored paths carry no subscripts.
    """
    return mapping.field_references(_SUBSCRIPT.sub("", source))


@dataclass(frozen=True)
class Finding:
    kind: str  # NEW or REMOVED
    field: str
    source: str = ""  # the rule's source (REMOVED)
    destination: str = ""  # the rule's destination (REMOVED) or a suggested one (NEW)

    @property
    def key(self) -> str:
        """Stable while the drift lasts: a suggestion's target may change, the key does not."""
        if self.kind == REMOVED:
            return f"{REMOVED}:{self.field}>{self.destination}"
        return f"{NEW}:{self.field}"


def compare(
    explored: ExploredFields,
    rules: Rules,
    known: Collection[str] | None,
    suggest: Callable[[str], str] = lambda field: "",
) -> list[Finding]:
    """Breaking findings (a rule reads a field Stripe does not send), then suggestions (a leaf
    Stripe sends that is not in `known` and no rule reads). `known=None`: the first check,
    which has nothing to call new."""
    findings: list[Finding] = []
    read: set[str] = set()
    for rule in rules:
        fields = rule_fields(rule.source)
        read |= fields
        for field in sorted(fields):
            if not explored.has(field):
                findings.append(Finding(REMOVED, field, rule.source, rule.destination))
    if known is not None:
        known = set(known)
        for field in sorted(explored.leaves - known):
            covered = field in read or any(a in read for a in ancestors(field))
            if not covered:
                findings.append(Finding(NEW, field, destination=suggest(field)))
    return findings


def suggested_target(field: str, rules: Rules, container: str = "") -> str:
    """Where a new field would go, named the way the mapping's attribute rules are: with
    `data.amount -> _t.charges_data.amount`, `data.outcome.risk_score` goes to
    `_t.charges_data.outcome.risk_score`. Else under `container` (onboarding's default)."""
    leaf = field.removeprefix(f"{ROOT}.")
    for rule in rules:
        attribute = rule.source.removeprefix(f"{ROOT}.")
        is_attribute = attribute != rule.source and rule_fields(rule.source) == {rule.source}
        if is_attribute and rule.destination.endswith(f".{attribute}"):
            return rule.destination[: -len(attribute)] + leaf
    return f"{container}.{leaf}" if container else ""


def fingerprint(keys: Iterable[str]) -> str:
    keys = sorted(keys)
    if not keys:
        return ""
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]


# -- checking one flow --------------------------------------------------------------------------


def read_from_aep(dataflow: Dataflow, client: AEPClient) -> tuple[ExploredFields, Rules]:
    """Explore the flow's Stripe resource, and read the rules of the mapping set it uses."""
    base_connection_id, resource_path = _explore_target(dataflow, client)
    explored = client.flowservice.explore_connection(base_connection_id, resource_path)
    flow = client.flowservice.get_flow(dataflow.flow_id)
    try:
        mapping_set = mapping_set_in_use(client, flow)
    except NoMappingSet as exc:
        raise CannotCheck(exc.message) from exc
    return explored_fields(explored.schema), mapping.rules_from_mappings(mapping_set.mappings)


def _explore_target(dataflow: Dataflow, client: AEPClient) -> tuple[str, str]:
    base = dataflow.account.connection_id if dataflow.account else ""
    path = dataflow.resource_path
    if (not base or not path) and dataflow.source_connection_id:
        source = client.flowservice.get_source_connection(dataflow.source_connection_id)
        base = base or source.base_connection_id or ""
        path = path or source.resource_path or ""
    if not base or not path:
        raise CannotCheck(_("This dataflow has no Stripe connection to explore."))
    return base, path


def check(
    dataflow_pk: int,
    client_factory: ClientFactory,
    deliver: alerts.Deliver,
    now: datetime | None = None,
):
    """Check one flow and store the outcome. AEP errors and CannotCheck are recorded on the
    row (the previous findings stay) and raised again."""
    now = now or timezone.now()
    dataflow = Dataflow.objects.select_related("sandbox", "account").get(pk=dataflow_pk)
    drift, _created = SchemaDrift.objects.get_or_create(dataflow=dataflow)
    try:
        explored, rules = read_from_aep(dataflow, client_factory(dataflow.sandbox))
    except AEPError as exc:
        _record_failure(drift, explain_aep_error(exc), now + RETRY_AFTER)
        raise
    except CannotCheck as exc:
        # Nothing a retry within the hour would change.
        _record_failure(drift, exc.message, now + CHECK_EVERY)
        raise
    store_result(drift, explored, rules, now)
    # The flow's schema-drift alerts open or resolve now, not at its next sync.
    alerts.evaluate(dataflow, deliver)
    return drift


def _record_failure(drift: SchemaDrift, message: str, next_check_at: datetime) -> None:
    drift.error = message
    drift.next_check_at = next_check_at
    drift.save(update_fields=["error", "next_check_at"])


def store_result(drift: SchemaDrift, explored: ExploredFields, rules: Rules, now: datetime):
    """Keep the findings with when each was first seen; forget dismissals of findings that
    went away; the first check records what Stripe sends as the baseline."""
    dataflow = drift.dataflow
    tenant = dataflow.sandbox.tenant_id
    container = mapping.container(f"_{tenant}", dataflow.resource_path) if tenant else ""
    known = None if drift.baseline_at is None else drift.known_fields
    findings = compare(
        explored, rules, known, lambda field: suggested_target(field, rules, container)
    )
    previous = {f["key"]: f for f in drift.findings}
    drift.findings = [
        {
            "key": f.key,
            "kind": f.kind,
            "field": f.field,
            "source": f.source,
            "destination": f.destination,
            "first_seen": previous.get(f.key, {}).get("first_seen") or now.isoformat(),
        }
        for f in findings
    ]
    keys = {f["key"] for f in drift.findings}
    new_fingerprint = fingerprint(keys)
    if new_fingerprint != drift.fingerprint or drift.changed_at is None:
        drift.changed_at = now
    drift.fingerprint = new_fingerprint
    drift.dismissed = [key for key in drift.dismissed if key in keys]
    if drift.baseline_at is None:
        drift.known_fields = sorted(explored.paths)
        drift.baseline_at = now
    drift.has_breaking = _has_open_breaking(drift)
    drift.checked_at = now
    drift.next_check_at = now + CHECK_EVERY
    drift.rule_count = len(rules)
    drift.field_count = len(explored.leaves)
    drift.error = ""
    drift.save()
    return drift


def _has_open_breaking(drift: SchemaDrift) -> bool:
    return any(f["kind"] == REMOVED for f in drift.open_findings)


def dismiss(
    drift: SchemaDrift,
    keys: Collection[str],
    user,
    deliver: alerts.Deliver,
    now: datetime | None = None,
) -> None:
    """Acknowledge findings: they stay quiet while the same drift is found again."""
    drift.dismissed = sorted(set(drift.dismissed) | set(keys))
    drift.dismissed_by = user
    drift.dismissed_at = now or timezone.now()
    drift.has_breaking = _has_open_breaking(drift)
    drift.save(update_fields=["dismissed", "dismissed_by", "dismissed_at", "has_breaking"])
    alerts.evaluate(drift.dataflow, deliver)


def has_open_breaking_drift(dataflow: Dataflow | int) -> bool:
    """Whether a rule of the flow reads a field Stripe no longer sends, not dismissed."""
    pk = dataflow.pk if isinstance(dataflow, Dataflow) else dataflow
    return SchemaDrift.objects.filter(dataflow_id=pk, has_breaking=True).exists()


def latest(dataflow: Dataflow) -> SchemaDrift | None:
    """The flow's latest result, with the latest "Check now" job (one query)."""
    return SchemaDrift.objects.filter(dataflow=dataflow).select_related("job").first()


def start_check(dataflow: Dataflow, user, task) -> Job:
    """Start a "Check now" job, unless one is already queued or running."""
    result, _created = SchemaDrift.objects.get_or_create(dataflow=dataflow)
    if result.job is not None and not result.job.is_done:
        return result.job
    result.job = start_job(JOB_KIND, f"dataflow:{dataflow.pk}", user, task)
    result.save(update_fields=["job"])
    return result.job


# -- workers ------------------------------------------------------------------------------------


def check_in_background(
    dataflow_pk: int, client_factory: ClientFactory, deliver: alerts.Deliver
) -> str:
    """The periodic check: a failure is recorded on the row and retried within the hour."""
    try:
        check(dataflow_pk, client_factory, deliver)
    except (AEPError, CannotCheck) as exc:
        logger.warning("schema drift check of dataflow %s failed: %s", dataflow_pk, exc)
        return "failed"
    except Dataflow.DoesNotExist:
        return "gone"
    return "checked"


def check_for_job(job: Job, client_factory: ClientFactory, deliver: alerts.Deliver) -> dict:
    """The check a person asked for: AEP errors fail the job (core.jobs explains them); a flow
    that cannot be checked shows that through the row's error."""
    try:
        drift = check(int(job.target.removeprefix("dataflow:")), client_factory, deliver)
    except CannotCheck as exc:
        return {"error": exc.message}
    return {"findings": len(drift.findings), "breaking": drift.has_breaking}


def schedule_checks(
    dispatch: Callable[[int, float], None], now: datetime | None = None, limit: int = BATCH
) -> int:
    """Beat: dispatch the daily check of active flows that are due, at most `limit` at once.

    Setting `next_check_at` first makes it a lease: a message lost with a worker is retried
    after a day, not at every tick.
    """
    now = now or timezone.now()
    due = list(
        Dataflow.objects.filter(deleted_at=None, enabled=True)
        .filter(Q(schema_drift=None) | Q(schema_drift__next_check_at__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return 0
    lease = now + CHECK_EVERY
    existing = set(
        SchemaDrift.objects.filter(dataflow_id__in=due).values_list("dataflow_id", flat=True)
    )
    SchemaDrift.objects.filter(dataflow_id__in=existing).update(next_check_at=lease)
    SchemaDrift.objects.bulk_create(
        [SchemaDrift(dataflow_id=pk, next_check_at=lease) for pk in due if pk not in existing],
        ignore_conflicts=True,
    )
    for index, pk in enumerate(due):
        dispatch(pk, index * DISPATCH_SPACING_SECONDS)
    return len(due)


def for_display(findings: Iterable[dict]) -> list[dict]:
    """Stored findings with `first_seen` as a datetime, breaking ones first."""
    shown = []
    for finding in findings:
        first_seen = finding.get("first_seen")
        shown.append(
            {**finding, "first_seen": datetime.fromisoformat(first_seen) if first_seen else None}
        )
    return sorted(shown, key=lambda f: (f["kind"] != REMOVED, f["field"]))
