"""Create a dataflow from a JSON plan in a sandbox (usually another one than it came from)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from aep.errors import AEPError
from core.explain import explain_aep_error
from monitoring.clients import client_for
from monitoring.models import Sandbox
from operations.management.cli import operator
from operations.plans import ApplyOptions, PlanError, apply_plan, mirror_applied, resolved_steps


class Command(BaseCommand):
    help = (
        "Apply a plan written by ops_export_plan to a sandbox. The Stripe key is never in a "
        "plan: reuse a base connection (--connection-id) or name an environment variable that "
        "holds the key (--stripe-key-env). --dry-run prints every payload and creates nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("plan", help="the JSON plan file")
        parser.add_argument("--sandbox", required=True, help="target sandbox: id or display name")
        parser.add_argument("--user", required=True, help="who acts (recorded in the audit)")
        parser.add_argument("--connection-id", default="", help="reuse this base connection")
        parser.add_argument("--stripe-key-env", default="", help="env variable with the key")
        parser.add_argument("--dataset-id", default="", help="reuse this dataset")
        parser.add_argument("--schema-id", default="", help="the schema's id in the target")
        parser.add_argument("--name", default="", help="name of the new dataflow")
        parser.add_argument("--reason", default="")
        parser.add_argument("--ticket", default="")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, **options) -> None:
        user = operator(options["user"])
        sandbox = self._sandbox(options["sandbox"])
        plan = json.loads(Path(options["plan"]).read_text())
        key = os.environ.get(options["stripe_key_env"], "") if options["stripe_key_env"] else ""
        if options["stripe_key_env"] and not key and not options["dry_run"]:
            raise CommandError(f"environment variable {options['stripe_key_env']} is empty")
        apply_options = ApplyOptions(
            connection_id=options["connection_id"],
            stripe_key=key or ("(from environment)" if options["dry_run"] else ""),
            dataset_id=options["dataset_id"],
            schema_id=options["schema_id"],
            name=options["name"],
        )
        try:
            steps = resolved_steps(plan, apply_options)
        except PlanError as exc:
            raise CommandError(str(exc)) from exc
        if options["dry_run"]:
            for step in steps:
                if step.get("reuse"):
                    self.stdout.write(f"{step['ref']}: reuse {step['reuse']}")
                else:
                    self.stdout.write(f"{step['method']} {step['path']}")
                    self.stdout.write(json.dumps(step["body"], indent=2))
            self.stdout.write("Dry run: nothing was created.")
            return
        try:
            ids = apply_plan(
                client_for(sandbox),
                sandbox,
                steps,
                apply_options,
                actor=user,
                reason=options["reason"],
                ticket=options["ticket"],
                say=self.stdout.write,
            )
        except AEPError as exc:
            raise CommandError(
                f"{explain_aep_error(exc)}\nObjects created before the failure are listed above."
            ) from exc
        dataflow = mirror_applied(sandbox, plan, steps, ids, user)
        self.stdout.write(self.style.SUCCESS(f"Created dataflow {dataflow.name} ({ids['flow']})."))

    @staticmethod
    def _sandbox(key: str) -> Sandbox:
        found = (
            Sandbox.objects.filter(pk=int(key))
            if key.isdigit()
            else Sandbox.objects.filter(display_name=key)
        )
        if len(found) != 1:
            raise CommandError(f"no single sandbox {key!r}")
        return found[0]
