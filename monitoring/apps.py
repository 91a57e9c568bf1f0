from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"

    def ready(self) -> None:
        from django.contrib.admin.models import LogEntry
        from django.db.models.signals import post_save

        from core import sso
        from monitoring import audit, metrics
        from monitoring.admin_audit import record_admin_change

        post_save.connect(record_admin_change, sender=LogEntry, dispatch_uid="admin-audit")

        # Its gauges on /metrics: core.metrics renders them without reading monitoring itself.
        metrics.register()
        # Single sign-ons in the audit trail: core.sso announces them, the trail lives here.
        sso.signed_in.connect(audit.record_sso_sign_in, dispatch_uid="audit-sso-sign-in")
