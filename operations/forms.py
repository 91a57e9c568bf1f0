from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.stripe import key_shape
from monitoring.models import Dataflow
from operations.mapping import MappingSyntaxError, parse_rules
from operations.resume import resume_time_problem

REASON_HELP = _("Recorded in the audit trail with your name. Say why, in a sentence.")


class ReasonFields(forms.Form):
    """Why the change is made (audited), and an optional ticket reference."""

    reason_required = False

    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=2000,
        help_text=REASON_HELP,
    )
    ticket = forms.CharField(
        label=_("Ticket"),
        required=False,
        max_length=100,
        help_text=_("Optional, e.g. SUP-1234."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = self.reason_required


class RequiredReasonForm(ReasonFields):
    reason_required = True


class DisableForm(RequiredReasonForm):
    """Disable, optionally with a time at which the normal enable starts by itself.

    The time is typed in the person's own zone (the active one, core.preferences) and stored
    in UTC.
    """

    resume_at = forms.DateTimeField(
        label=_("Resume automatically at"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    field_order = ["reason", "ticket", "resume_at"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["resume_at"].help_text = _(
            "In your time zone, %(zone)s. At that time the dataflow is enabled as from the "
            "Enable page, in your name. Leave empty to keep it disabled until someone enables it."
        ) % {"zone": timezone.get_current_timezone_name()}

    def clean_resume_at(self) -> datetime | None:
        value = self.cleaned_data.get("resume_at")
        if value is None:
            return None
        if problem := resume_time_problem(value):
            raise forms.ValidationError(problem)
        return value.astimezone(UTC)


class AccountEditForm(ReasonFields):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    # Signed snapshot of what the user saw (operations.concurrency).
    seen = forms.CharField(widget=forms.HiddenInput, required=False)

    field_order = ["name", "description", "reason", "ticket"]

    def changes(self, seen: dict[str, Any]) -> dict[str, str]:
        """Only what the user changed compared with what they saw."""
        data = self.cleaned_data
        return {
            name: data[name] for name in ("name", "description") if data[name] != seen.get(name)
        }


class RotateKeyForm(RequiredReasonForm):
    new_key = forms.CharField(
        label=_("New Stripe secret or restricted key"),
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "sk_live_…, sk_test_…, rk_live_… or rk_test_…. It is checked against every Stripe "
            "resource before anything changes in AEP, and it is never shown again."
        ),
    )

    field_order = ["new_key", "reason", "ticket"]

    def clean_new_key(self) -> str:
        key = self.cleaned_data["new_key"]
        if key_shape(key) is None:
            raise forms.ValidationError(
                _("This is not a Stripe secret or restricted key (they start with sk_ or rk_).")
            )
        return key


class ConfirmRotateForm(forms.Form):
    accept_losses = forms.BooleanField(
        label=_("I understand that the dataflows listed above will fail with the new key."),
        required=False,
    )

    def __init__(self, *args, losing: int = 0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["accept_losses"].required = losing > 0


class DeleteConfirmForm(RequiredReasonForm):
    """Typed confirmation: the exact name of what is deleted."""

    confirm_name = forms.CharField(label=_("Type the name to confirm"), strip=False)
    delete_datasets = forms.BooleanField(label=_("Also delete the datasets"), required=False)
    delete_schemas = forms.BooleanField(
        label=_("Also delete the schemas (only with their datasets)"), required=False
    )

    field_order = ["delete_datasets", "delete_schemas", "reason", "ticket", "confirm_name"]

    def __init__(self, *args, expected_name: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.expected_name = expected_name

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"]
        if typed != self.expected_name:
            raise forms.ValidationError(
                _("Type the name exactly as shown: %(name)s") % {"name": self.expected_name}
            )
        return typed

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("delete_schemas") and not data.get("delete_datasets"):
            self.add_error("delete_schemas", _("Schemas can only go together with their datasets."))
        return data


class DataflowEditForm(ReasonFields):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    frequency = forms.ChoiceField(
        label=_("Runs every"),
        choices=[c for c in Dataflow.Frequency.choices if c[0] != Dataflow.Frequency.ONCE],
    )
    interval = forms.IntegerField(label=_("Interval"), min_value=1, max_value=10_000)
    seen = forms.CharField(widget=forms.HiddenInput, required=False)

    field_order = ["name", "description", "frequency", "interval", "reason", "ticket"]

    def __init__(self, *args, editable: frozenset[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("name", "description"):
            if name not in editable:
                del self.fields[name]
        if "frequency" not in editable:
            del self.fields["frequency"]
            del self.fields["interval"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("frequency") == "minute" and (data.get("interval") or 0) < 15:
            self.add_error("interval", _("AEP runs minute schedules at most every 15 minutes."))
        return data

    def changes(self, seen: dict[str, Any]) -> dict[str, Any]:
        """Only what the user changed compared with what they saw."""
        data = self.cleaned_data
        return {
            name: data[name]
            for name in ("name", "description", "frequency", "interval")
            if name in self.fields and data.get(name) != seen.get(name)
        }


class MappingForm(ReasonFields):
    mapping = forms.CharField(
        label=_("Mapping rules"),
        widget=forms.Textarea(attrs={"rows": 14, "class": "mono", "spellcheck": "false"}),
        help_text=_(
            "One rule per line: “source -> XDM destination”. A source can be a Stripe field "
            "(data.amount) or an expression (data.amount / 100). “(identity)” after a "
            "destination is kept as the mapping set has it, but does not make an identity: AEP "
            "reads identities from the schema's identity descriptors."
        ),
    )
    seen = forms.CharField(widget=forms.HiddenInput, required=False)

    field_order = ["mapping", "reason", "ticket"]

    def clean_mapping(self) -> str:
        text = self.cleaned_data["mapping"]
        try:
            parse_rules(text)
        except MappingSyntaxError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return text


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Actor"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    target = forms.CharField(label=_("Target"), required=False)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, actions: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["action"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Any"))] + [(a, a) for a in actions]
