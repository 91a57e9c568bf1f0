"""Disable, enable, retry or delete one dataflow from the command line."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from operations import impact, steps
from operations.management.cli import (
    DRY_RUN_DONE,
    add_action_arguments,
    confirmed_delete,
    describe_steps,
    dry_run_delete,
    find_dataflow,
    operator,
    require_reason,
    run_flow_action,
)
from operations.models import Operation
from operations.resume import resume_time_problem

RESUME_EXAMPLE = "2026-12-01T09:00+09:00"


class Command(BaseCommand):
    help = (
        "Disable, enable, retry the failed runs of, or delete a dataflow in AEP, as a user "
        "with the Support or Admin role. --dry-run shows what would happen and changes nothing."
    )

    def add_arguments(self, parser) -> None:
        add_action_arguments(parser, "dataflow", "database id or AEP flow id")
        parser.add_argument(
            "--resume-at",
            default="",
            help=f"disable: enable again at this time, with its UTC offset ({RESUME_EXAMPLE})",
        )

    def handle(self, *args, **options) -> None:
        user = operator(options["user"])
        dataflow = find_dataflow(options["dataflow"])
        action = options["action"]
        require_reason(options, "a dataflow")
        resume_at = parse_resume_at(options["resume_at"], action)
        if action == "delete":
            self._delete(user, dataflow, options)
            return
        kind, steps = self._plan(action, dataflow, resume_at)
        if not steps:
            self.stdout.write("Nothing to do.")
            return
        self.stdout.write(f"{dataflow.name} ({dataflow.flow_id}):")
        describe_steps(steps, self.stdout.write)
        if options["dry_run"]:
            self.stdout.write(DRY_RUN_DONE)
            return
        run_flow_action(
            kind,
            dataflow,
            steps,
            user=user,
            options=options,
            write=self.stdout.write,
            resume_at=resume_at,
        )
        self.stdout.write(self.style.SUCCESS("Done."))

    def _plan(self, action: str, dataflow, resume_at=None) -> tuple[str, list[dict]]:
        if action == "retry":
            runs = impact.failed_runs([dataflow])
            return Operation.Kind.RUNS_RETRY, steps.retry_steps(runs)
        if action == "enable":
            estimate = impact.backfill_estimate(dataflow)
            self.stdout.write(f"AEP will create about {estimate['count']} backfill run(s).")
            extra = {"backfill_runs_expected": estimate["count"]}
            return Operation.Kind.DATAFLOW_ENABLE, steps.flow_action_steps(
                dataflow, "enable", extra
            )
        extra = {}
        if resume_at is not None:
            self.stdout.write(f"It will be enabled again at {resume_at.isoformat()} (UTC).")
            extra = {"resume_at": resume_at.isoformat()}
        return Operation.Kind.DATAFLOW_DISABLE, steps.flow_action_steps(dataflow, "disable", extra)

    def _delete(self, user, dataflow, options) -> None:
        if options["dry_run"]:
            dry_run_delete(
                Operation.Kind.DATAFLOW_DELETE, dataflow, options=options, write=self.stdout.write
            )
            return
        confirmed_delete(
            Operation.Kind.DATAFLOW_DELETE,
            dataflow,
            user=user,
            options=options,
            write=self.stdout.write,
        )
        self.stdout.write(self.style.SUCCESS("Deleted."))


def parse_resume_at(text: str, action: str) -> datetime | None:
    """--resume-at as an aware UTC time, under the same rules as the Disable page."""
    if not text:
        return None
    if action != "disable":
        raise CommandError("--resume-at goes with disable only")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        message = f"--resume-at={text!r} is not a date and time, e.g. {RESUME_EXAMPLE}"
        raise CommandError(message) from None
    if value.tzinfo is None:
        # A bare time would silently mean the server's zone; say which one you mean.
        raise CommandError(f"--resume-at needs a UTC offset, e.g. {RESUME_EXAMPLE} or …Z")
    if problem := resume_time_problem(value):
        raise CommandError(f"--resume-at: {problem}")
    return value.astimezone(UTC)
