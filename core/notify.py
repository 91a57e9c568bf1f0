"""Telling one person by email that something of theirs needs them (a stalled job gave up).

Alert rules notify about dataflows; this is for what has no dataflow yet (a wizard draft) or
is not one (a support operation). The message is worded in the person's chosen language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation

from core.preferences import preference_of

logger = logging.getLogger(__name__)


def email_person(user, message: Callable[[], tuple[str, str]]) -> bool:
    """Send `message()` (subject, body), built in `user`'s language, to their address.

    False when they have no address or the mail server refused (logged, never raised: the
    caller has already recorded the outcome on its own row, which the pages show).
    """
    if user is None or not getattr(user, "email", ""):
        return False
    preference = preference_of(user)
    language = (preference.language if preference else "") or settings.LANGUAGE_CODE
    with translation.override(language):
        subject, body = message()
    try:
        send_mail(subject, body, None, [user.email])
    except Exception:
        logger.exception("could not email user %s", user.pk)
        return False
    return True
