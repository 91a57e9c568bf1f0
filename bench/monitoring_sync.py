"""One sync cycle over many flows against the AEP emulator, next to a bare `requests` loop.

    .venv/bin/python bench/monitoring_sync.py [--flows 1000] [--concurrency 8] [--cycles 10]
        [--database bench_monitoring_sync]

Starts the Stripe stand-in and the AEP emulator, creates the flows in the emulator with the
product's AEP client (every 15 minutes, so each has its backfill run and nothing more during
the benchmark), discovers them into PostgreSQL, then:

* cycle 0: the first sync of every flow (stores each flow's run);
* cycles 1..N: steady-state syncs, what beat does all day: one request per flow, nothing new;
* the bare loop: the same GET /runs requests (same filters, same headers), same concurrency,
  one `requests.Session` per thread, nothing else.

The sync runs the real task body (`monitoring.tasks.sync_dataflow`) in a thread pool, as a
threaded worker would. Prints the times, the ratio (must stay at or below 1.5) and the
process's resident memory after each cycle (must stay flat).
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.monitoring_pages import create_database, setup_django  # noqa: E402

RUNS_PATH = "/data/foundation/flowservice/runs"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_servers(tmp: Path):
    from emulators.aep.testing import start_aep_emulator
    from emulators.stripe.testing import start_stripe_stand_in

    stripe = start_stripe_stand_in(tmp / "stripe", charges=0)
    aep = start_aep_emulator(tmp / "aep", stripe.url, time_scale=1)
    return stripe, aep


def create_flows(client, stripe_key: str, count: int, concurrency: int) -> list[str]:
    from tests.emulator_world import add_flow, create_shared_parts, every_minutes

    parts = create_shared_parts(client, stripe_key)
    with ThreadPoolExecutor(concurrency) as pool:
        return list(
            pool.map(lambda _: add_flow(client, parts, schedule=every_minutes(15)), range(count))
        )


def wait_for_runs(client, flow_ids: list[str], timeout: float = 600) -> None:
    """Until every flow's backfill run has finished."""
    wanted = set(flow_ids)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = {
            run.flow_id
            for run in client.flowservice.list_runs(
                properties=["metrics.statusSummary.status==success"], limit=1000
            )
        }
        if wanted <= done:
            return
        print(f"  {len(wanted & done)}/{len(wanted)} flows have finished their first run")
        time.sleep(3)
    raise SystemExit("the emulator did not run every flow in time")


def sync_cycle(pool: ThreadPoolExecutor, pks: list[int]) -> tuple[float, dict[str, int]]:
    from monitoring.tasks import sync_dataflow

    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def one(pk: int) -> None:
        status = sync_dataflow(pk)
        with lock:
            outcomes[status] = outcomes.get(status, 0) + 1

    started = time.perf_counter()
    list(pool.map(one, pks))
    return time.perf_counter() - started, outcomes


def bare_loop(pool: ThreadPoolExecutor, aep_url: str, token: str, requests_params) -> float:
    """The same GET /runs requests with plain requests: one Session per thread."""
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
        response = session.get(aep_url + RUNS_PATH, params=params, headers=headers, timeout=30)
        response.raise_for_status()
        response.json()

    started = time.perf_counter()
    list(pool.map(one, requests_params))
    return time.perf_counter() - started


def steady_state_params(pks: list[int]) -> list[list]:
    """What each quiet sync asks: runs of the flow created at or after its newest stored run."""
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--database", default="bench_monitoring_sync")
    args = parser.parse_args()
    create_database(args.database)
    setup_django(args.database)
    from django.test.utils import override_settings

    from emulators.aep.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_ORG_ID, fetch_token
    from monitoring.clients import client_for
    from monitoring.discovery import discover
    from monitoring.models import Dataflow, Run
    from tests.base import make_sandbox

    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    stripe, aep = start_servers(tmp)
    prefix = f"bench-monitoring-{uuid.uuid4().hex[:8]}"
    try:
        with override_settings(MONITORING_REDIS_PREFIX=prefix, AEP_TIMEOUT_SECONDS=60):
            sandbox = make_sandbox(
                org_id=DEMO_ORG_ID, client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET,
                platform_url=aep.url, ims_url=aep.url,
            )  # fmt: skip
            sandbox.refresh_from_db()
            client = client_for(sandbox)
            started = time.perf_counter()
            flow_ids = create_flows(client, stripe.secret_key, args.flows, args.concurrency)
            print(f"created {len(flow_ids)} flows in {time.perf_counter() - started:.1f}s")
            wait_for_runs(client, flow_ids)
            discover(sandbox, client)
            pks = list(Dataflow.objects.filter(sandbox=sandbox).values_list("pk", flat=True))
            print(f"discovered {len(pks)} flows; memory {rss_mb():.1f} MB")

            # Like a threaded worker: the same threads (with their database connections and
            # HTTP sessions) serve every cycle. The bare loop gets threads of its own.
            workers = ThreadPoolExecutor(args.concurrency)
            bare = ThreadPoolExecutor(args.concurrency)
            seconds, outcomes = sync_cycle(workers, pks)
            print(f"cycle 0 (first sync, stores runs): {seconds:.2f}s {outcomes}; "
                  f"{Run.objects.count()} runs stored; memory {rss_mb():.1f} MB")  # fmt: skip
            params = steady_state_params(pks)
            token = fetch_token(aep.url)
            bare_loop(bare, aep.url, token, params)  # warm the bare loop's connections too
            sync_times, bare_times, memory = [], [], []
            for cycle in range(1, args.cycles + 1):
                bare_times.append(bare_loop(bare, aep.url, token, params))
                seconds, outcomes = sync_cycle(workers, pks)
                sync_times.append(seconds)
                memory.append(rss_mb())
                print(f"cycle {cycle}: sync {seconds:.2f}s {outcomes} · bare loop "
                      f"{bare_times[-1]:.2f}s · memory {memory[-1]:.1f} MB")  # fmt: skip
            workers.shutdown()
            bare.shutdown()
    finally:
        aep.stop()
        stripe.stop()
    sync_median, bare_median = statistics.median(sync_times), statistics.median(bare_times)
    ratio = sync_median / bare_median
    growth = memory[-1] - memory[0]
    print(f"\nmedian sync cycle {sync_median:.2f}s, median bare loop {bare_median:.2f}s, "
          f"ratio {ratio:.2f} (limit 1.5)")  # fmt: skip
    print(f"memory after cycles 1..{args.cycles}: {memory[0]:.1f} → {memory[-1]:.1f} MB "
          f"(growth {growth:+.1f} MB)")  # fmt: skip
    from django.db import connections

    connections.close_all()
    create_database(args.database)  # leave it empty
    return 0 if ratio <= 1.5 and growth < 10 else 1


if __name__ == "__main__":
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.exit(main())
