"""Turn failures (AEP's, Stripe's, our own) into sentences a marketing ops person can act on.

Background work records these on a Job, a Draft's steps or an Operation, and pages show them.
"""

from __future__ import annotations

from typing import NamedTuple

import stripe
from django.utils.translation import gettext as _

from aep import errors


class Explanation(NamedTuple):
    """A failure in words for the page, with AEP's error code and request id when known."""

    message: str
    code: str = ""
    request_id: str = ""
    # Nothing better to say than "something went wrong": worth a traceback in the log.
    unexpected: bool = False


class ExplainedError(Exception):
    """A failure already put in words the page can show."""

    def __init__(self, message: str, *, code: str = "", request_id: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id


def explain_failure(exc: Exception) -> Explanation:
    """Any exception of background work: its own words, AEP's explained, else our fault."""
    if isinstance(exc, ExplainedError):
        return Explanation(exc.message, exc.code, exc.request_id)
    if isinstance(exc, errors.AEPError):
        return Explanation(explain_aep_error(exc), exc.code or "", exc.request_id or "")
    return Explanation(unexpected_failure(), unexpected=True)


def no_mapping_set() -> str:
    """A flow without a Mapping transformation: there are no rules to read or check."""
    return _("This dataflow has no mapping set in AEP.")


def explain_mapping_refusal(exc: errors.AEPError, *, schema_exists: bool) -> str:
    """Data Prep refused to validate or preview the mapping rows (400)."""
    if schema_exists:
        message = _(
            "AEP could not check these rows against the dataset's schema. Correct the rows "
            "Adobe's message names and check again."
        )
    else:
        message = _(
            "AEP could not check these rows: the dataset's schema does not exist yet, so AEP "
            "checks only the Stripe fields and expressions now, and the field types when it "
            "creates the schema. Correct the rows Adobe's message names, or go on: AEP checks "
            "the types when the schema is created."
        )
    return _with_adobe_detail(message, exc)


def unexpected_failure() -> str:
    """What to say of a failure nobody foresaw (its traceback goes to the log)."""
    return _("Something went wrong on our side. Try again; if it keeps failing, tell support.")


def explain_aep_error(exc: errors.AEPError) -> str:
    """A plain-language message, with Adobe's own words kept at the end for support."""
    return _with_adobe_detail(_explanation(exc), exc)


def explain_step_failure(exc: errors.AEPError) -> str:
    """Plain words for a failed provisioning step, ending with what pressing Retry will do."""
    if isinstance(exc, errors.RateLimitError):
        message = _(
            "AEP asked us to slow down (too many requests). Wait a minute, then press Retry."
        )
    elif isinstance(exc, errors.AEPTimeout):
        message = _(
            "AEP did not answer in time. Press Retry: anything AEP created meanwhile is picked "
            "up, not created twice."
        )
    elif isinstance(exc, errors.ServerError):
        message = _("AEP had an internal error. This is usually temporary: press Retry.")
    else:
        return explain_aep_error(exc)
    return _with_adobe_detail(message, exc)


def _with_adobe_detail(message: str, exc: errors.AEPError) -> str:
    detail = (exc.message or "").strip()
    if detail and detail not in message:
        message = _("%(explanation)s Adobe said: “%(detail)s”") % {
            "explanation": message,
            "detail": detail,
        }
    return message


def _explanation(exc: errors.AEPError) -> str:
    if isinstance(exc, errors.AEPTimeout):
        return _("AEP did not answer in time. It may be busy; try again in a minute.")
    if isinstance(exc, errors.AEPConnectionError):
        return _("Cannot reach AEP. Check the platform and IMS URLs of the sandbox.")
    if isinstance(exc, errors.IMSAuthError):
        return _(
            "Adobe IMS refused the credentials. Check the client ID, client secret and scopes "
            "of the sandbox."
        )
    if isinstance(exc, errors.AuthenticationError):
        return _("AEP did not accept the access token. Check the organization ID and client ID.")
    if isinstance(exc, errors.PermissionDeniedError):
        return explain_permission_denied(exc)
    if isinstance(exc, errors.NotFoundError):
        return _("AEP could not find this object; it may have been deleted in AEP.")
    if isinstance(exc, errors.PreconditionFailedError):
        return _("Someone else changed this object in AEP meanwhile. Reload and try again.")
    if isinstance(exc, errors.RateLimitError):
        return _("AEP asked us to slow down. The work will be retried shortly.")
    if isinstance(exc, errors.ServerError):
        return _("AEP had an internal error. This is usually temporary; try again.")
    if isinstance(exc, errors.BadRequestError):
        return _("AEP rejected the request.")
    return _("AEP returned an error.")


# -- permissions ----------------------------------------------------------------------------------


class Permission(NamedTuple):
    """A permission of the credential's AEP product profile, as Admin Console names it."""

    name: str
    without_it: str


def permissions() -> tuple[Permission, ...]:
    """Every product-profile permission the product needs, and what fails without each."""
    return (
        Permission(
            "View Sources",
            _(
                "nothing in Flow Service can be read: Test connection, exploring Stripe in the "
                "wizard, run history, health, alerts and flow discovery all fail."
            ),
        ),
        Permission(
            "Manage Sources",
            _(
                "accounts, dataflows and mapping sets cannot be created, changed or deleted, and "
                "mappings cannot be checked: the wizard's Create step and every support action "
                "(enable, disable, retry, rotate a key, delete) fail."
            ),
        ),
        Permission(
            "Manage Schemas",
            _(
                "the tenant ID cannot be read and the class, field groups, schemas and identity "
                "descriptors cannot be created: Test connection, the wizard's schema steps and "
                "Profile fail, and schema drift cannot be checked."
            ),
        ),
        Permission(
            "Manage Datasets",
            _(
                "datasets cannot be created or deleted: the wizard's dataset step and deleting a "
                "dataflow with its dataset fail."
            ),
        ),
        Permission(
            "View Datasets",
            _(
                "datasets cannot be listed and error diagnostics cannot be read: choosing an "
                "existing dataset in the wizard and the rejected records of a run fail."
            ),
        ),
        Permission(
            "View Identity Namespaces",
            _(
                "the sandbox's identity namespaces cannot be read: the wizard cannot offer them "
                "for identity fields."
            ),
        ),
        Permission(
            "Manage Identity Namespaces",
            _(
                "a new identity namespace cannot be created: needed only when someone picks "
                "“A new namespace…” in the wizard."
            ),
        ),
    )


# The permission a 403 most likely lacks, by the service prefix of AEP's error code.
PERMISSIONS_BY_SERVICE = {
    "FLOW": ("View Sources", "Manage Sources"),
    "MAPPER": ("Manage Sources",),
    "XDM": ("Manage Schemas",),
    "CAT": ("Manage Datasets", "View Datasets"),
}


def explain_permission_denied(exc: errors.AEPError, likely: tuple[str, ...] = ()) -> str:
    """A 403: which permission is most likely missing, and every permission the product needs."""
    service = (exc.code or "").split("-", 1)[0].upper()
    likely = likely or PERMISSIONS_BY_SERVICE.get(service, ())
    every = ", ".join(p.name for p in permissions())
    if likely:
        return _(
            "The credential is not allowed to do this (403). In Adobe Admin Console, give the "
            "product profile of its project the %(likely)s permission. Stripe Sources needs "
            "all of these: %(every)s."
        ) % {"likely": " / ".join(likely), "every": every}
    return _(
        "The credential is not allowed to do this (403). In Adobe Admin Console, give the "
        "product profile of its project every permission Stripe Sources needs: %(every)s."
    ) % {"every": every}


# -- Stripe ---------------------------------------------------------------------------------------


def explain_stripe_error(exc: stripe.StripeError) -> str:
    """What a refusal of Stripe's means for a check that reads a resource, and what to do."""
    if isinstance(exc, stripe.AuthenticationError):
        return _("Stripe did not accept the key (401). It may have been rolled or revoked.")
    if isinstance(exc, stripe.PermissionError):
        return _(
            "The key may not list this resource (403). Give the restricted key Read access to it "
            "in the Stripe Dashboard, or use another key."
        )
    if isinstance(exc, stripe.RateLimitError):
        return _("Stripe asked us to slow down (429). Try the check again in a minute.")
    if isinstance(exc, stripe.APIConnectionError):
        return _("Could not reach Stripe. Try again in a minute.")
    return _("Stripe refused the request: %(message)s") % {"message": exc.user_message or ""}


def describe_stripe_error(exc: stripe.StripeError) -> str:
    """Stripe's own words for a refusal (the key probe shows them per resource)."""
    if isinstance(exc, stripe.APIConnectionError):
        # Its message quotes the request that could not be sent; a key with a line break in
        # it is refused as a header value and quoted whole. The key must not be stored or shown.
        return explain_stripe_error(exc)
    return (exc.user_message or str(exc) or type(exc).__name__).strip()
