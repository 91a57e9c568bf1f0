from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from core.roles import perm


def requires(capability: str):
    """Login required, then 403 unless the user's role grants `capability`."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            if not request.user.has_perm(perm(capability)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
