"""A dataflow's schedule in words, the same on every page and in the wizard's summary."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def schedule_words(frequency: str, interval: int | None) -> str:
    """ "Every 15 minutes", "Every hour", "Every 2 days", "Once".

    A frequency that does not repeat (`once`, or a value this does not know) reads "Once";
    a missing interval counts as 1.
    """
    n = interval or 1
    if frequency == "minute":
        words = ngettext("Every minute", "Every %(n)s minutes", n)
    elif frequency == "hour":
        words = ngettext("Every hour", "Every %(n)s hours", n)
    elif frequency == "day":
        words = ngettext("Every day", "Every %(n)s days", n)
    elif frequency == "week":
        words = ngettext("Every week", "Every %(n)s weeks", n)
    else:
        return _("Once")
    return words % {"n": n}
