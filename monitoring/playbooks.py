"""Plain-language explanations and suggested fixes for the run errors people actually see.

Adobe's code and message are always shown as they are; a playbook adds what it means for a
Stripe flow and what to do. Stripe's own refusals reach us through AEP as CONNECTOR errors, and
on real AEP sometimes only as an HTTP status inside the message, so both are matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Playbook:
    title: str | Promise
    explanation: str | Promise
    fix: str | Promise


STRIPE_401 = Playbook(
    _("Stripe rejected the API key"),
    _(
        "Stripe answered 401 Unauthorized: the key stored in the AEP account was rolled, "
        "revoked or expired, so the run could not read anything."
    ),
    _(
        "Create or copy a valid key in the Stripe Dashboard (Developers → API keys) and update "
        "the account's key, then retry the failed run."
    ),
)
STRIPE_403 = Playbook(
    _("The Stripe key may not read this resource"),
    _(
        "Stripe answered 403 Forbidden: the account uses a restricted key without Read "
        "permission for this resource path."
    ),
    _(
        "In the Stripe Dashboard, give the restricted key Read access to this resource (or use "
        "a key that has it), update the account's key, then retry the failed run."
    ),
)
STRIPE_429 = Playbook(
    _("Stripe rate-limited the run"),
    _(
        "Stripe answered 429 Too Many Requests: the account's API request limit was reached "
        "(other integrations may share it)."
    ),
    _(
        "Usually temporary: retry the run, or spread the schedules of this account's flows so "
        "they do not run at the same minute."
    ),
)
PLAYBOOKS: dict[str, Playbook] = {
    "CONNECTOR-2001-500": Playbook(
        _("AEP could not read from Stripe"),
        _(
            "The copy step failed: Stripe answered with a server error, did not answer in time, "
            "or could not be reached. No records of this run were ingested."
        ),
        _(
            "This is usually temporary. Retry the run; if it keeps failing, check "
            "status.stripe.com and the account's connection."
        ),
    ),
    "INGEST-1212-400": Playbook(
        _("Some records were rejected"),
        _(
            "The run ingested most records, but some did not fit the target schema or could "
            "not be mapped. The count above says how many."
        ),
        _(
            "Look at the mapper and validation errors listed with this run, correct the mapping "
            "for the fields they name, and re-run the window."
        ),
    ),
    "INGEST-1211-400": Playbook(
        _("Too many records failed"),
        _(
            "So many records failed mapping or validation that AEP rejected the whole batch "
            "(every record failed, or the partial-ingestion threshold was exceeded)."
        ),
        _(
            "Fix the mapping for the fields named in the record errors, then retry the run. "
            "A schema field marked required that Stripe leaves empty is a common cause."
        ),
    ),
    "INGEST-1104-400": Playbook(
        _("Records do not match the XDM schema"),
        _("Mapped records had a value of the wrong type or format for their schema field."),
        _(
            "Convert the value in the mapping (for example a calculated field turning epoch "
            "seconds into a date-time), or map the Stripe field to a field of the right type."
        ),
    ),
    "MAPPER-3700-400": Playbook(
        _("A mapping rule could not be applied"),
        _(
            "The mapper could not transform some records: a source field is missing from them, "
            "or a calculated field failed on their values."
        ),
        _(
            "Check the source field names and types in the mapping; guard optional Stripe "
            "fields in calculated fields. Then re-run the window."
        ),
    ),
    "MAPPER-1000-400": Playbook(
        _("The mapping set is not valid"),
        _("AEP refused the flow's mapping set, so the run did not read any data."),
        _("Open the mapping, fix the rules it reports and save a new mapping version."),
    ),
    "CONNECTOR-1001-401": STRIPE_401,
    "CONNECTOR-1003-403": STRIPE_403,
    "CONNECTOR-1029-429": STRIPE_429,
    "CONNECTOR-1004-404": Playbook(
        _("Stripe does not know this resource"),
        _("Stripe answered 404 for the resource path this flow reads."),
        _("Check the flow's resource path; it must be one of the six Stripe resources."),
    ),
}
_STATUS_IN_MESSAGE = re.compile(r"\b(?:HTTP|status)\s*(401|403|429)\b", re.IGNORECASE)
_BY_STATUS = {"401": STRIPE_401, "403": STRIPE_403, "429": STRIPE_429}


def playbook_for(code: str | None, message: str = "") -> Playbook | None:
    if code and code in PLAYBOOKS:
        return PLAYBOOKS[code]
    match = _STATUS_IN_MESSAGE.search(message or "")
    if match and "stripe" in (message or "").lower():
        return _BY_STATUS[match.group(1)]
    return None


def explain_errors(errors: list[dict]) -> list[dict]:
    """Each stored run error with its playbook (or None) alongside, for the templates."""
    return [
        {**error, "playbook": playbook_for(error.get("code"), error.get("message", ""))}
        for error in errors
    ]
