from django.contrib import admin

from core.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("kind", "target", "status", "created", "finished", "error_code")
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in Job._meta.fields]
