"""Celery application, configured from Django settings (``CELERY_*``)."""

from __future__ import annotations

from celery import Celery
from celery.signals import setup_logging

from config.boot import load_settings_or_exit

load_settings_or_exit()

app = Celery("stripe_sources")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def configure_logging(*args, **kwargs) -> None:
    """Workers log through Django's LOGGING instead of Celery's own handlers."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
