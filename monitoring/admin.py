from django.contrib import admin

from monitoring.forms import SandboxForm
from monitoring.models import Sandbox


@admin.register(Sandbox)
class SandboxAdmin(admin.ModelAdmin):
    form = SandboxForm
    list_display = ("display_name", "org_id", "sandbox_name", "platform_url", "tenant_id")
    readonly_fields = ("tenant_id",)
