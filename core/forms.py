from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from core.models import Preference
from core.preferences import time_zone_names


def time_zone_choices() -> list[tuple[str, str | Promise]]:
    return [("", _("Same as this browser")), *((z, z) for z in sorted(time_zone_names()))]


class PreferenceForm(forms.ModelForm):
    """Language and time zone; blank follows the browser the person is using."""

    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("Same as this browser")), *settings.LANGUAGES],
        error_messages={"invalid_choice": _("Pick English or Korean, or the browser's language.")},
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        choices=time_zone_choices,
        help_text=_("Every date and time on these pages is shown in this zone."),
        error_messages={"invalid_choice": _("Pick a time zone from the list, e.g. Asia/Seoul.")},
    )

    class Meta:
        model = Preference
        fields = ["language", "time_zone"]

    def __init__(self, *args, browser_time_zone: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if browser_time_zone:
            # Say what "the browser" means here, so the choice is not a guess.
            field = self.fields["time_zone"]
            assert isinstance(field, forms.ChoiceField)
            label = _("Same as this browser (%(zone)s)") % {"zone": browser_time_zone}
            field.choices = [("", label), *time_zone_choices()[1:]]
