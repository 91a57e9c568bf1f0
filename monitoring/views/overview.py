"""The overview page: every dataflow's health, filters, paging and the ingest chart."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.shortcuts import render
from django.views.decorators.vary import vary_on_headers

from core.decorators import requires
from core.http import AuthenticatedHttpRequest
from monitoring import queries
from monitoring.models import (
    Account,
    Sandbox,
)
from monitoring.views.pages import refresh_part

ACCOUNT_CHOICES_LIMIT = 300


@requires("view_monitoring")
@vary_on_headers("HX-Request")
def overview_page(request: AuthenticatedHttpRequest):
    filters = queries.Filters.from_query(request.GET)
    flows = queries.flows_matching(filters, request.user)
    counts = queries.health_counts(flows)
    context = {
        "filters": filters,
        "counts": counts,
        "page": queries.flow_page(filters, flows, counts),
        "chart": queries.ingest_chart(filters, flows),
        "attention": queries.attention_summary(),
        "range_labels": queries.RANGE_LABELS,
    }
    template = refresh_part(request, "monitoring/overview.html", ("live",))
    if template.endswith("#live"):
        return render(request, template, context)
    context.update(_filter_choices(filters))
    return render(request, template, context)


def _filter_choices(filters: queries.Filters) -> dict:
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
        "resources": queries.STRIPE_RESOURCE_PATHS,
        "statuses": queries.STATUS_CHOICES,
    }
