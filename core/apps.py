from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Stripe Sources"

    def ready(self) -> None:
        from core.roles import ensure_roles

        # Groups need the permissions, which Django creates in its own post_migrate handler.
        post_migrate.connect(ensure_roles, sender=self)
