"""The account page: a Stripe account, its key, its dataflows and their health, and (for
those who may) Support's actions on it."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.views.decorators.vary import vary_on_headers

from core.decorators import requires
from core.http import AuthenticatedHttpRequest, positive_int
from monitoring import queries
from monitoring.models import Account, Dataflow
from monitoring.views.pages import refresh_part


@requires("view_monitoring")
@vary_on_headers("HX-Request")
def account_detail(request: AuthenticatedHttpRequest, pk: int):
    account = get_object_or_404(
        Account.objects.select_related("sandbox").defer("access_token"), pk=pk
    )
    filters = queries.Filters(account=account.pk, page=positive_int(request.GET.get("page")) or 1)
    flows = queries.flow_list(filters, request.user)
    context = {
        "account": account,
        "filters": filters,
        "counts": flows.counts,
        "page": flows.page,
        "totals": queries.totals_for(
            Dataflow.objects.filter(account=account).exclude(health=Dataflow.Health.DELETED)
        ),
    }
    template = refresh_part(request, "monitoring/account_detail.html", ("live",))
    if "#" not in template:
        context["attention"] = queries.attention_summary()
    return render(request, template, context)
