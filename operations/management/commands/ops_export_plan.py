"""Write a dataflow as a JSON plan: every AEP payload that builds it, secrets redacted."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from monitoring.clients import client_for
from operations.management.cli import find_dataflow
from operations.plans import PlanError, export_plan


class Command(BaseCommand):
    help = "Export a dataflow (its connections, dataset, mapping and flow) as a JSON plan."

    def add_arguments(self, parser) -> None:
        parser.add_argument("dataflow", help="database id or AEP flow id")
        parser.add_argument("--out", help="file to write (default: standard output)")

    def handle(self, *args, **options) -> None:
        dataflow = find_dataflow(options["dataflow"])
        try:
            plan = export_plan(client_for(dataflow.sandbox), dataflow)
        except PlanError as exc:
            raise CommandError(str(exc)) from exc
        text = json.dumps(plan, indent=2, sort_keys=False) + "\n"
        if options["out"]:
            Path(options["out"]).write_text(text)
            self.stderr.write(f"Wrote {options['out']} ({len(plan['steps'])} steps).")
        else:
            self.stdout.write(text, ending="")
