"""Check that a sandbox answers every kind of call the product makes (see monitoring/readiness.py).

    python manage.py aep_readiness --sandbox 3            # read-only
    python manage.py aep_readiness --sandbox prod --write --json report.json

Exits 1 when a check failed, so a deployment script can stop there.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from monitoring import readiness
from monitoring.models import Sandbox

MARKS = {readiness.PASSED: "ok", readiness.WARNING: "warn", readiness.FAILED: "FAIL",
         readiness.SKIPPED: "skip"}  # fmt: skip


class Command(BaseCommand):
    help = "Check that an AEP sandbox answers every call the product makes (read-only by default)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--sandbox", required=True, help="database id, display name or AEP sandbox name"
        )
        parser.add_argument(
            "--write",
            action="store_true",
            help="also create and delete a throw-away class, field group, schema, descriptor "
            "and dataset named stripe-sources-readiness-<timestamp>",
        )
        parser.add_argument("--json", help="also write the report (no secrets) to this file")

    def handle(self, *args, **options) -> None:
        sandbox = find_sandbox(options["sandbox"])
        report = readiness.check_sandbox(sandbox, write=options["write"])
        for row in report["checks"]:
            self.stdout.write(format_row(row))
        self.stdout.write(report["summary"])
        if options["json"]:
            Path(options["json"]).write_text(json.dumps(report, indent=2) + "\n")
            self.stderr.write(f"Wrote {options['json']}.")
        if not report["ready"]:
            raise SystemExit(1)


def find_sandbox(value: str) -> Sandbox:
    matches = Sandbox.objects.filter(display_name=value) | Sandbox.objects.filter(
        sandbox_name=value
    )
    if value.isdigit():
        matches = matches | Sandbox.objects.filter(pk=int(value))
    found = list(matches.distinct())
    if len(found) != 1:
        names = ", ".join(f"{s.pk}: {s}" for s in Sandbox.objects.all()) or "none"
        problem = "No sandbox" if not found else "More than one sandbox"
        raise CommandError(f"{problem} matches {value!r}. Sandboxes: {names}.")
    return found[0]


def format_row(row: dict) -> str:
    status = str(row["status"] or "-")
    line = (
        f"[{MARKS[row['outcome']]:>4}] {row['call']}: {status} {row['ms']} ms"
        f"{' · ' + row['request_id'] if row['request_id'] else ''} · {row['detail']}"
    )
    if row["fix"]:
        line += f"\n       → {row['fix']}"
    return line
