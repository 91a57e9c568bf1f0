from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from monitoring.models import Sandbox


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
        if secret:
            self.fields["client_secret"].help_text = _(
                "Set (ends in …%(last4)s). Leave empty to keep it."
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

    def clean_client_secret(self):
        secret = self.cleaned_data["client_secret"]
        if secret:
            return secret
        if self.instance.pk and self.instance.client_secret:
            return self.instance.client_secret  # keep the stored one
        raise forms.ValidationError(_("Enter the client secret."))
