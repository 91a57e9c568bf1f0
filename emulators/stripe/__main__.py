"""Run the Stripe stand-in.

python -m emulators.stripe --port 12111 --db PATH [--seed N] [--rate-limit RPS]
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from werkzeug.serving import make_server

from emulators.stripe import store
from emulators.stripe.app import create_app
from emulators.stripe.seed import seed_demo_accounts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Stripe API stand-in (read endpoints).")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--db", required=True, help="SQLite file (created if missing)")
    parser.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="if the database holds no objects, seed N charges (and related objects)",
    )
    parser.add_argument(
        "--rate-limit", type=float, metavar="RPS", help="requests per second per API key"
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    return parser.parse_args(argv)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    store.init_db(args.db)
    if args.seed:
        conn = store.connect(args.db)
        try:
            empty = not store.has_objects(conn)
        finally:
            conn.close()
        if empty:
            for account, counts in seed_demo_accounts(args.db, args.seed).items():
                logging.info("seeded %s: %s", account, counts)
    app = create_app(args.db, rate_limit=args.rate_limit)
    server = make_server(args.host, args.port, app, threaded=True)
    signal.signal(signal.SIGTERM, _stop)
    logging.info("Stripe stand-in listening on http://%s:%s", args.host, args.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
