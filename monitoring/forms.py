from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.crypto import Secret
from core.stripe import key_shape
from monitoring.models import AlertRule, Dataflow, Sandbox
from monitoring.webhook_targets import WebhookTargetRefused, vet_url


class SandboxForm(forms.ModelForm):
    """Create or edit a sandbox; the client secret is never rendered back."""

    client_secret = forms.CharField(
        label=_("Client secret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    platform_url = forms.URLField(label=_("Platform URL"), assume_scheme="https")
    ims_url = forms.URLField(label=_("IMS URL"), assume_scheme="https")

    class Meta:
        model = Sandbox
        fields = [
            "display_name",
            "org_id",
            "sandbox_name",
            "client_id",
            "client_secret",
            "scope",
            "platform_url",
            "ims_url",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        secret = self.instance.client_secret if self.instance.pk else None
        if secret and not secret.readable:
            self.fields["client_secret"].help_text = _(
                "The stored secret cannot be read with the current FIELD_ENCRYPTION_KEY. Enter "
                "it again, or put the key it was written with back in FIELD_ENCRYPTION_KEY."
            )
        elif secret:
            self.fields["client_secret"].help_text = _(
                "Set (ends in …%(last4)s). Leave empty to keep it. Changing the platform or IMS "
                "URL needs it entered again."
            ) % {"last4": secret.last4}
        else:
            self.fields["client_secret"].help_text = _(
                "From the OAuth Server-to-Server credential in Adobe Developer Console."
            )

    def clean_org_id(self) -> str:
        org_id = self.cleaned_data["org_id"].strip()
        if not org_id.endswith("@AdobeOrg"):
            raise forms.ValidationError(_("An IMS organization ID ends with @AdobeOrg."))
        return org_id

    def clean_sandbox_name(self) -> str:
        name = self.cleaned_data["sandbox_name"].strip()
        if name != name.lower() or " " in name:
            raise forms.ValidationError(_("Sandbox names are lower-case without spaces."))
        return name

    def clean_platform_url(self) -> str:
        return _https_unless_allowed(self.cleaned_data["platform_url"])

    def clean_ims_url(self) -> str:
        return _https_unless_allowed(self.cleaned_data["ims_url"])

    def clean_client_secret(self):
        secret = self.cleaned_data["client_secret"]
        if secret:
            return secret
        stored = self.instance.client_secret if self.instance.pk else None
        if stored and stored.readable:
            return stored  # keep the stored one
        if stored:
            raise forms.ValidationError(
                _("The stored secret cannot be read with the current keys: enter it again.")
            )
        raise forms.ValidationError(_("Enter the client secret."))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # The stored secret goes only where it went when it was entered: pointing the sandbox
        # somewhere else takes someone who knows the secret, not just access to this page.
        if self.instance.pk and not self.data.get("client_secret", "").strip():
            moved = [
                name
                for name in ("platform_url", "ims_url")
                if name in cleaned and cleaned[name] != getattr(self.instance, name)
            ]
            if moved and "client_secret" not in self.errors:
                self.add_error(
                    "client_secret",
                    _("Enter the client secret again to change the platform or IMS URL."),
                )
        return cleaned


def _https_unless_allowed(url: str) -> str:
    """Sandbox URLs carry the client secret and every token: https only, except where
    AEP_ALLOW_HTTP (on with DEBUG) lets a local emulator be reached over http."""
    if urlsplit(url).scheme != "https" and not settings.AEP_ALLOW_HTTP:
        raise forms.ValidationError(_("Use an address starting with https://."))
    return url


class FreshnessSLAForm(forms.ModelForm):
    """A dataflow's freshness SLA in minutes; empty means "derived from the schedule"."""

    class Meta:
        model = Dataflow
        fields = ["freshness_sla_minutes"]
        labels = {"freshness_sla_minutes": _("Freshness SLA (minutes)")}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["freshness_sla_minutes"]
        assert isinstance(field, forms.IntegerField)
        field.min_value = 5
        field.widget.attrs.update(min=5, max=60 * 24 * 60)
        default = self.instance.default_sla_minutes
        if default:
            field.help_text = _(
                "Leave empty for the default of %(n)d minutes (twice the schedule interval)."
            ) % {"n": default}
        else:
            field.help_text = _("One-time flows have no default: set one to track freshness.")

    def clean_freshness_sla_minutes(self):
        value = self.cleaned_data["freshness_sla_minutes"]
        if value is not None and not 5 <= value <= 60 * 24 * 60:
            raise forms.ValidationError(_("Choose between 5 minutes and 60 days."))
        return value


# Hosts whose webhooks take a chat message rather than our signed JSON. Suggested on the form,
# never imposed: a company proxy may sit on any host and expect anything.
SLACK_HOSTS = ("hooks.slack.com",)
TEAMS_DOMAINS = ("webhook.office.com", "logic.azure.com", "powerplatform.com")


def suggested_format(url: str) -> str | None:
    """The webhook format a URL's host obviously calls for, if any."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None
    if host in SLACK_HOSTS:
        return AlertRule.WebhookFormat.SLACK
    if any(host == domain or host.endswith("." + domain) for domain in TEAMS_DOMAINS):
        return AlertRule.WebhookFormat.TEAMS
    return None


class WriteOnlyURLInput(forms.URLInput):
    """A URL field that, like a password field, never renders its value back."""

    def format_value(self, value: Any) -> None:
        return None


class AlertRuleForm(forms.ModelForm):
    """Create or edit an alert rule; the webhook secret is write-only."""

    # A credential (Slack and Teams carry their secret in the path): written, never shown.
    webhook_url = forms.URLField(
        label=_("Webhook URL"),
        required=False,
        assume_scheme="https",
        widget=WriteOnlyURLInput(attrs={"autocomplete": "off"}),
    )
    webhook_format = forms.ChoiceField(
        label=_("Webhook format"),
        choices=AlertRule.WebhookFormat.choices,
        initial=AlertRule.WebhookFormat.GENERIC,
        # Left out of a post, it is the generic format rules had before there was a choice.
        required=False,
    )
    remove_webhook = forms.BooleanField(label=_("Remove the webhook"), required=False)
    webhook_secret = forms.CharField(
        label=_("Webhook signing secret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = AlertRule
        fields = [
            "dataflow",
            "kind",
            "threshold",
            "enabled",
            "notify_subscribers",
            "emails",
            "webhook_url",
            "webhook_format",
            "webhook_secret",
        ]
        labels = {"dataflow": _("Dataflow")}

    def __init__(self, *args, dataflows=None, allow_global: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["dataflow"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = dataflows if dataflows is not None else Dataflow.objects.none()
        field.required = not allow_global
        field.empty_label = _("Every dataflow") if allow_global else None
        self.fields["threshold"].help_text = _(
            "Consecutive failures: how many in a row (default 3). Failed-record ratio: a "
            "fraction such as 0.05 for 5% (default). Fewer records than on a usual day: the "
            "share of a usual day below which to alert, such as 0.5 (default); it waits until "
            "3 of the previous 7 days have runs. Other conditions ignore it."
        )
        self.fields["emails"].help_text = _("Comma-separated addresses, besides subscribers.")
        self.fields["webhook_url"].help_text = _(
            "An https:// address on the public internet. Redirects are not followed."
        )
        # The address is a credential, like the secret: never rendered back.
        self.initial["webhook_url"] = ""
        if self.instance.pk and self.instance.webhook_url:
            self.fields["webhook_url"].help_text = _(
                "Set (%(label)s). Leave empty to keep it. Redirects are not followed."
            ) % {"label": self.instance.webhook_label}
        else:
            del self.fields["remove_webhook"]
        self.order_fields([*self.Meta.fields[:7], "remove_webhook"])
        self.fields["webhook_format"].help_text = self._format_help()
        # Read by static/js/alert_rule_form.js, which picks the format as the address is typed.
        self.fields["webhook_url"].widget.attrs["data-suggest-format"] = "id_webhook_format"
        secret = self.instance.webhook_secret if self.instance.pk else None
        if secret:
            self.fields["webhook_secret"].help_text = _(
                "Set (ends in …%(last4)s). Leave empty to keep it. Only generic signed JSON "
                "uses it."
            ) % {"last4": secret.last4}
        else:
            self.fields["webhook_secret"].help_text = _(
                "Generic signed JSON only, and required for it: each delivery carries "
                'X-Stripe-Sources-Signature: t=<time>,v1=<HMAC-SHA256 of "<time>.<body>"> with '
                "this secret. Slack and Teams check no signature: leave it empty for them."
            )

    def _format_help(self) -> str:
        help_text = str(
            _(
                "Generic signed JSON for a receiver of your own. Slack: an incoming-webhook "
                "address (hooks.slack.com). Teams: a Workflows address (…logic.azure.com, "
                "…powerplatform.com) or an older incoming webhook (…webhook.office.com). "
                "Slack and Teams get the alert in the site's language, with a link to the "
                "dataflow."
            )
        )
        rule = self.instance
        # The label keeps the host, which is all the suggestion reads.
        suggested = suggested_format(rule.webhook_label) if rule.pk else None
        if suggested and suggested != rule.webhook_format:
            help_text += " " + _("This address looks like %(format)s.") % {
                "format": AlertRule.WebhookFormat(suggested).label
            }
        return help_text

    def clean_emails(self) -> str:
        raw = self.cleaned_data["emails"]
        addresses = [e.strip() for e in raw.replace(";", ",").split(",") if e.strip()]
        validator = forms.EmailField()
        for address in addresses:
            validator.clean(address)
        return ", ".join(addresses)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        kind, threshold = cleaned.get("kind"), cleaned.get("threshold")
        if kind == AlertRule.Kind.FAILED_RATIO and threshold is not None and not 0 < threshold < 1:
            self.add_error("threshold", _("Give a fraction between 0 and 1, e.g. 0.05."))
        if kind == AlertRule.Kind.CONSECUTIVE_FAILURES and threshold is not None and threshold < 1:
            self.add_error("threshold", _("Give a number of runs, at least 1."))
        if kind == AlertRule.Kind.VOLUME_DROP and threshold is not None and not 0 < threshold < 1:
            self.add_error(
                "threshold", _("Give a fraction between 0 and 1, e.g. 0.5 for half a usual day.")
            )
        self._clean_webhook(cleaned)
        return cleaned

    def _clean_webhook(self, cleaned: dict) -> None:
        if cleaned.get("remove_webhook") and not self.data.get("webhook_url"):
            cleaned["webhook_url"] = cleaned["webhook_secret"] = ""
            return
        url = cleaned.get("webhook_url")
        if isinstance(url, Secret):  # the stored one: its host is in the label
            url = self.instance.webhook_label
        generic = cleaned.get("webhook_format") == AlertRule.WebhookFormat.GENERIC
        secret = cleaned.get("webhook_secret") or (
            self.instance.webhook_secret if self.instance.pk else ""
        )
        if not url or not generic or secret:
            return
        suggested = suggested_format(url)
        if suggested:
            self.add_error(
                "webhook_format",
                _(
                    "This address looks like %(format)s: choose that format, or give a signing "
                    "secret to send generic signed JSON."
                )
                % {"format": AlertRule.WebhookFormat(suggested).label},
            )
        else:
            self.add_error("webhook_secret", _("Generic signed JSON needs a signing secret."))

    def clean_webhook_format(self) -> str:
        return self.cleaned_data["webhook_format"] or AlertRule.WebhookFormat.GENERIC

    def clean_webhook_url(self):
        url = self.cleaned_data["webhook_url"]
        if url:
            try:
                vet_url(url)
            except WebhookTargetRefused as exc:
                raise forms.ValidationError(str(exc)) from None
            return url
        if self.instance.pk and self.instance.webhook_url and not self._removing_webhook():
            return self.instance.webhook_url  # keep the stored one
        return ""

    def _removing_webhook(self) -> bool:
        field = self.fields.get("remove_webhook")
        name = self.add_prefix("remove_webhook")
        return field is not None and bool(field.widget.value_from_datadict(self.data, {}, name))

    def clean_webhook_secret(self):
        secret = self.cleaned_data["webhook_secret"]
        if secret:
            if len(secret) < 16:
                raise forms.ValidationError(_("Use at least 16 characters."))
            return secret
        if self.instance.pk and self.instance.webhook_secret:
            return self.instance.webhook_secret  # keep the stored one
        return ""


class ReconcileForm(forms.Form):
    """Days to reconcile, and a Stripe key when none is stored (used once, never shown back)."""

    first_day = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    last_day = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    stripe_key = forms.CharField(
        label=_("Stripe key for this check"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Used once by the worker, kept encrypted until then, never shown or stored."),
    )

    MAX_DAYS = 90

    def __init__(self, *args, key_required: bool = False, may_paste: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_required = key_required
        if not may_paste:
            del self.fields["stripe_key"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        first, last = cleaned.get("first_day"), cleaned.get("last_day")
        if first and last:
            if last < first:
                self.add_error("last_day", _("The end is before the start."))
            elif (last - first).days >= self.MAX_DAYS:
                self.add_error("last_day", _("Reconcile at most 90 days at a time."))
        key = cleaned.get("stripe_key", "")
        if self.key_required and not key:
            raise forms.ValidationError(
                _("No Stripe key is stored for this account: paste one for this check.")
            )
        if key and key_shape(key) is None:
            self.add_error(
                "stripe_key", _("A Stripe secret or restricted key starts with sk_ or rk_.")
            )
        return cleaned
