"""Random and malformed posts to every form and htmx endpoint, as every role and anonymously.

Whatever is posted: never a 500; a refused post (a 4xx, a form shown again with errors, or a
redirect with an error message) writes nothing at all; and the answer says what is wrong (the
error messages are on the page, a 4xx page has text, a page is never blank).

The endpoints are found, not listed: every URL pattern of the project is resolved, filled with
seeded ids and tried with a POST; whatever does not answer 405 is fuzzed. Field names and the
values a browser would send come from the forms on the rendered pages (forms.py).
Tasks are never run: the test database is never committed, so no on-commit callback fires, and
Celery's apply_async is replaced for good measure. The budget is fixed (derandomized examples).
"""

from __future__ import annotations

import html
import re
from functools import cache
from typing import Any, ClassVar
from unittest.mock import patch
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.messages import constants as message_levels
from django.db import models, transaction
from django.forms import BaseForm, BaseFormSet
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from onboarding.models import STEP_NAMES, Draft
from operations.models import Operation
from tests.onboarding.factories import READABLE_ALL
from tests.security.forms import FormCatalog, any_text, as_is, field_entry, payload
from tests.security.routes import Route, project_paths, server_failed
from tests.security.world import ROLES, World, seed_world

pytestmark = pytest.mark.integration  # /healthz/* and /metrics read Redis

SNAPSHOT_APPS = ("auth", "core", "monitoring", "onboarding", "operations")
# Fixed by migrations; no request writes them.
NOT_SNAPSHOT = {"auth.Permission", "auth.Group_permissions"}
# Posts that must reach their view whatever the role: the forms of every area of the product.
EXPECTED_POST_ROUTES = {
    "login",
    "logout",
    "set_language",
    "preferences",
    "onboarding:start",
    "onboarding:account",
    "onboarding:connect",
    "onboarding:resources",
    "onboarding:explore",
    "onboarding:dataset",
    "onboarding:dataset-refresh",
    "onboarding:mapping-resource",
    "onboarding:mapping-import",
    "onboarding:schedule",
    "onboarding:review",
    "onboarding:retry",
    "onboarding:discard",
    "onboarding:share",
    "monitoring:sandbox-create",
    "monitoring:sandbox-detail",
    "monitoring:sandbox-test",
    "monitoring:dataflow-sla",
    "monitoring:dataflow-subscribe",
    "monitoring:dataflow-reconcile",
    "monitoring:alert-rule-create",
    "monitoring:alert-rule-edit",
    "monitoring:alert-rule-delete",
    "operations:account-edit",
    "operations:account-rotate",
    "operations:account-delete",
    "operations:dataflow-edit",
    "operations:dataflow-mapping",
    "operations:dataflow-mapping-load",
    "operations:dataflow-disable",
    "operations:dataflow-enable",
    "operations:dataflow-delete",
    "operations:run-retry",
    "operations:bulk-retry",
    "operations:operation-confirm",
    "operations:operation-resume",
    "operations:operation-cancel",
}
# The first post of a bulk retry only picks the dataflows; its form belongs to the second post.
# A token created shows itself once beside an empty form for the next one (a refused post
# answers 422 with the bound form).
SHOWS_AN_UNBOUND_FORM = {"operations:bulk-retry", "api-tokens"}
BUDGET = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)


class Rollback(Exception):
    pass


# -- the database before and after ------------------------------------------------------------


@cache
def _snapshot_models() -> list[tuple[type[models.Model], list[str]]]:
    chosen = []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.app_label not in SNAPSHOT_APPS or meta.label in NOT_SNAPSHOT or not meta.managed:
            continue
        names = [
            f.attname
            for f in model._meta.concrete_fields
            # Bookkeeping that reading a page may touch; the data itself is compared.
            if not getattr(f, "auto_now", False) and f.name != "last_login"
        ]
        chosen.append((model, names))
    return chosen


def snapshot() -> dict[str, list]:
    return {
        model._meta.label: list(model.objects.order_by("pk").values_list(*names))
        for model, names in _snapshot_models()
    }


def changed_tables(before: dict[str, list], after: dict[str, list]) -> list[str]:
    return [label for label in before if before[label] != after[label]]


# -- what the answer says -----------------------------------------------------------------------

TAG = re.compile(r"<[^>]+>")


def visible_text(body: str) -> str:
    return html.unescape(TAG.sub(" ", body)).strip()


def _context_layers(response) -> list[dict]:
    contexts = response.context
    if contexts is None:
        return []
    if not isinstance(contexts, list):
        contexts = [contexts]
    return [layer for context in contexts for layer in context]


