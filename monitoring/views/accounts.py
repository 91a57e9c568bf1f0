"""The account page: a Stripe account's dataflows and their health."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.views.decorators.vary import vary_on_headers

from core.decorators import requires
from core.http import AuthenticatedHttpRequest
from monitoring import queries
from monitoring.models import (
    Account,
    Dataflow,
)
from monitoring.views.pages import refresh_part

ACCOUNT_FLOWS_LIMIT = 200


@requires("view_monitoring")
@vary_on_headers("HX-Request")
def account_detail(request: AuthenticatedHttpRequest, pk: int):
    account = get_object_or_404(Account.objects.select_related("sandbox"), pk=pk)
    flows = Dataflow.objects.filter(account=account)
    context = {
        "account": account,
        "counts": queries.health_counts(flows),
        "flows": list(
            queries.severity_ordered(flows).select_related("owner")[:ACCOUNT_FLOWS_LIMIT]
        ),
        "totals": queries.totals_for(flows.exclude(health=Dataflow.Health.DELETED)),
    }
    template = refresh_part(request, "monitoring/account_detail.html", ("live",))
    if "#" not in template:
        context["attention"] = queries.attention_summary()
    return render(request, template, context)
