"""A local OpenID Connect provider: a small Django project around django-oidc-provider.

It stands in for a company's identity provider (Okta, Azure AD, Adobe-federated) in `./dev run`
and in the tests, as its own process with its own SQLite file: the dashboard signs people in
through it over real HTTP, exactly as it would through the real one.
"""
