"""Load the settings before anything else, so a bad configuration stops with one clear line."""

from __future__ import annotations

import os
import sys

_loading = False


def load_settings_or_exit(settings_module: str = "config.settings") -> None:
    global _loading
    if _loading:
        # Importing config.settings imports the config package, whose celery module calls us
        # again: the outer call is already doing the work.
        return
    _loading = True
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    from django.conf import settings

    from config.env import ConfigError

    try:
        settings.INSTALLED_APPS  # noqa: B018  (touching a setting imports the module)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    finally:
        _loading = False
