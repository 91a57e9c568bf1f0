from django.contrib import admin
from django.urls import include, path

from api.views import tokens as api_tokens
from core import healthz, metrics, signin
from core import views as core_views

# 413 for an oversized post; 403, 404 and 500 use Django's handlers with our templates.
handler400 = "core.errors.bad_request"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("login/", signin.SignInView.as_view(), name="login"),
    path("login/sso/", signin.sso_start, name="sso-start"),
    path("login/sso/callback/", signin.SSOCallbackView.as_view(), name="sso-callback"),
    path("logout/", signin.sign_out, name="logout"),
    path("jobs/<uuid:pk>/", core_views.job_status, name="job-status"),
    path("healthz", healthz.ready, name="healthz"),
    path("healthz/live", healthz.live, name="healthz-live"),
    path("healthz/ready", healthz.ready, name="healthz-ready"),
    path("healthz/background", healthz.background, name="healthz-background"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", core_views.set_language, name="set_language"),
    path("preferences/", core_views.preferences, name="preferences"),
    path("preferences/tokens/", api_tokens.token_list, name="api-tokens"),
    path("preferences/tokens/all/", api_tokens.token_admin, name="api-token-admin"),
    path("preferences/tokens/<int:pk>/revoke/", api_tokens.token_revoke, name="api-token-revoke"),
    path("wizard/", include("onboarding.urls")),
    path("ops/", include("operations.urls")),
    path("api/v1/", include("api.urls")),
    path("", include("monitoring.urls")),
]
