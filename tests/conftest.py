"""Fixtures shared by every test folder: the real emulators and a real Celery worker."""

from __future__ import annotations

import sys

import pytest

from tests.boundary import REPO_ROOT, BoundaryGuard


def pytest_configure(config):
    sys.addaudithook(BoundaryGuard.beside(REPO_ROOT).audit_hook)


@pytest.fixture(autouse=True)
def _default_language_and_zone():
    """Each test starts in the site's language and time zone, whatever the last request chose.

    Django keeps the language a request activated (and the zone a page activated) in the
    thread; a task a test then runs directly would write its sentences in that language.
    """
    from django.utils import timezone, translation

    translation.deactivate()
    timezone.deactivate()
    yield
    translation.deactivate()
    timezone.deactivate()


@pytest.fixture(scope="session")
def stripe_stand_in(tmp_path_factory):
    """The Stripe stand-in as its own process, seeded with a small deterministic data set."""
    from emulators.stripe.testing import start_stripe_stand_in

    server = start_stripe_stand_in(tmp_path_factory.mktemp("stripe"), charges=120)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def aep_emulator(tmp_path_factory, stripe_stand_in):
    """The AEP emulator as its own process, pulling from the Stripe stand-in.

    Time runs 600x faster for schedules, so a 15-minute interval lasts 1.5 real seconds.
    """
    from emulators.aep.testing import start_aep_emulator

    server = start_aep_emulator(tmp_path_factory.mktemp("aep"), stripe_stand_in.url, time_scale=600)
    yield server
    server.stop()


@pytest.fixture
def celery_worker_thread(transactional_db):
    """A real Celery worker (threads) consuming the test process's queues on the real Redis broker.

    Needs the transactional database so the worker's threads see the test's rows.
    """
    from celery.contrib.testing.worker import start_worker

    from config.celery import app
    from config.queues import broker_names

    with start_worker(
        app, pool="threads", concurrency=2, perform_ping_check=False, queues=broker_names()
    ) as worker:
        yield worker


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory, live_server):
    """The local OpenID Connect provider as its own process, registered for the live server.

    Its demo people (`provider.people`) each sit in one group; see `sso_settings`.
    """
    from emulators.oidc.testing import start_oidc_provider

    port = live_server.url.rsplit(":", 1)[1]
    sites = [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]
    provider = start_oidc_provider(tmp_path_factory.mktemp("oidc"), sites)
    yield provider
    provider.stop()


@pytest.fixture
def sso_settings(settings, oidc_provider):
    """Single sign-on through the local provider, with its demo groups mapped to the roles."""
    from core import sso

    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OIDC_RP_CLIENT_ID = oidc_provider.client_id
    settings.OIDC_RP_CLIENT_SECRET = oidc_provider.client_secret
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.SSO_ROLE_GROUPS = {
        "Admin": ["stripe-sources-admins"],
        "Support": ["stripe-sources-support"],
        "Marketing Ops": ["stripe-sources-marketing"],
    }
    # The live server speaks plain HTTP.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    sso.forget_provider_metadata()
    yield settings
    sso.forget_provider_metadata()
