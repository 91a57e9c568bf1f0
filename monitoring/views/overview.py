"""The overview page: every dataflow's health, filters, paging and the ingest chart."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.vary import vary_on_headers

from core.decorators import requires
from core.http import AuthenticatedHttpRequest
from monitoring import queries
from monitoring.views.pages import refresh_part


@requires("view_monitoring")
@vary_on_headers("HX-Request")
def overview_page(request: AuthenticatedHttpRequest):
    filters = queries.Filters.from_query(request.GET)
    flows = queries.flow_list(filters, request.user)
    context = {
        "filters": filters,
        "counts": flows.counts,
        "page": flows.page,
        "chart": queries.ingest_chart(filters, queries.flows_matching(filters, request.user)),
        "attention": queries.attention_summary(),
        "range_labels": queries.RANGE_LABELS,
    }
    template = refresh_part(request, "monitoring/overview.html", ("live",))
    if template.endswith("#live"):
        return render(request, template, context)
    context.update(queries.filter_choices(filters))
    return render(request, template, context)
