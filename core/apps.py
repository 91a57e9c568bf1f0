from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Stripe Sources"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from core.middleware import session_fresh_at_login
        from core.roles import ensure_roles

        # A new session starts fresh, so its first pages need not renew it.
        user_logged_in.connect(session_fresh_at_login, dispatch_uid="session-fresh-at-login")

        # Groups need the permissions, which Django creates in its own post_migrate handler.
        post_migrate.connect(ensure_roles, sender=self)
