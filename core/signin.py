"""The sign-in pages: password, single sign-on (its start and its callback), and signing out."""

from __future__ import annotations

import logging

import requests
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from core import sso

log = logging.getLogger(__name__)


def sign_in_context() -> dict:
    return {
        "sso_enabled": sso.enabled(),
        "password_login": settings.PASSWORD_LOGIN,
    }


class SignInView(auth_views.LoginView):
    """The login page: "Sign in with SSO" when configured, and the password form as allowed."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **sign_in_context()}

    def post(self, request, *args, **kwargs):
        if settings.PASSWORD_LOGIN == sso.NO_ONE:
            context = self.get_context_data(form=self.get_form_class()(request))
            context["sign_in_problem"] = _("Password sign-in is switched off. Sign in with SSO.")
            return self.render_to_response(context, status=403)
        return super().post(request, *args, **kwargs)


def sign_in_problem(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    """The login page again, saying why single sign-on did not finish."""
    context = {
        "form": AuthenticationForm(request),
        "next": "",
        "sign_in_problem": message,
        **sign_in_context(),
    }
    return render(request, "registration/login.html", context, status=status)


class SSORequestView(OIDCAuthenticationRequestView):
    get_settings = staticmethod(sso.oidc_setting)


def sso_start(request: HttpRequest) -> HttpResponse:
    """Send the browser to the identity provider (GET /login/sso/?next=…)."""
    if not sso.enabled():
        raise Http404("single sign-on is not configured")
    try:
        sso.provider_metadata()
    except sso.SSOUnavailable as exc:
        log.warning("single sign-on unavailable: %s", exc)
        return sign_in_problem(request, provider_unreachable(), status=503)
    return SSORequestView.as_view()(request)


class SSOCallbackView(OIDCAuthenticationCallbackView):
    """Where the identity provider sends the browser back with a code."""

    get_settings = staticmethod(sso.oidc_setting)

    def get(self, request):
        if not sso.enabled():
            raise Http404("single sign-on is not configured")
        try:
            return super().get(request)
        except (sso.SSOUnavailable, requests.RequestException) as exc:
            log.warning("single sign-on failed at the provider: %s", type(exc).__name__)
            return sign_in_problem(request, provider_unreachable(), status=503)
        except SuspiciousOperation as exc:
            # A stale tab, a replayed link, or a token that does not verify.
            log.warning("single sign-on refused a callback: %s", exc)
            return sign_in_problem(
                request,
                _("That sign-in link has expired or was already used. Sign in again."),
                status=400,
            )

    def login_failure(self):
        refusal = self.request.session.pop(sso.REFUSAL_SESSION_KEY, None)
        if refusal:
            return render(
                self.request,
                "registration/sso_refused.html",
                {"refusal": refusal, "groups_claim": settings.OIDC_GROUPS_CLAIM},
                status=403,
            )
        return sign_in_problem(
            self.request,
            _(
                "Single sign-on did not finish. Try again; if it keeps failing, ask an Admin "
                "to check the identity provider's set-up."
            ),
            status=401,
        )


def provider_unreachable() -> str:
    return _(
        "The identity provider could not be reached. Try again in a minute; if it stays "
        "down, an Admin can sign in with a password."
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """Sign out here, then at the identity provider when the session came from it."""
    via_sso = request.session.get(auth.BACKEND_SESSION_KEY) == sso.SSO_BACKEND
    id_token = request.session.get("oidc_id_token")
    auth.logout(request)
    if via_sso and sso.enabled():
        url = sso.end_session_url(request, id_token)
        if url:
            return redirect(url)
    return redirect(settings.LOGOUT_REDIRECT_URL)
