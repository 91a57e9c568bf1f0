"""What every monitoring page shares: refreshing one partial when htmx asks for it."""

from __future__ import annotations

from core.http import AuthenticatedHttpRequest


def refresh_part(request: AuthenticatedHttpRequest, template: str, allowed: tuple[str, ...]) -> str:
    """`template#part` when htmx asks to refresh one of the page's partials (by its id)."""
    target = request.htmx.target if request.htmx else None
    if target in allowed:
        return f"{template}#{target}"
    return template
