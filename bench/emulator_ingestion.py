"""Ingestion throughput of the AEP emulator: Stripe charges per second from the stand-in into a
dataset, for one backfill run.

    .venv/bin/python bench/emulator_ingestion.py [--charges 20000 100000] [--run-timeout 600]

For each size: seeds the stand-in's demo account with that many charges (and their customers,
refunds, balance transactions, subscriptions and prices) in a temporary SQLite file, starts the
stand-in and the emulator on free loopback ports with temporary databases, builds a charges
pipeline through the emulator's own API (connection, source, schema, dataset, target, mapping
set, then a daily flow whose first window, a backfill, ends tomorrow so the scheduler leaves it
alone) and forces that window with ``POST /__emulator__/flows/{id}/run-now``, which answers when
the run has ended. Prints a Markdown table: records, the run's own ``durationSummary`` and its
copy (waiting for Stripe) and promotion (map, validate, stage and promote the records)
activities, the wall time of the whole call, records per second from both, and the emulator's
peak RSS (Linux ``VmHWM``) before and after the run. Everything stops by itself; only loopback
is used.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from emulators.aep.testing import (
    PlatformSession,
    build_stripe_pipeline,
    create_flow,
    expect,
    start_aep_emulator,
)
from emulators.process import ServerProcess
from emulators.stripe.seed import seed
from emulators.stripe.testing import start_stripe_stand_in

DAY = 86_400


@dataclass
class Result:
    charges: int
    seed_seconds: float
    status: str
    records: int
    stored: int
    run_seconds: float
    copy_seconds: float
    promotion_seconds: float
    wall_seconds: float
    rss_before_mb: float
    rss_peak_mb: float

    @property
    def run_rate(self) -> float:
        return self.records / self.run_seconds if self.run_seconds else 0.0

    @property
    def wall_rate(self) -> float:
        return self.records / self.wall_seconds if self.wall_seconds else 0.0


def peak_rss_mb(pid: int) -> float:
    """The process's resident-set high-water mark (``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc: peak RSS needs Linux")


def activity_seconds(run: dict[str, Any], activity_id: str) -> float:
    for activity in run.get("activities", []):
        if activity.get("id") == activity_id:
            duration = activity.get("durationSummary", {})
            return (duration["completedAtUTC"] - duration["startedAtUTC"]) / 1000
    return 0.0


def stored_records(aep: ServerProcess, dataset_id: str, run_id: str) -> int:
    page = requests.get(
        f"{aep.url}/__emulator__/datasets/{dataset_id}/records",
        params={"runId": run_id, "limit": 1},
        timeout=60,
    )
    page.raise_for_status()
    return page.json()["_page"]["total"]


def backfill_flow(aep: ServerProcess, stripe_key: str) -> tuple[str, str]:
    """A charges pipeline and a daily flow that only run-now will start; (flow id, dataset id)."""
    with PlatformSession(aep.url) as session:
        pipeline = build_stripe_pipeline(session, stripe_key)
        tomorrow = int(time.time()) + DAY
        schedule = {"startTime": str(tomorrow), "frequency": "day", "interval": 1}
        flow_id = create_flow(session, pipeline, schedule, name="Ingestion benchmark")
    return flow_id, pipeline.dataset_id


def measure(charges: int, run_timeout: float) -> Result:
    with tempfile.TemporaryDirectory(prefix="aep-ingestion-bench-") as tmp:
        workdir = Path(tmp)
        stripe_db = workdir / "stripe.sqlite3"
        seeded = seed(stripe_db, charges)
        stripe = start_stripe_stand_in(workdir, charges=0, db_path=stripe_db)
        aep = start_aep_emulator(workdir, stripe.url)
        try:
            flow_id, dataset_id = backfill_flow(aep, stripe.secret_key)
            rss_before = peak_rss_mb(aep.process.pid)
            began = time.perf_counter()
            response = requests.post(
                f"{aep.url}/__emulator__/flows/{flow_id}/run-now", timeout=run_timeout
            )
            wall = time.perf_counter() - began
            run = expect(response, 201)
            rss_peak = peak_rss_mb(aep.process.pid)
            stored = stored_records(aep, dataset_id, run["id"])
        finally:
            aep.stop()
            stripe.stop()
    metrics = run["metrics"]
    duration = metrics["durationSummary"]
    return Result(
        charges=charges,
        seed_seconds=seeded.seconds,
        status=metrics["statusSummary"]["status"],
        records=metrics["recordSummary"].get("outputRecordCount", 0),
        stored=stored,
        run_seconds=(duration["completedAtUTC"] - duration["startedAtUTC"]) / 1000,
        copy_seconds=activity_seconds(run, "copyActivity"),
        promotion_seconds=activity_seconds(run, "promotionActivity"),
        wall_seconds=wall,
        rss_before_mb=rss_before,
        rss_peak_mb=rss_peak,
    )


def table(results: list[Result]) -> str:
    lines = [
        "| Charges | Status | Records ingested | Run s (copy + promotion) | Records/s (run) "
        "| Wall s (run-now) | Records/s (wall) | Peak RSS MiB (before run) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.charges:,} | {r.status} | {r.records:,} "
            f"| {r.run_seconds:.1f} ({r.copy_seconds:.1f} + {r.promotion_seconds:.1f}) "
            f"| {r.run_rate:,.0f} | {r.wall_seconds:.1f} | {r.wall_rate:,.0f} "
            f"| {r.rss_peak_mb:,.0f} ({r.rss_before_mb:,.0f}) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--charges", type=int, nargs="+", default=[20_000], help="charges per data point"
    )
    parser.add_argument(
        "--run-timeout", type=float, default=600, help="seconds to wait for one run"
    )
    args = parser.parse_args(argv)

    results = []
    for charges in args.charges:
        result = measure(charges, args.run_timeout)
        print(
            f"{charges:,} charges: seeded in {result.seed_seconds:.1f}s; run {result.status}, "
            f"{result.records:,} records reported, {result.stored:,} stored in the dataset",
            file=sys.stderr,
        )
        if result.stored != result.records:
            print("the dataset does not hold what the run reported", file=sys.stderr)
            return 1
        results.append(result)
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
