"""What the monitoring pages show, read from the denormalised columns and the buckets only.

Every function here issues a fixed number of queries, whatever the number of flows or runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import User
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet, Sum, Value
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from aep.flowservice import STRIPE_RESOURCE_PATHS
from core.crypto import defer_secrets
from core.http import positive_int
from monitoring import charts
from monitoring.models import (
    Account,
    Alert,
    Dataflow,
    IngestBucket,
    IngestTotal,
    Sandbox,
    SchemaDrift,
)

Health = Dataflow.Health
PAGE_SIZE = 50
STATUS_CHOICES = [(h.value, h.label) for h in Health]
RANGES = {
    "24h": (IngestBucket.Granularity.HOUR, 24, timedelta(hours=1)),
    "7d": (IngestBucket.Granularity.DAY, 7, timedelta(days=1)),
    "30d": (IngestBucket.Granularity.DAY, 30, timedelta(days=1)),
}
RANGE_LABELS = {"24h": _("24 hours"), "7d": _("7 days"), "30d": _("30 days")}
# The overview's "Schema drift" filter: a value of the query string and what it selects.
DRIFT_BREAKING = "breaking"
# A rule of an active flow reads a Stripe field that Stripe no longer sends, not dismissed.
# Only active flows are checked (drift.schedule_checks), so an inactive flow's flag is old news.
BREAKING_DRIFT = Q(enabled=True, deleted_at=None, schema_drift__has_breaking=True)


@dataclass
class Filters:
    """The overview's query string, validated; unknown values are ignored, never an error."""

    sandbox: int | None = None
    account: int | None = None
    resource: str = ""
    status: str = ""
    owner: str = ""  # "", "me", "none" or a user id
    q: str = ""
    drift: str = ""  # "" or DRIFT_BREAKING
    range: str = "24h"
    page: int = 1

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        resource = query.get("resource", "")
        status = query.get("status", "")
        owner = query.get("owner", "")
        chart_range = query.get("range", "24h")
        return cls(
            sandbox=positive_int(query.get("sandbox")),
            account=positive_int(query.get("account")),
            resource=resource if resource in STRIPE_RESOURCE_PATHS else "",
            status=status if status in Health.values else "",
            owner=owner if owner in ("me", "none") or positive_int(owner) else "",
            # PostgreSQL text cannot hold NUL, and a search term never needs it.
            q=query.get("q", "").replace("\x00", "").strip()[:100],
            drift=DRIFT_BREAKING if query.get("drift") == DRIFT_BREAKING else "",
            range=chart_range if chart_range in RANGES else "24h",
            page=positive_int(query.get("page")) or 1,
        )

    def querystring(self, **changes) -> str:
        values = {
            "sandbox": self.sandbox or "",
            "account": self.account or "",
            "resource": self.resource,
            "status": self.status,
            "owner": self.owner,
            "q": self.q,
            "drift": self.drift,
            "range": self.range if self.range != "24h" else "",
            "page": self.page if self.page > 1 else "",
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})

    @property
    def narrowed(self) -> bool:
        return any([self.sandbox, self.account, self.resource, self.owner, self.q, self.drift])

    @property
    def narrowed_to_flows(self) -> bool:
        """Filters finer than a sandbox: the chart must sum the chosen flows' buckets."""
        return any([self.account, self.resource, self.owner, self.q, self.drift])


def flows_matching(filters: Filters, user) -> QuerySet[Dataflow]:
    """Flows matching every filter except status (the health tiles count per status)."""
    flows = Dataflow.objects.all()
    if filters.sandbox:
        flows = flows.filter(sandbox_id=filters.sandbox)
    if filters.account:
        flows = flows.filter(account_id=filters.account)
    if filters.resource:
        flows = flows.filter(resource_path=filters.resource)
    if filters.owner == "me":
        flows = flows.filter(owner=user)
    elif filters.owner == "none":
        flows = flows.filter(owner=None)
    elif filters.owner:
        flows = flows.filter(owner_id=int(filters.owner))
    if filters.q:
        flows = flows.filter(
            Q(name__icontains=filters.q) | Q(flow_id=filters.q) | Q(resource_path=filters.q)
        )
    if filters.drift:
        flows = flows.filter(BREAKING_DRIFT)
    return flows


def with_status(flows: QuerySet[Dataflow], status: str) -> QuerySet[Dataflow]:
    if status:
        return flows.filter(health=status)
    # Deleted flows keep their history but leave the default list.
    return flows.exclude(health=Health.DELETED)


def severity_ordered(flows: QuerySet[Dataflow]) -> QuerySet[Dataflow]:
    """Flows as the lists show them: most urgent first, each flagged when schema drift breaks
    its mapping (`breaking_drift`, read in the same query)."""
    flagged = ExpressionWrapper(BREAKING_DRIFT, output_field=BooleanField())
    return flows.annotate(breaking_drift=flagged).order_by("severity", "name", "id")


