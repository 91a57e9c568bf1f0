"""Disable, enable, retry or delete one dataflow from the command line."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from monitoring.aep import client_for
from operations import impact, planning
from operations.cli import (
    DRY_RUN_DONE,
    add_action_arguments,
    confirmed_delete,
    delete_choices,
    describe_steps,
    find_dataflow,
    operator,
    require_reason,
    run_flow_action,
)
from operations.models import Operation


class Command(BaseCommand):
    help = (
        "Disable, enable, retry the failed runs of, or delete a dataflow in AEP, as a user "
        "with the Support or Admin role. --dry-run shows what would happen and changes nothing."
    )

    def add_arguments(self, parser) -> None:
        add_action_arguments(parser, "dataflow", "database id or AEP flow id")

    def handle(self, *args, **options) -> None:
        user = operator(options["user"])
        dataflow = find_dataflow(options["dataflow"])
        action = options["action"]
        require_reason(options, "a dataflow")
        if action == "delete":
            self._delete(user, dataflow, options)
            return
        kind, steps = self._plan(action, dataflow)
        if not steps:
            self.stdout.write("Nothing to do.")
            return
        self.stdout.write(f"{dataflow.name} ({dataflow.flow_id}):")
        describe_steps(steps, self.stdout.write)
        if options["dry_run"]:
            self.stdout.write(DRY_RUN_DONE)
            return
        run_flow_action(kind, dataflow, steps, user=user, options=options, write=self.stdout.write)
        self.stdout.write(self.style.SUCCESS("Done."))

    def _plan(self, action: str, dataflow) -> tuple[str, list[dict]]:
        if action == "retry":
            runs = impact.failed_runs([dataflow])
            return Operation.Kind.RUNS_RETRY, planning.retry_steps(runs)
        if action == "enable":
            estimate = impact.backfill_estimate(dataflow)
            self.stdout.write(f"AEP will create about {estimate['count']} backfill run(s).")
            extra = {"backfill_runs_expected": estimate["count"]}
            return Operation.Kind.DATAFLOW_ENABLE, planning.flow_action_steps(
                dataflow, "enable", extra
            )
        return Operation.Kind.DATAFLOW_DISABLE, planning.flow_action_steps(dataflow, "disable")

    def _delete(self, user, dataflow, options) -> None:
        if options["dry_run"]:
            found = impact.dataflow_impact(client_for(dataflow.sandbox), dataflow)
            steps = planning.delete_steps(found, **delete_choices(options))
            describe_steps(steps, self.stdout.write)
            self.stdout.write(DRY_RUN_DONE)
            return
        confirmed_delete(
            Operation.Kind.DATAFLOW_DELETE,
            dataflow,
            user=user,
            options=options,
            write=self.stdout.write,
        )
        self.stdout.write(self.style.SUCCESS("Deleted."))
