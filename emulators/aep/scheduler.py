"""The background scheduler: runs enabled flows when their windows come due.

Each flow has one ``schedules`` row holding its next window. A window is due once its end has
passed; the scheduler claims it (advancing the row to the following window) and runs it. While a
flow is disabled its row stays put, so re-enabling it runs every missed window in turn: the
backfill runs. Queued runs (ad-hoc ``POST /runs`` and re-triggers) are picked up here too.

Runs of one flow happen one after the other; different flows run in parallel on a small pool.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from emulators.aep.execution import FlowExecutor, Trigger, Window
from emulators.aep.schedule import first_window, parse_schedule, period_seconds
from emulators.aep.settings import Settings
from emulators.aep.store import PendingRun, ScheduleRow, Scope, Store

logger = logging.getLogger(__name__)

# Windows one flow may run per turn, so a long catch-up cannot starve the other flows.
MAX_WINDOWS_PER_TURN = 25
WORKERS = 4


class Scheduler:
    def __init__(self, settings: Settings, store: Store, executor: FlowExecutor) -> None:
        self.settings = settings
        self.store = store
        self.executor = executor
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="flow-run")
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                # One bad tick (a locked database, a corrupt row) must not stop all scheduling.
                logger.exception("scheduler tick failed")
            self._stop.wait(self.settings.scheduler_tick)

    def tick(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        for pending in self.store.pending_runs():
            self._submit(pending.flow_id, self._run_pending, pending)
        for row in self.store.due_schedules(now):
            self._submit(row.flow_id, self._run_due_windows, row.flow_id)

    def _submit(self, flow_id: str, work: Any, argument: Any) -> None:
        with self._busy_lock:
            if flow_id in self._busy:
                return
            self._busy.add(flow_id)
        self._pool.submit(self._guarded, flow_id, work, argument)

    def _guarded(self, flow_id: str, work: Any, argument: Any) -> None:
        try:
            work(argument)
        except Exception:
            logger.exception("run of flow %s failed unexpectedly", flow_id)
        finally:
            with self._busy_lock:
                self._busy.discard(flow_id)

    # -- running --------------------------------------------------------------------------------

    def _run_due_windows(self, flow_id: str) -> None:
        with self.executor.lock_for(flow_id):
            for _ in range(MAX_WINDOWS_PER_TURN):
                claimed = self._claim_due_window(flow_id, time.time())
                if claimed is None:
                    return
                flow, scope, window = claimed
                self.executor.run_window(flow, scope, window)

    def _claim_due_window(
        self, flow_id: str, now: float
    ) -> tuple[dict[str, Any], Scope, Window] | None:
        with self.store.transaction():
            row = self.store.schedule(flow_id)
            if row is None or not row.enabled or row.finished or row.next_end > now:
                return None
            flow = self.store.get("flows", flow_id, Scope(row.org, row.sandbox))
            if flow is None or flow["state"] != "enabled":
                return None
            window = Window(row.next_start or 0.0, row.next_end)
            self._advance(row, row.next_end)
            return flow, Scope(row.org, row.sandbox), window

    def _advance(self, row: ScheduleRow, window_end: float) -> None:
        row.windows_run += 1
        row.next_start = window_end
        row.next_end = None if row.period <= 0 else window_end + row.period
        self.store.save_schedule(row)

    def _run_pending(self, pending: PendingRun) -> None:
        with self.executor.lock_for(pending.flow_id):
            if not self.store.claim_pending_run(pending.run_id):
                return
            scope = Scope(pending.org, pending.sandbox)
            run = self.store.get("runs", pending.run_id, scope)
            if run is not None:
                self.executor.execute(run, scope, Window(pending.window_start, pending.window_end))

    def run_now(self, flow: dict[str, Any], scope: Scope) -> dict[str, Any]:
        """Run the flow's next window immediately, cut short at now if it has not ended yet."""
        with self.executor.lock_for(flow["id"]):
            now = time.time()
            with self.store.transaction():
                row = self.store.schedule(flow["id"])
                if row is None or row.finished:
                    window = Window(0.0, now)
                else:
                    window = Window(row.next_start or 0.0, min(row.next_end, now))
                    if row.next_end > now and row.period > 0:
                        # The rest of the current window stays scheduled as the next window.
                        row.windows_run += 1
                        row.next_start = now
                        self.store.save_schedule(row)
                    else:
                        self._advance(row, window.end)
            return self.executor.run_window(flow, scope, window)

    def queue_run(
        self, flow: dict[str, Any], scope: Scope, window: Window, trigger: Trigger
    ) -> dict[str, Any]:
        """Create a run now (``scheduled``) and let the scheduler execute it shortly."""
        run = self.executor.start_run(flow, scope, window, trigger, status="scheduled")
        pending = PendingRun(
            run["id"], flow["id"], scope.org, scope.sandbox, window.start, window.end
        )
        self.store.queue_run(pending, time.time())
        return run

    # -- keeping schedules in step with flows ---------------------------------------------------

    def flow_created(self, flow: dict[str, Any], scope: Scope) -> None:
        schedule = parse_schedule(flow["scheduleParams"])
        start, end = first_window(schedule, flow["createdAt"] / 1000, self.settings.time_scale)
        self.store.save_schedule(
            ScheduleRow(
                flow_id=flow["id"],
                org=scope.org,
                sandbox=scope.sandbox,
                enabled=flow["state"] == "enabled",
                period=period_seconds(schedule, self.settings.time_scale),
                next_start=start,
                next_end=end,
                windows_run=0,
            )
        )

    def schedule_changed(self, flow: dict[str, Any]) -> None:
        row = self.store.schedule(flow["id"])
        if row is None:
            return
        schedule = parse_schedule(flow["scheduleParams"])
        row.period = period_seconds(schedule, self.settings.time_scale)
        if row.windows_run == 0:
            row.next_start, row.next_end = first_window(
                schedule, flow["createdAt"] / 1000, self.settings.time_scale
            )
        elif row.period <= 0:
            row.next_end = None
        else:
            row.next_end = (row.next_start or time.time()) + row.period
        self.store.save_schedule(row)

    def state_changed(self, flow_id: str, enabled: bool) -> None:
        row = self.store.schedule(flow_id)
        if row is not None:
            row.enabled = enabled
            self.store.save_schedule(row)

    def flow_deleted(self, flow_id: str) -> None:
        self.store.delete_schedule(flow_id)
        self.store.drop_pending_runs(flow_id)
