"""Disable, enable, retry or delete (with its dataflows) one account from the command line."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from operations import impact, steps
from operations.management.cli import (
    DRY_RUN_DONE,
    add_action_arguments,
    confirmed_delete,
    describe_steps,
    dry_run_delete,
    find_account,
    operator,
    require_reason,
    run_flow_action,
)
from operations.models import Operation


class Command(BaseCommand):
    help = (
        "Disable, enable or retry the failed runs of every dataflow of an account, or delete "
        "the account with all its dataflows (flows first, as AEP requires). --dry-run changes "
        "nothing."
    )

    def add_arguments(self, parser) -> None:
        add_action_arguments(parser, "account", "database id or AEP base connection id")

    def handle(self, *args, **options) -> None:
        user = operator(options["user"])
        account = find_account(options["account"])
        action = options["action"]
        require_reason(options, "an account")
        if action == "delete":
            self._delete(user, account, options)
            return
        planned = [
            (dataflow, kind, flow_steps)
            for dataflow in account.dataflows.filter(deleted_at=None)
            for kind, flow_steps in [self._plan(action, dataflow)]
            if flow_steps
        ]
        if not planned:
            self.stdout.write("Nothing to do.")
            return
        for dataflow, _kind, flow_steps in planned:
            self.stdout.write(f"{dataflow.name}:")
            describe_steps(flow_steps, self.stdout.write)
        if options["dry_run"]:
            self.stdout.write(DRY_RUN_DONE)
            return
        for dataflow, kind, flow_steps in planned:
            run_flow_action(
                kind, dataflow, flow_steps, user=user, options=options, write=self.stdout.write
            )
        self.stdout.write(self.style.SUCCESS("Done."))

    @staticmethod
    def _plan(action: str, dataflow) -> tuple[str, list[dict]]:
        if action == "retry":
            return Operation.Kind.RUNS_RETRY, steps.retry_steps(impact.failed_runs([dataflow]))
        if action == "enable":
            if dataflow.enabled:
                return Operation.Kind.DATAFLOW_ENABLE, []
            extra = {"backfill_runs_expected": impact.backfill_estimate(dataflow)["count"]}
            return Operation.Kind.DATAFLOW_ENABLE, steps.flow_action_steps(
                dataflow, "enable", extra
            )
        if not dataflow.enabled:
            return Operation.Kind.DATAFLOW_DISABLE, []
        return Operation.Kind.DATAFLOW_DISABLE, steps.flow_action_steps(dataflow, "disable")

    def _delete(self, user, account, options) -> None:
        if options["dry_run"]:
            dry_run_delete(
                Operation.Kind.ACCOUNT_DELETE, account, options=options, write=self.stdout.write
            )
            return
        confirmed_delete(
            Operation.Kind.ACCOUNT_DELETE,
            account,
            user=user,
            options=options,
            write=self.stdout.write,
        )
        self.stdout.write(self.style.SUCCESS("Deleted."))