def _context_values(response) -> list[Any]:
    return [value for layer in _context_layers(response) for value in layer.values()]


def form_errors(response) -> list[str]:
    """Every error of every bound form or formset the answer was rendered with."""
    errors: list[str] = []
    seen: set[int] = set()
    for value in _context_values(response):
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, BaseForm) and value.is_bound:
            errors += [str(e) for field_errors in value.errors.values() for e in field_errors]
        elif isinstance(value, BaseFormSet) and value.is_bound:
            errors += [str(e) for e in value.non_form_errors()]
            for form in value.forms:
                errors += [str(e) for field_errors in form.errors.values() for e in field_errors]
    return errors


def unbound_posted_form(response) -> bool:
    """The view's own `form` shown unbound after a post: what was posted was never checked."""
    contexts = response.context
    main = contexts[0] if isinstance(contexts, list) and contexts else contexts
    for layer in main or []:
        if isinstance(layer.get("form"), BaseForm):
            return not layer["form"].is_bound
    return False


def error_messages(response) -> list[str]:
    storage = getattr(response.wsgi_request, "_messages", None)
    queued = getattr(storage, "_queued_messages", [])
    return [str(m) for m in queued if m.level >= message_levels.ERROR]


def body_of(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


# -- the test case ------------------------------------------------------------------------------


class FormFuzzTestCase(TestCase):
    world: ClassVar[World]
    sessions: ClassVar[dict[str, str]]
    get_paths: ClassVar[list[str]]
    post_routes: ClassVar[dict[str, tuple[Route, list[str]]]]
    post_only: ClassVar[set[str]]
    catalog: ClassVar[FormCatalog]

    @classmethod
    def setUpTestData(cls) -> None:
        cls.world = seed_world()
        _fuzz_targets(cls.world)
        cls.catalog = _read_forms(cls.world)
        cls.post_routes, cls.post_only = _post_routes(cls.world)
        cls.sessions = {role: _session(cls.world.users[role]) for role in ROLES}
        cls.get_paths = [
            path for _route, path in project_paths(cls.world.ids) if path not in cls.post_only
        ]

    def setUp(self) -> None:
        super().setUp()
        # On-commit callbacks never fire here; a task sent any other way goes nowhere either.
        sender = patch("celery.app.task.Task.apply_async")
        sender.start()
        self.addCleanup(sender.stop)

    # -- one post, judged ------------------------------------------------------------------

    def post(self, role, path, data, *, htmx=False, encoding="multipart"):
        client = Client()
        if role:
            # Sessions made once for the class; whatever a post does to them is rolled back.
            client.cookies[django_settings.SESSION_COOKIE_NAME] = self.sessions[role]
        headers = {"HX-Request": "true"} if htmx else {}
        before = snapshot()
        if encoding == "urlencoded" and not _has_file(data):
            body = urlencode(_flat(data), doseq=True)
            response = client.post(path, body, "application/x-www-form-urlencoded", headers=headers)
        elif encoding == "raw":
            response = client.generic(
                "POST", path, data.get("raw", b""), data.get("type", ""), headers=headers
            )
        else:
            response = client.post(path, data, headers=headers)
        self.judge(client, path, role, response, before)
        return response

    def judge(self, client, path, role, response, before) -> None:
        where = f"POST {path} as {role or 'anonymous'} -> {response.status_code}"
        assert not server_failed(path, response.status_code), where
        body = body_of(response)
        errors = form_errors(response) if response.status_code < 400 else []
        messages = error_messages(response)
        refused = response.status_code >= 400 or bool(errors) or bool(messages)
        if refused:
            changed = changed_tables(before, snapshot())
            assert not changed, f"{where}: refused, but wrote to {changed}"
        if response.status_code >= 400:
            assert visible_text(body), f"{where}: an empty error page"
        for error in errors:
            assert html.escape(error) in body, f"{where}: the error {error!r} is not shown"
        if messages and response.status_code in (301, 302, 303):
            shown = self.follow(client, response)
            for message in messages:
                assert html.escape(message) in shown, f"{where}: message {message!r} not shown"
        is_form = path in self.catalog.fields
        if response.status_code == 200 and is_form and not _htmx_navigation(response):
            assert visible_text(body), f"{where}: a blank page"
            if self.route_name(path) not in SHOWS_AN_UNBOUND_FORM:
                assert not unbound_posted_form(response), f"{where}: the post was not validated"

    def follow(self, client, response, hops: int = 3) -> str:
        for _hop in range(hops):
            location = response["Location"]
            response = client.get(location)
            if response.status_code not in (301, 302, 303):
                return body_of(response)
        return ""

    def route_name(self, path: str) -> str:
        return next((name for name, (_r, paths) in self.post_routes.items() if path in paths), "")

    # -- hypothesis drivers ----------------------------------------------------------------

    def fuzz(self, data, names: list[str]) -> None:
        name = data.draw(st.sampled_from(sorted(names)), label="route")
        _route, paths = self.post_routes[name]
        path = data.draw(st.sampled_from(paths), label="path")
        fields = self.catalog.for_path(path)
        role = data.draw(st.sampled_from((None, *ROLES)), label="role")
        htmx = data.draw(st.booleans(), label="htmx")
        encoding = data.draw(st.sampled_from(["multipart", "urlencoded", "raw"]), label="encoding")
        if encoding == "raw":
            posted = data.draw(raw_bodies, label="raw body")
        else:
            posted = data.draw(payload(fields), label="data")
        self.post(role, path, posted, htmx=htmx, encoding=encoding)

    def group(self, prefix: str) -> list[str]:
        names = [n for n in self.post_routes if n.startswith(prefix)]
        assert names, prefix
        return names

    # -- the tests -------------------------------------------------------------------------

    def test_every_form_and_htmx_post_is_found(self):
        missing = EXPECTED_POST_ROUTES - set(self.post_routes)
        assert not missing, f"not accepting posts: {sorted(missing)}"
        for name in ("onboarding:mapping-resource", "monitoring:sandbox-create", "login"):
            path = self.post_routes[name][1][0]
            assert self.catalog.for_path(path), f"no form found posting to {path}"
        # The webhook URL (a credential, never rendered back) and its removal are fuzzed too.
        rule_path = self.post_routes["monitoring:alert-rule-edit"][1][0]
        assert {"webhook_url", "remove_webhook"} <= set(self.catalog.for_path(rule_path))

    def test_each_form_refuses_the_obvious_garbage(self):
        """Every form and post-only endpoint, deterministically: nothing, the form untouched,
        every field NUL, a unicode digit or repeated; untouched also without the role, and
        anonymously."""
        for name, (_route, paths) in sorted(self.post_routes.items()):
            for path in paths:
                if path not in self.catalog.fields and path not in self.post_only:
                    continue
                fields = self.catalog.for_path(path)
                names = list(fields) or ["value"]
                untouched = as_is(fields)
                tries = [
                    ("alex", {}),
                    ("alex", untouched),
                    ("alex", dict.fromkeys(names, "\x00")),
                    ("alex", dict.fromkeys(names, "²")),
                    ("alex", {n: ["1", "2"] for n in names}),
                    ("nora", untouched),
                    (None, untouched),
                ]
                for role, posted in tries:
                    with self.subTest(route=name, path=path, role=role), transaction.atomic():
                        self.post(role, path, posted)
                        transaction.set_rollback(True)

    def test_each_query_parameter_refuses_the_obvious_garbage(self):
        """Every parameter a page's links and filters send, and `page` everywhere, set to what
        looks like a number but is not one, and to other classics."""
        nasty = ["²", "١٢", "-1", "99999999999999999999", "\x00", "[]", ""]
        for path in self.get_paths:
            known = self.catalog.query_for(path)
            tries = [(name, value) for name in sorted(known) for value in nasty]
            if "page" not in known:
                tries += [("page", "²"), ("page", "99999999999999999999")]
            for name, value in tries:
                with self.subTest(path=path, name=name, value=value):
                    self.get("alex", path, {name: value})

    def get(self, role, path, query, headers=None):
        client = Client()
        if role:
            client.cookies[django_settings.SESSION_COOKIE_NAME] = self.sessions[role]
        response = client.get(path, query, headers=headers or {})
        where = f"GET {path} {query!r} as {role or 'anonymous'} -> {response.status_code}"
        assert not server_failed(path, response.status_code), where
        if response.status_code >= 400:
            assert visible_text(body_of(response)), f"{where}: an empty error page"
        return response

    @BUDGET
    @given(st.data())
    def test_fuzz_the_wizard(self, data):
        self.fuzz(data, self.group("onboarding:"))

    @BUDGET
    @given(st.data())
    def test_fuzz_monitoring_and_alerts(self, data):
        self.fuzz(data, self.group("monitoring:"))

    @BUDGET
    @given(st.data())
    def test_fuzz_support_operations(self, data):
        self.fuzz(data, self.group("operations:"))

    @BUDGET
    @given(st.data())
    def test_fuzz_login_language_and_the_rest(self, data):
        others = [n for n in self.post_routes if ":" not in n]
        self.fuzz(data, others)

    @BUDGET
    @given(st.data())
    def test_fuzz_the_query_strings_of_pages_and_htmx_polls(self, data):
        """Filters, pages and partial targets are read from the query string and htmx headers:
        every page, with the parameters the pages use (and others) set to anything."""
        path = data.draw(st.sampled_from(self.get_paths), label="path")
        role = data.draw(st.sampled_from((None, *ROLES)), label="role")
        offered = self.catalog.query_for(path)
        usual = sorted(offered) or ["page"]
        name = st.one_of(st.sampled_from(usual), st.sampled_from(usual), any_text.filter(bool))
        query = data.draw(
            st.dictionaries(name, st.just(None), max_size=4).flatmap(
                lambda keys: st.fixed_dictionaries(
                    {key: field_entry(offered.get(key, set())) for key in keys}
                )
            ),
            label="query",
        )
        query = {key: value for key, value in query.items() if value is not None}
        headers = {}
        if data.draw(st.booleans(), label="htmx"):
            target = data.draw(st.sampled_from(["live", "runs", "probe", "x"]) | any_text)
            headers = {"HX-Request": "true", "HX-Target": target}
        self.get(role, path, query, headers)


raw_bodies = st.fixed_dictionaries(
    {
        "raw": st.binary(max_size=400),
        "type": st.sampled_from(
            [
                "multipart/form-data; boundary=xyz",
                "multipart/form-data",
                "multipart/form-data; boundary=",
                "application/x-www-form-urlencoded",
                "application/json",
                "text/plain",
                "",
            ]
        ),
    }
)


def _flat(data: dict[str, Any]) -> list[tuple[str, Any]]:
    pairs = []
    for name, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item))
    return pairs


