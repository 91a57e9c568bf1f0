"""Which mapped fields become identities of the new schema, in which namespace, and which one
is primary: the wizard's identity choices, as identity descriptors will carry them.

An identity lives on the schema, not in the mapping: AEP reads an `xdm:descriptorIdentity` on
the schema field (xdm/api/descriptors.md), and a flag in a Data Prep mapping does nothing. So a
ticked Identity row becomes a descriptor on the field the row fills, which only the wizard's own
new schema can take: a dataset chosen from AEP keeps its schema's identities as they are.

The namespace of each identity is chosen from the sandbox's namespaces (read by a worker into
`Sandbox.identity_namespaces`); an email field defaults to `Email`. A custom namespace is created
only when the person asks for one (`Draft.custom_namespace`). One identity per schema is the
primary one: the chosen one, else the first email field, else the first identity row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from onboarding.models import Draft

EMAIL_NAMESPACE = "Email"
NEW_NAMESPACE = "__new__"
CUSTOM_ID_TYPES = ("CROSS_DEVICE", "EMAIL", "PHONE", "NON_PEOPLE", "DEVICE", "COOKIE", "MOBILE")


@dataclass(frozen=True)
class Identity:
    """One identity field of a new schema: the descriptor it becomes."""

    destination: str
    source: str
    namespace: str  # the namespace code, "" while none is chosen
    primary: bool


def takes_identities(draft: Draft, path: str) -> bool:
    """Only a schema the wizard creates gets identity descriptors from it."""
    return (draft.datasets.get(path) or {}).get("mode", "new") != "existing"


def is_email(row: dict[str, Any]) -> bool:
    leaf = str(row.get("destination") or "").rsplit(".", 1)[-1].lower()
    return "email" in leaf


def email_row(draft: Draft, path: str) -> dict[str, Any] | None:
    """The resource's email field among the mapping rows (customers: data.email; charges:
    data.billing_details.email), if it has one."""
    rows = [r for r in draft.mappings.get(path) or [] if r.get("kind") != "EXPRESSION"]
    emails = [r for r in rows if is_email(r)]
    # Stripe's customer email first, then the billing email, then any other (receipt_email).
    for wanted in ("data.email", "data.billing_details.email"):
        for row in emails:
            if row.get("source") == wanted:
                return row
    return emails[0] if emails else None


def identities(draft: Draft, path: str) -> list[Identity]:
    """The identity rows of `path` with their namespace and primary flag, defaults applied."""
    if not takes_identities(draft, path):
        return []
    rows = [r for r in draft.mappings.get(path) or [] if r.get("identity")]
    chosen = (draft.identities or {}).get(path) or {}
    namespaces = chosen.get("namespaces") or {}
    destinations = [r["destination"] for r in rows]
    primary = chosen.get("primary")
    if primary not in destinations:
        emails = [r["destination"] for r in rows if is_email(r)]
        primary = (emails or destinations or [None])[0]
    return [
        Identity(
            destination=row["destination"],
            source=row.get("source", ""),
            namespace=namespaces.get(row["destination"])
            or (EMAIL_NAMESPACE if is_email(row) and has_namespace(draft, EMAIL_NAMESPACE) else ""),
            primary=row["destination"] == primary,
        )
        for row in rows
    ]


def known_codes(draft: Draft) -> set[str]:
    return {str(ns.get("code")) for ns in draft.sandbox.identity_namespaces or []}


def has_namespace(draft: Draft, code: str) -> bool:
    return code in known_codes(draft)


def requested_code(draft: Draft) -> str:
    return str((draft.custom_namespace or {}).get("code") or "")


def usable_codes(draft: Draft) -> set[str]:
    """Namespaces an identity may name: the sandbox's, and the one the person asked for."""
    codes = known_codes(draft)
    if requested_code(draft):
        codes.add(requested_code(draft))
    return codes


def creates_namespace(draft: Draft) -> bool:
    """Whether provisioning creates the custom namespace: asked for, used, not there yet."""
    code = requested_code(draft)
    if not code or has_namespace(draft, code):
        return False
    return any(
        identity.namespace == code
        for path in draft.resource_paths
        for identity in identities(draft, path)
    )


def problems(draft: Draft, path: str) -> list[str]:
    """What stops the identities of `path` from becoming descriptors (plain sentences)."""
    found = []
    usable = usable_codes(draft)
    for identity in identities(draft, path):
        if not identity.namespace:
            found.append(
                _("Choose the identity namespace of %(field)s on the Mapping step.")
                % {"field": identity.destination}
            )
        elif identity.namespace not in usable:
            found.append(
                _("The namespace %(code)s of %(field)s is not in this sandbox.")
                % {"code": identity.namespace, "field": identity.destination}
            )
    return found
