"""Refresh the vendored specs and fixtures from their public sources.

    python scripts/refresh_contracts.py [--adobe-commit SHA] [--stripe-commit SHA]

Adobe's OpenAPI specs come from AdobeDocs/experience-platform-apis (static/swagger-specs/), the
Stripe sample objects from stripe/openapi (openapi/fixtures3.json, six resources kept). Files are
written unchanged; the script prints each file's sha256 so contracts/*/SOURCES.md can be updated
with the commit used. Run the contract tests afterwards: a changed spec may need a new entry in
tests/contract/deviations.py, never a silent edit of the file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
ADOBE_REPO = "AdobeDocs/experience-platform-apis"
ADOBE_SPECS = ("flow-service", "data-prep", "catalog", "schema-registry", "observability-insights")
STRIPE_REPO = "stripe/openapi"
STRIPE_OBJECTS = ("charge", "customer", "subscription", "refund", "balance_transaction", "price")


def raw_url(repo: str, commit: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


def fetch(url: str) -> bytes:
    response = requests.get(url, timeout=60)
    response.raise_for_status()
    return response.content


def write(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    print(f"{path.relative_to(ROOT)}  sha256 {hashlib.sha256(content).hexdigest()}")


def refresh_adobe(commit: str) -> None:
    for name in ADOBE_SPECS:
        url = raw_url(ADOBE_REPO, commit, f"static/swagger-specs/{name}.yaml")
        write(ROOT / "contracts" / "adobe" / f"{name}.yaml", fetch(url))


def refresh_stripe(commit: str) -> None:
    resources = json.loads(fetch(raw_url(STRIPE_REPO, commit, "openapi/fixtures3.json")))
    kept = {name: resources["resources"][name] for name in STRIPE_OBJECTS}
    text = json.dumps(kept, indent=2, ensure_ascii=False) + "\n"
    write(ROOT / "emulators" / "stripe" / "fixtures.json", text.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adobe-commit", default="main", help="commit or branch of " + ADOBE_REPO)
    parser.add_argument(
        "--stripe-commit", default="master", help="commit or branch of " + STRIPE_REPO
    )
    args = parser.parse_args()
    refresh_adobe(args.adobe_commit)
    refresh_stripe(args.stripe_commit)
    print(
        "Now record the commits used in contracts/adobe/SOURCES.md and contracts/stripe/SOURCES.md."
    )


if __name__ == "__main__":
    main()
