"""How drf-spectacular describes the API: the Bearer scheme, and one operationId per view."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class ApiSchema(AutoSchema):
    def get_operation_id(self) -> str:
        # Function views are WrappedAPIView classes named after the function.
        return self.view.__class__.__name__


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from the Preferences page (or "
            "`manage.py create_api_token`).",
        }