def health_counts(flows: QuerySet[Dataflow]) -> dict[str, int]:
    counts = dict.fromkeys(Health.values, 0)
    for row in flows.order_by().values("health").annotate(n=Count("pk")):
        counts[row["health"]] = row["n"]
    return counts


ACCOUNT_CHOICES_LIMIT = 300


def filter_choices(filters: Filters) -> dict:
    """The choices of the list's filter form (one query each, bounded)."""
    accounts = Account.objects.filter(deleted_at=None)
    if filters.sandbox:
        accounts = accounts.filter(sandbox_id=filters.sandbox)
    account_choices = list(accounts.values_list("pk", "name")[:ACCOUNT_CHOICES_LIMIT])
    return {
        "sandboxes": list(Sandbox.objects.values_list("pk", "display_name")),
        "accounts": account_choices,
        "owners": list(
            User.objects.filter(is_active=True)
            .exclude(groups=None)
            .order_by("username")
            .values_list("pk", "username")[:200]
        ),
        "resources": STRIPE_RESOURCE_PATHS,
        "statuses": STATUS_CHOICES,
    }


class Paged:
    """Where one page of a list sits among all of them: what the pager shows."""

    number: int
    total: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.size + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.total, self.number * self.size)


def page_number(requested: int, total: int) -> int:
    """The page asked for, within 1 and the last page of `total` rows."""
    return min(max(requested, 1), max(1, -(-total // PAGE_SIZE)))


@dataclass
class Page(Paged):
    flows: list[Dataflow]
    number: int
    total: int
    size: int = PAGE_SIZE


def flow_page(filters: Filters, flows: QuerySet[Dataflow], counts: dict[str, int]) -> Page:
    """One page of flows, most urgent first; the total comes from the counts, not a COUNT."""
    if filters.status:
        total = counts.get(filters.status, 0)
    else:
        total = sum(n for h, n in counts.items() if h != Health.DELETED)
    number = page_number(filters.page, total)
    start = (number - 1) * PAGE_SIZE
    # No list shows a secret: their columns stay unread (core.crypto.defer_secrets).
    rows = defer_secrets(
        severity_ordered(with_status(flows, filters.status)).select_related(
            "account", "sandbox", "owner"
        ),
        "account",
        "sandbox",
    ).defer("sync_state")
    return Page(list(rows[start : start + PAGE_SIZE]), number, total)


@dataclass
class FlowList:
    """The overview's list: the health counts of the matching flows and one page of them."""

    filters: Filters
    counts: dict[str, int]
    page: Page


def flow_list(filters: Filters, user) -> FlowList:
    """The one list of dataflows (overview, Support's list, account page, any other caller):
    the filters applied, counted per health and paged, in two queries whatever the size."""
    flows = flows_matching(filters, user)
    counts = health_counts(flows)
    return FlowList(filters, counts, flow_page(filters, flows, counts))


@dataclass
class AccountRow:
    account: Account
    flows: int
    failing: int


@dataclass
class AccountPage(Paged):
    rows: list[AccountRow]
    number: int
    total: int
    size: int = PAGE_SIZE


def account_page(number: int, sandbox: int | None = None) -> AccountPage:
    """One page of the Stripe accounts in use, by name, with their flows and failing flows
    counted from the flows' health column (the page's accounts only): three queries."""
    accounts = Account.objects.filter(deleted_at=None)
    if sandbox:
        accounts = accounts.filter(sandbox_id=sandbox)
    total = accounts.count()
    number = page_number(number, total)
    start = (number - 1) * PAGE_SIZE
    page = list(
        defer_secrets(accounts.select_related("sandbox"), "sandbox")
        .defer("probe_result")
        .order_by("name", "id")[start : start + PAGE_SIZE]
    )
    counts: dict[int, tuple[int, int]] = {
        account_id: (flows, failing)
        for account_id, flows, failing in Dataflow.objects.filter(
            account__in=[a.pk for a in page], deleted_at=None
        )
        .order_by()
        .values("account_id")
        .annotate(flows=Count("pk"), failing=Count("pk", filter=Q(health=Health.FAILING)))
        .values_list("account_id", "flows", "failing")
    }
    rows = [AccountRow(a, *counts.get(a.pk, (0, 0))) for a in page]
    return AccountPage(rows, number, total)


@dataclass
class Chart:
    svg: str
    total_output: int
    total_failed: int
    range: str
    labels: list[str] = field(default_factory=list)


def bucket_starts(now: datetime, chart_range: str) -> list[datetime]:
    granularity, count, step = RANGES[chart_range]
    if granularity == IngestBucket.Granularity.HOUR:
        last = now.replace(minute=0, second=0, microsecond=0)
    else:
        last = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return [last - step * (count - 1 - i) for i in range(count)]


def ingest_chart(filters: Filters, flows: QuerySet[Dataflow]) -> Chart:
    """Records ingested and failed per hour or day, for the flows the filters select.

    Without per-flow filters the sandbox totals answer (a few dozen rows); otherwise the
    buckets of the selected flows are summed.
    """
    granularity = RANGES[filters.range][0]
    starts = bucket_starts(timezone.now(), filters.range)
    rows: QuerySet[IngestBucket] | QuerySet[IngestTotal]
    if filters.narrowed_to_flows:
        rows = IngestBucket.objects.filter(
            granularity=granularity,
            start__gte=starts[0],
            dataflow__in=flows.order_by().values("pk"),
        )
    else:
        totals = IngestTotal.objects.filter(granularity=granularity, start__gte=starts[0])
        if filters.sandbox:
            totals = totals.filter(sandbox_id=filters.sandbox)
        rows = totals
    sums: dict[datetime, Mapping[str, Any]] = {
        row["start"]: row
        for row in rows.values("start").annotate(
            output=Sum("output_records"), failed=Sum("failed_records")
        )
    }
    output = [sums.get(s, {}).get("output") or 0 for s in starts]
    failed = [sums.get(s, {}).get("failed") or 0 for s in starts]
    labels = [_bucket_label(s, granularity) for s in starts]
    svg = charts.bar_chart(
        labels,
        [
            charts.Series("out", str(_("Ingested")), output),
            charts.Series("failed", str(_("Failed")), failed),
        ],
        title=str(_("Records ingested")),
        stacked=True,
    )
    return Chart(svg, sum(output), sum(failed), filters.range, labels)


def _bucket_label(start: datetime, granularity: str) -> str:
    local = timezone.localtime(start)
    return (
        local.strftime("%H:%M")
        if granularity == IngestBucket.Granularity.HOUR
        else date_format(local, str(_("M d")))
    )


def attention_summary() -> dict[str, int]:
    """Failing, late and stale flows across the installation, and active flows whose mapping
    schema drift breaks, for the banner on every page: one query, each half on its index."""
    summary = {"failing": 0, "late": 0, "stale": 0, "drift": 0}
    by_health = (
        Dataflow.objects.filter(health__in=[Health.FAILING, Health.LATE])
        .order_by()
        .values_list("health", "late_reason")
        .annotate(n=Count("pk"))
    )
    drifting = (
        SchemaDrift.objects.filter(has_breaking=True, dataflow__enabled=True)
        .filter(dataflow__deleted_at=None)
        .order_by()
        .annotate(kind=Value("drift"), reason=Value(""))
        .values_list("kind", "reason")
        .annotate(n=Count("pk"))
    )
    for health, late_reason, n in by_health.union(drifting, all=True):
        if health == "drift":
            summary["drift"] += n
        elif health == Health.FAILING:
            summary["failing"] += n
        elif late_reason == "stale":
            summary["stale"] += n
        else:
            summary["late"] += n
    return summary


def run_chart(runs: list) -> dict[str, str]:
    """Per-run records (in / out / failed) and duration, oldest on the left."""
    runs = list(reversed(runs))
    labels = [timezone.localtime(r.created_at).strftime("%H:%M") for r in runs]
    tips = [date_format(timezone.localtime(r.created_at), str(_("M d, H:i"))) for r in runs]
    records = charts.bar_chart(
        labels,
        [
            charts.Series("in", str(_("Read")), [r.input_records for r in runs]),
            charts.Series("out", str(_("Ingested")), [r.output_records for r in runs]),
            charts.Series("failed", str(_("Failed")), [r.failed_records for r in runs]),
        ],
        title=str(_("Records per run")),
        tooltips=tips,
    )
    durations = [r.duration.total_seconds() if r.duration else 0 for r in runs]
    duration = charts.bar_chart(
        labels,
        [charts.Series("duration", str(_("Duration")), durations)],
        title=str(_("Duration per run")),
        height=120,
        fmt=charts.seconds_label,
        scale=charts.duration_scale,
        tooltips=tips,
    )
    return {"records": records, "duration": duration}


def totals_for(flows: QuerySet[Dataflow]) -> dict[str, int]:
    return flows.aggregate(records_24h=Sum("records_24h"), records_7d=Sum("records_7d"))


def listed_flows(filters: Filters, user) -> QuerySet[Dataflow]:
    """Every flow the overview's list shows for `filters`, in its order (the API and the
    exports page through it; the overview takes one page of the same rows)."""
    flows = with_status(flows_matching(filters, user), filters.status)
    return severity_ordered(flows).select_related("account", "sandbox", "owner")


def alert_history(query: Mapping[str, str]) -> QuerySet[Alert]:
    """The alert list's filters: `state` (open or resolved) and one `dataflow`, newest first."""
    alerts = Alert.objects.order_by("-opened_at")
    state = query.get("state", "")
    if state == "open":
        alerts = alerts.filter(resolved_at=None)
    elif state == "resolved":
        alerts = alerts.exclude(resolved_at=None)
    if (flow_pk := positive_int(query.get("dataflow"))) is not None:
        alerts = alerts.filter(dataflow_id=flow_pk)
    return alerts