def _has_file(data: dict[str, Any]) -> bool:
    return any(hasattr(v, "read") for v in data.values())


def _htmx_navigation(response) -> bool:
    return any(h in response for h in ("HX-Redirect", "HX-Refresh", "HX-Location"))


# -- the world the fuzzer posts into -----------------------------------------------------------


def _fuzz_targets(world: World) -> None:
    """Objects in the states the posts act on: a draft still at step 1 (the seeded one is at
    review) and a failed operation (resume, cancel), besides the rotation awaiting confirmation."""
    fresh = Draft.objects.create(
        sandbox=world.sandbox,
        created_by=world.users["mina"],
        account_name="Fresh",
        probe=READABLE_ALL,
        reached=-1,
    )
    failed = Operation.objects.create(
        kind=Operation.Kind.DATAFLOW_DISABLE,
        status=Operation.Status.FAILED,
        sandbox=world.sandbox,
        account=world.account,
        dataflow=world.dataflow,
        target_label=world.dataflow.name,
        actor=world.users["sam"],
        reason="noisy",
        steps=[{"key": "flow_action:x", "action": "flow_action", "status": "failed", "label": "x"}],
        error="AEP said no",
    )
    Draft.objects.filter(pk=world.draft.pk).update(reached=STEP_NAMES.index("review"))
    world.extra_ids = {"draft": [fresh.pk], "operation": [failed.pk]}


def _read_forms(world: World) -> FormCatalog:
    """The forms of every page, as an Admin (who sees them all) and anonymously (login)."""
    catalog = FormCatalog()
    for role in ("alex", None):
        client = Client()
        if role:
            client.force_login(world.users[role])
        for _route, path in project_paths(world.ids):
            response = client.get(path)
            if response.status_code == 200 and not response.streaming:
                catalog.read(path, response.content.decode("utf-8", "replace"))
    return catalog


def _session(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def _post_routes(world: World) -> tuple[dict[str, tuple[Route, list[str]]], set[str]]:
    """Routes that take a POST (anything but 405), found by posting nothing as an Admin, and
    the paths that take nothing but a POST."""
    found: dict[str, tuple[Route, list[str]]] = {}
    post_only: set[str] = set()
    with patch("celery.app.task.Task.apply_async"):
        for route, path in project_paths(world.ids):
            client = Client()
            client.force_login(world.users["alex"])
            try:
                with transaction.atomic():
                    status = client.post(path).status_code
                    raise Rollback
            except Rollback:
                pass
            if status != 405:
                found.setdefault(route.name, (route, []))[1].append(path)
                if client.get(path).status_code == 405:
                    post_only.add(path)
    return found, post_only
