"""What the local provider tells the dashboard about a person."""

from __future__ import annotations

from oidc_provider.lib.claims import ScopeClaims


def subject(user) -> str:
    """A stable subject per person that is not their username, as real providers issue."""
    return f"local-{user.pk:06d}"


def userinfo(claims: dict, user) -> dict:
    claims["name"] = user.get_full_name() or user.get_username()
    claims["given_name"] = user.first_name
    claims["family_name"] = user.last_name
    claims["preferred_username"] = user.get_username()
    claims["email"] = user.email
    claims["email_verified"] = bool(user.email)
    return claims


class GroupsScopeClaims(ScopeClaims):
    """The `groups` scope: the names of the person's groups, as a list of strings."""

    def scope_groups(self) -> dict:
        return {"groups": sorted(self.user.groups.values_list("name", flat=True))}
