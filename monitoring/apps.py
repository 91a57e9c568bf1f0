from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"

    def ready(self) -> None:
        from monitoring import metrics

        # Its gauges on /metrics: core.metrics renders them without reading monitoring itself.
        metrics.register()
