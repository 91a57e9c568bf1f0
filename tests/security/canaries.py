"""Known secrets ("canaries") seeded into the product, and a search for them in any text.

Only the last 4 characters of a secret may ever be shown ("ends in …Q7wZ"), so a leak is the
canary minus its last 4 characters, found as is or in an encoded form (URL, base64).
"""

from __future__ import annotations

import base64
import binascii
import html
import json
from urllib.parse import quote, quote_plus

# Stripe-shaped keys (so the log masking patterns apply to them as to real keys) and an Adobe
# client secret, which no masking pattern recognises: it must simply never be written anywhere.
SANDBOX_SECRET = "p8e-LEAKCANARYsandboxClientSecret51mVb0Jm2Q"
ACCOUNT_TOKEN = "rk_test_LEAKCANARYaccountToken51NzQ8rTbW4Xk"
PASTED_KEY = "sk_test_LEAKCANARYpastedKey51MfY2hLpQ7Cz"
ROTATED_KEY = "rk_test_LEAKCANARYrotatedKey51JvR5nGwD3Ty"
WIZARD_KEY = "sk_test_LEAKCANARYwizardKey51KpX3sWqE8Lm"
WEBHOOK_SECRET = "whsec_LEAKCANARYwebhookSecret51Gh7Rt2Yu"
# A chat webhook carries its secret in the URL's path: the URL is shown only as its label.
WEBHOOK_URL_TOKEN = "LEAKCANARYwebhookUrlPath51Zq8Vn4Kc"
# Pasted with a line break (a form accepts it): an HTTP client refuses it as a header value.
MALFORMED_KEY = "sk_test_LEAKCANARYmalformedKey51Tq\r\nZ9"

CANARIES = {
    "sandbox client secret": SANDBOX_SECRET,
    "account access token": ACCOUNT_TOKEN,
    "reconciliation pasted key": PASTED_KEY,
    "rotated key": ROTATED_KEY,
    "wizard draft key": WIZARD_KEY,
    "webhook signing secret": WEBHOOK_SECRET,
    "webhook URL": WEBHOOK_URL_TOKEN,
    "malformed key": MALFORMED_KEY,
}
SHOWN_CHARS = 4


def _base64_cores(needle: bytes) -> set[str]:
    """Base64 of `needle` at each of the 3 byte alignments, trimmed to the characters that
    depend on the needle alone, so it is found inside any larger encoded blob."""
    cores = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + needle).decode()
        start = 4 if offset else 0
        end = 4 * ((offset + len(needle)) // 3)
        core = encoded[start:end]
        cores.add(core)
        cores.add(core.replace("+", "-").replace("/", "_"))
    return cores


def needle_forms(secret: str) -> set[str]:
    """Every form in which the hidden part of `secret` would betray it."""
    needle = secret[:-SHOWN_CHARS]
    forms = {
        needle,
        quote(needle, safe=""),
        quote_plus(needle),
        html.escape(needle),
        json.dumps(needle)[1:-1],
        binascii.hexlify(needle.encode()).decode(),
    }
    return forms | _base64_cores(needle.encode())


NEEDLES: dict[str, set[str]] = {name: needle_forms(value) for name, value in CANARIES.items()}


def leaks_in(text: str) -> list[str]:
    """Names of the canaries whose hidden part `text` contains, in any known form."""
    return [name for name, forms in NEEDLES.items() if any(form in text for form in forms)]


def leak_report(where: str, text: str) -> list[str]:
    """One line per canary found in `text`, naming where it was and a little context."""
    found = []
    for name in leaks_in(text):
        hit = next(form for form in NEEDLES[name] if form in text)
        at = text.index(hit)
        context = text[max(0, at - 80) : at + len(hit) + 40].replace("\n", " ")
        found.append(f"{name} in {where}: …{context}…")
    return found
