"""Small formatting helpers for the monitoring templates."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from django import template
from django.db.models import Model
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from monitoring import charts

register = template.Library()


@register.filter
def choice_label(obj: Model, field_name: str) -> str:
    """What `obj.get_<field>_display()` shows, for list rows: Django rebuilds the whole choices
    mapping on every call, which cost a list page more than its SQL; this reads a mapping
    built once per field and language."""
    value = getattr(obj, field_name)
    return _choice_labels(type(obj), field_name, get_language()).get(value, value)


# A primary key no row reaches, reversed in its place once per URL name.
_PLACEHOLDER_PK = 2_147_483_646


@register.filter
def pk_url(pk: int, url_name: str) -> str:
    """`{% url url_name pk %}` for list rows: the URL is reversed once per name (and script
    prefix) with a placeholder key, then each row's key is put in its place. Fifty rows with
    three links each spent more time in `reverse` than in their SQL."""
    before, after = _url_around_pk(url_name, get_script_prefix())
    return f"{before}{int(pk)}{after}"


@lru_cache(maxsize=64)
def _url_around_pk(url_name: str, _script_prefix: str) -> tuple[str, str]:
    before, _pk, after = reverse(url_name, args=[_PLACEHOLDER_PK]).partition(str(_PLACEHOLDER_PK))
    return before, after


@lru_cache(maxsize=64)
def _choice_labels(model: type[Model], field_name: str, language: str | None) -> dict[str, str]:
    field = model._meta.get_field(field_name)
    return {str(value): str(label) for value, label in field.flatchoices}  # type: ignore[union-attr]


@register.simple_tag
def query(filters, **changes) -> str:
    """The overview's query string with some values changed (page resets unless given)."""
    changes.setdefault("page", "")
    return filters.querystring(**changes)


@register.filter
def compact(value) -> str:
    return charts.compact(float(value or 0))


@register.filter
def percent(value) -> str:
    value = float(value or 0)
    if value == 0:
        return "0%"
    if value < 0.001:
        return "<0.1%"
    return f"{value * 100:.1f}%"


@register.filter
def run_duration(value: timedelta | None) -> str:
    """How long a run took, in the units of the duration chart ("320 ms", "1.5 min")."""
    if value is None:
        return "—"
    return charts.seconds_label(value.total_seconds())


def span(value: timedelta | None) -> str:
    """A duration as "3 s", "4 min", "2.5 h", "3 d"."""
    if value is None:
        return "—"
    seconds = value.total_seconds()
    if seconds < 60:
        return _("%(n)d s") % {"n": seconds}
    if seconds < 3600:
        return _("%(n)d min") % {"n": seconds // 60}
    if seconds < 86400 * 2:
        return _("%(n).1f h") % {"n": seconds / 3600}
    return _("%(n).0f d") % {"n": seconds / 86400}


@register.filter
def age(value: datetime | None) -> str:
    if value is None:
        return "—"
    return span(timezone.now() - value)


@register.filter
def minutes(value) -> str:
    if not value:
        return "—"
    return span(timedelta(minutes=int(value)))


@register.filter
def is_stale(dataflow) -> bool:
    """Newest data older than the flow's SLA."""
    sla, through = dataflow.sla_minutes, dataflow.data_through
    return bool(
        dataflow.is_active and sla and through and timezone.now() - through > timedelta(minutes=sla)
    )


@register.filter
def before_epoch_day(value: datetime | None) -> bool:
    """A backfill window starts at epoch 0: shown as "the beginning", not as 1970."""
    return value is not None and value.year <= 1970
