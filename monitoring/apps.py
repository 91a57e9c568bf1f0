from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"

    def ready(self) -> None:
        from django.contrib.admin.models import LogEntry
        from django.db.models.signals import post_save

        from monitoring import metrics
        from monitoring.admin_audit import record_admin_change

        post_save.connect(record_admin_change, sender=LogEntry, dispatch_uid="admin-audit")

        # Its gauges on /metrics: core.metrics renders them without reading monitoring itself.
        metrics.register()
