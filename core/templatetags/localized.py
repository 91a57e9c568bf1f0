"""Filters that show stored words and codes in the reader's language."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_noop, pgettext_lazy

from core.i18n import localize_stored
from core.statuses import STATUS_LABELS

register = template.Library()

# What an audit event or a support operation acts on.
TARGET_TYPE_LABELS = {
    "account": pgettext_lazy("object", "account"),
    "base_connection": pgettext_lazy("object", "base connection"),
    "connection": pgettext_lazy("object", "base connection"),
    "dataflow": pgettext_lazy("object", "dataflow"),
    "flow": pgettext_lazy("object", "dataflow"),
    "mapping_set": pgettext_lazy("object", "mapping set"),
    "source_connection": pgettext_lazy("object", "source connection"),
    "target_connection": pgettext_lazy("object", "target connection"),
    "dataset": pgettext_lazy("object", "dataset"),
    "schema": pgettext_lazy("object", "schema"),
    "schema_class": pgettext_lazy("object", "XDM class"),
    "field_group": pgettext_lazy("object", "field group"),
    "alert_rule": pgettext_lazy("object", "alert rule"),
    "api_token": pgettext_lazy("object", "API token"),
    "sandbox": pgettext_lazy("object", "sandbox"),
}

# Field types of Stripe's JSON and of XDM, as the explore step lists them.
TYPE_LABELS = {
    "string": pgettext_lazy("data type", "string"),
    "integer": pgettext_lazy("data type", "integer"),
    "number": pgettext_lazy("data type", "number"),
    "boolean": pgettext_lazy("data type", "boolean"),
    "object": pgettext_lazy("data type", "object"),
    "array": pgettext_lazy("data type", "array"),
    "map": pgettext_lazy("data type", "map"),
    "long": pgettext_lazy("data type", "long"),
    "double": pgettext_lazy("data type", "double"),
    "date": pgettext_lazy("data type", "date"),
    "date-time": pgettext_lazy("data type", "date-time"),
}

# Words stored as they are (role names on users and audit rows, the actor of background work)
# and shown through `localized`; listed here so that they are in the catalog.
STORED_WORDS = (
    gettext_noop("Marketing Ops"),
    gettext_noop("Admin"),
    gettext_noop("Support"),
    gettext_noop("system"),
)


@register.filter
def status_label(code) -> str:
    """A status code (`partialSuccess`) as words; unknown codes are shown as they are."""
    label = STATUS_LABELS.get(str(code or ""))
    return str(label) if label is not None else code


@register.filter
def target_type_label(code) -> str:
    label = TARGET_TYPE_LABELS.get(str(code or ""))
    return str(label) if label is not None else code


@register.filter
def type_label(code) -> str:
    label = TYPE_LABELS.get(str(code or ""))
    return str(label) if label is not None else code


@register.filter
def localized(text):
    """A sentence stored by background work, in the active language when it is ours."""
    return localize_stored(text)
