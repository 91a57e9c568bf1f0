"""Sync cycles over 1,000 and 10,000 flows against the AEP emulator, next to a bare loop.

    .venv/bin/python bench/monitoring_sync.py [--flows 1000 10000] [--concurrency 8]
        [--cycles 10] [--bare-loops 3] [--database bench_monitoring_sync]

For each size: starts the Stripe stand-in and a fresh AEP emulator, creates the flows in the
emulator with the product's AEP client (scheduled daily, so each has its backfill run and
nothing more during the benchmark), discovers them into PostgreSQL, then:

* cycle 0: the first sync of every flow (stores each flow's backfill run);
* cycles 1..N: quiet cycles, what beat does all day: every flow due, grouped into batches by
  `monitoring.sync.plan_batches` as the scheduler groups them, each batch run by the real task
  body (`monitoring.tasks.sync_dataflows`) in a pool of threads, as a threaded worker would;
* the bare loop: one `GET /runs?property=flowId==X&property=createdAt>=…` per flow (what the
  sync sent before batching) with plain `requests`, one session per thread, same concurrency.

Prints, per size, the requests of a quiet cycle (counted at the HTTP layer), the median quiet
cycle and bare loop, their ratio and the process's resident memory after each cycle. Exits
non-zero unless: quiet-cycle requests <= flows/25; at the largest size the ratio <= 0.25 and
the first sync under 5 minutes; memory flat (growth under 10 MB over the cycles). The last
line is `sync: flows=N requests_per_quiet_cycle=R quiet_cycle_s=S bare_loop_s=B ratio=S/B`
for the largest size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.monitoring_pages import create_database, setup_django  # noqa: E402

RUNS_PATH = "/data/foundation/flowservice/runs"
FIRST_SYNC_LIMIT_S = 300


@dataclass
class SizeResult:
    flows: int
    create_s: float
    first_sync_s: float
    runs_stored: int
    requests_per_quiet_cycle: int
    quiet_cycle_s: float
    bare_loop_s: float
    memory: list[float]

    @property
    def ratio(self) -> float:
        return self.quiet_cycle_s / self.bare_loop_s

    @property
    def growth(self) -> float:
        return self.memory[-1] - self.memory[0]

    def line(self) -> str:
        return (
            f"sync: flows={self.flows} requests_per_quiet_cycle={self.requests_per_quiet_cycle} "
            f"quiet_cycle_s={self.quiet_cycle_s:.2f} bare_loop_s={self.bare_loop_s:.2f} "
            f"ratio={self.ratio:.2f}"
        )


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RunsRequests:
    """Counts the GET /runs requests the product sends (at the HTTP layer, under the client)."""

    def __init__(self) -> None:
        import requests

        self.count = 0
        self._lock = threading.Lock()
        real_send = requests.Session.send
        counter = self

        def send(session, request, **kwargs):
            if urlsplit(request.url).path == RUNS_PATH:
                with counter._lock:
                    counter.count += 1
            return real_send(session, request, **kwargs)

        self._patch = patch.object(requests.Session, "send", send)

    def __enter__(self) -> RunsRequests:
        self._patch.start()
        return self

    def __exit__(self, *exc) -> None:
        self._patch.stop()


def start_servers(tmp: Path):
    from emulators.aep.testing import start_aep_emulator
    from emulators.stripe.testing import start_stripe_stand_in

    stripe = start_stripe_stand_in(tmp / "stripe", charges=0)
    aep = start_aep_emulator(tmp / "aep", stripe.url, time_scale=1)
    return stripe, aep


def create_flows(client, stripe_key: str, count: int, concurrency: int) -> list[str]:
    from tests.emulator_world import add_flow, create_shared_parts, every_minutes

    parts = create_shared_parts(client, stripe_key)
    daily = every_minutes(24 * 60)
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda _: add_flow(client, parts, schedule=daily), range(count)))


def wait_for_runs(client, count: int, timeout: float = 1800) -> None:
    """Until every flow's backfill run has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = client.flowservice.count(
            "runs", properties=["metrics.statusSummary.status==success"]
        )
        if done >= count:
            return
        print(f"  {done}/{count} flows have finished their first run", flush=True)
        time.sleep(5)
    raise SystemExit("the emulator did not run every flow in time")


def sync_cycle(pool: ThreadPoolExecutor, pks: list[int]) -> tuple[float, dict[str, int]]:
    """Every flow due at once: batches as the scheduler plans them, run by the task body."""
    from monitoring.models import Dataflow
    from monitoring.scheduler import due_flows
    from monitoring.sync import plan_batches
    from monitoring.tasks import sync_dataflows

    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def one(batch: list[int]) -> None:
        counts = sync_dataflows(batch)
        with lock:
            for status, n in counts.items():
                outcomes[status] = outcomes.get(status, 0) + n

    Dataflow.objects.filter(pk__in=pks).update(next_sync_at=time_now())
    started = time.perf_counter()
    flows = due_flows(time_now(), len(pks))
    batches = [[flow.pk for flow in batch] for batch in plan_batches(flows)]
    list(pool.map(one, batches))
    return time.perf_counter() - started, outcomes


def time_now():
    from django.utils import timezone

    return timezone.now()


def bare_loop(pool: ThreadPoolExecutor, aep_url: str, token: str, requests_params) -> float:
    """One GET /runs per flow with plain requests: one Session per thread."""
    import requests

    from emulators.aep.testing import DEMO_CLIENT_ID, DEMO_ORG_ID

    local = threading.local()
    headers = {
        "Authorization": f"Bearer {token}",
        "x-api-key": DEMO_CLIENT_ID,
        "x-gw-ims-org-id": DEMO_ORG_ID,
        "x-sandbox-name": "prod",
    }

    def one(params: list) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        response = session.get(aep_url + RUNS_PATH, params=params, headers=headers, timeout=60)
        response.raise_for_status()
        response.json()

    started = time.perf_counter()
    list(pool.map(one, requests_params))
    return time.perf_counter() - started


