from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.crypto import EncryptedSecretField


def default_platform_url() -> str:
    return settings.AEP_PLATFORM_URL


def default_ims_url() -> str:
    return settings.AEP_IMS_URL


def default_scope() -> str:
    return settings.AEP_SCOPE


class Sandbox(models.Model):
    """One AEP organisation + sandbox the dashboard works with, and the credential to reach it."""

    display_name = models.CharField(_("display name"), max_length=100, unique=True)
    org_id = models.CharField(
        _("IMS organization ID"), max_length=64, help_text=_("Ends with @AdobeOrg.")
    )
    client_id = models.CharField(
        _("client ID"), max_length=128, help_text=_("Also sent as the x-api-key header.")
    )
    client_secret = EncryptedSecretField(_("client secret"))
    scope = models.CharField(_("scopes"), max_length=500, default=default_scope)
    sandbox_name = models.CharField(
        _("sandbox name"), max_length=64, help_text=_("Lower-case, e.g. prod.")
    )
    platform_url = models.URLField(_("platform URL"), default=default_platform_url)
    ims_url = models.URLField(_("IMS URL"), default=default_ims_url)
    tenant_id = models.CharField(_("tenant ID"), max_length=64, blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["org_id", "sandbox_name", "platform_url"], name="monitoring_sandbox_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.sandbox_name})"

    @property
    def is_production(self) -> bool:
        return self.sandbox_name == "prod"
