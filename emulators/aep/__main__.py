"""``python -m emulators.aep --port 8100 --db PATH --stripe-api-base URL [options]``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path

from werkzeug.serving import make_server

from emulators.aep.app import Emulator, create_app
from emulators.aep.settings import DEFAULT_TOKEN_LIFETIME, Settings, builtin_orgs, load_orgs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.aep",
        description="Local Adobe Experience Platform emulator (IMS, Flow Service, Data Prep, "
        "Schema Registry, Catalog) that runs Stripe dataflows.",
    )
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--db", type=Path, required=True, help="SQLite file (created if missing)")
    parser.add_argument(
        "--stripe-api-base", required=True, help="Stripe API base URL, e.g. http://127.0.0.1:12111"
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="schedule speed-up: an interval of I seconds lasts I/S real seconds",
    )
    parser.add_argument(
        "--token-lifetime",
        type=int,
        default=DEFAULT_TOKEN_LIFETIME,
        help="access token lifetime in seconds (expires_in)",
    )
    parser.add_argument("--orgs", type=Path, help="JSON file with additional organisations")
    parser.add_argument(
        "--scheduler-tick", type=float, default=0.05, help="seconds between scheduler passes"
    )
    parser.add_argument(
        "--no-run-status-variance",
        action="store_true",
        help="list every run status in camelCase only (README: Deviations and variance)",
    )
    args = parser.parse_args(argv)
    if args.time_scale <= 0:
        parser.error("--time-scale must be positive")
    if args.token_lifetime <= 0:
        parser.error("--token-lifetime must be positive")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args.db.parent.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        db_path=args.db,
        stripe_api_base=args.stripe_api_base,
        time_scale=args.time_scale,
        token_lifetime=args.token_lifetime,
        orgs=load_orgs(args.orgs) if args.orgs else builtin_orgs(),
        scheduler_tick=args.scheduler_tick,
        run_status_variance=not args.no_run_status_variance,
    )
    emulator = Emulator(settings)
    server = make_server(args.host, args.port, create_app(emulator), threaded=True)
    # SIGTERM (what ServerProcess.stop sends) shuts down cleanly instead of dying mid-write.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    emulator.start()
    logging.getLogger(__name__).info(
        "AEP emulator on http://%s:%s (db %s, Stripe %s, time scale %g)",
        args.host,
        args.port,
        args.db,
        args.stripe_api_base,
        args.time_scale,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        logging.shutdown()
    # Runs still waiting on Stripe are abandoned rather than awaited (they are failed at the
    # next start); every write so far is committed.
    os._exit(0)


if __name__ == "__main__":
    main()
