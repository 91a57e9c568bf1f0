"""What Support's lists add to monitoring's list of dataflows: each flow's last support action."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import OuterRef, Subquery

from monitoring.models import Dataflow
from operations.models import Operation


def attach_last_operations(flows: Sequence[Dataflow]) -> None:
    """Set `last_operation` (or None) on each flow of a page: one query, on the
    (dataflow, -created) index, for the page's flows only."""
    latest = Operation.objects.filter(dataflow=OuterRef("pk")).order_by("-created").values("pk")[:1]
    newest = Dataflow.objects.filter(pk__in=[flow.pk for flow in flows]).values(
        operation=Subquery(latest)
    )
    operations = {
        operation.dataflow_id: operation
        for operation in Operation.objects.filter(pk__in=newest).only(
            "kind", "status", "created", "actor_id", "dataflow_id"
        )
    }
    for flow in flows:
        flow.last_operation = operations.get(flow.pk)  # type: ignore[attr-defined]