def per_flow_params(pks: list[int]) -> list[list]:
    """What each flow's own sync asked before batching: its runs from its newest stored one."""
    from django.db.models import Max

    from monitoring.models import Dataflow
    from monitoring.sync import to_epoch_ms

    params = []
    for flow_id, newest in (
        Dataflow.objects.filter(pk__in=pks)
        .annotate(newest=Max("runs__created_at"))
        .values_list("flow_id", "newest")
    ):
        params.append(
            [
                ("property", f"flowId=={flow_id}"),
                ("property", f"createdAt>={to_epoch_ms(newest)}"),
                ("orderby", "createdAt"),
                ("limit", 100),
            ]
        )
    return params


def measure(count: int, args) -> SizeResult:
    from django.test.utils import override_settings

    from emulators.aep.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_ORG_ID, fetch_token
    from monitoring.clients import client_for
    from monitoring.discovery import discover
    from monitoring.models import Dataflow, Run, Sandbox
    from tests.base import make_sandbox

    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    stripe, aep = start_servers(tmp)
    prefix = f"bench-monitoring-{uuid.uuid4().hex[:8]}"
    print(f"\n== {count:,} flows ==", flush=True)
    try:
        with override_settings(MONITORING_REDIS_PREFIX=prefix, AEP_TIMEOUT_SECONDS=60):
            Sandbox.objects.all().delete()
            sandbox = make_sandbox(
                org_id=DEMO_ORG_ID, client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET,
                platform_url=aep.url, ims_url=aep.url,
            )  # fmt: skip
            sandbox.refresh_from_db()
            client = client_for(sandbox)
            started = time.perf_counter()
            flow_ids = create_flows(client, stripe.secret_key, count, args.concurrency)
            create_s = time.perf_counter() - started
            print(f"created {len(flow_ids):,} flows in {create_s:.1f}s", flush=True)
            wait_for_runs(client, count)
            discover(sandbox, client)
            pks = list(Dataflow.objects.filter(sandbox=sandbox).values_list("pk", flat=True))
            print(f"discovered {len(pks):,} flows; memory {rss_mb():.1f} MB", flush=True)

            # Like a threaded worker: the same threads (with their database connections and
            # HTTP sessions) serve every cycle. The bare loop gets threads of its own.
            workers = ThreadPoolExecutor(args.concurrency)
            bare = ThreadPoolExecutor(args.concurrency)
            first_sync_s, outcomes = sync_cycle(workers, pks)
            stored = Run.objects.filter(dataflow__sandbox=sandbox).count()
            print(f"cycle 0 (first sync): {first_sync_s:.2f}s {outcomes}; {stored:,} runs "
                  f"stored; memory {rss_mb():.1f} MB", flush=True)  # fmt: skip
            params = per_flow_params(pks)
            token = fetch_token(aep.url)
            bare_loop(bare, aep.url, token, params[:200])  # warm the bare loop's connections
            sync_times, bare_times, memory, requests_counts = [], [], [], []
            for cycle in range(1, args.cycles + 1):
                if cycle <= args.bare_loops:
                    bare_times.append(bare_loop(bare, aep.url, token, params))
                with RunsRequests() as sent:
                    seconds, outcomes = sync_cycle(workers, pks)
                sync_times.append(seconds)
                requests_counts.append(sent.count)
                memory.append(rss_mb())
                bare_text = (
                    f" · bare loop {bare_times[-1]:.2f}s" if cycle <= args.bare_loops else ""
                )
                print(f"cycle {cycle}: sync {seconds:.2f}s, {sent.count} requests {outcomes}"
                      f"{bare_text} · memory {memory[-1]:.1f} MB", flush=True)  # fmt: skip
            workers.shutdown()
            bare.shutdown()
    finally:
        aep.stop()
        stripe.stop()
    return SizeResult(
        flows=count,
        create_s=create_s,
        first_sync_s=first_sync_s,
        runs_stored=stored,
        requests_per_quiet_cycle=max(requests_counts),
        quiet_cycle_s=statistics.median(sync_times),
        bare_loop_s=statistics.median(bare_times),
        memory=memory,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--bare-loops", type=int, default=3, help="bare loops per size (median)")
    parser.add_argument("--database", default="bench_monitoring_sync")
    args = parser.parse_args()
    create_database(args.database)
    setup_django(args.database)
    results = [measure(count, args) for count in sorted(args.flows)]

    from django.db import connections

    connections.close_all()
    create_database(args.database)  # leave it empty

    print("\n| flows | first sync s | requests / quiet cycle | quiet cycle s | bare loop s | "
          "ratio | memory MB (cycles 1 → N) |")  # fmt: skip
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r.flows:,} | {r.first_sync_s:.1f} | {r.requests_per_quiet_cycle} | "
              f"{r.quiet_cycle_s:.2f} | {r.bare_loop_s:.2f} | {r.ratio:.2f} | "
              f"{r.memory[0]:.1f} → {r.memory[-1]:.1f} |")  # fmt: skip
    largest = results[-1]
    ok = all(r.requests_per_quiet_cycle <= r.flows / 25 and r.growth < 10 for r in results)
    ok = ok and largest.ratio <= 0.25 and largest.first_sync_s < FIRST_SYNC_LIMIT_S
    for r in results:
        print(r.line())
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.exit(main())
