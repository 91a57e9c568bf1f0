"""In headless chromium: pick 한국어 in the top bar, then visit every main page and find no
English word in what the page shows.

What is not UI text is taken out before looking: names and descriptions people typed (the
test data's names), Adobe's and Stripe's own error messages, the language picker's "English",
and technical tokens (ids, resource and field paths, error codes, units). Set SCREENSHOT_DIR to
keep a full-page screenshot of every page as korean-*.png.
"""

from __future__ import annotations

import re
from unittest.mock import patch
from zoneinfo import available_timezones

import pytest
from django.utils import timezone

from aep.flowservice import STRIPE_RESOURCE_PATHS
from core.models import Job
from core.roles import ADMIN, ensure_roles
from monitoring.audit import record
from monitoring.models import Account, AuditEvent, Dataflow, Run, Sandbox
from onboarding import provisioning
from onboarding.models import Draft
from onboarding.provisioning import create_steps
from operations import service, steps
from operations.models import Operation
from tests.base import make_sandbox, make_user
from tests.monitoring.demo import build_demo
from tests.onboarding.factories import ready_draft

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Words that stay as they are in Korean UIs: product names (ours, Adobe's, the chat services'),
# standards, units, formats, the Stripe resource paths (they are API names) and currency codes
# in examples.
ALLOWED_WORDS = {
    "stripe", "sources", "aep", "adobe", "experience", "platform", "xdm", "ims", "api", "id",
    "sla", "csv", "json", "url", "utc", "oauth", "http", "https", "kb", "mb", "gb", "iso", "usd",
    "jpy", "slack", "microsoft", "teams", "rest",
    *(word for path in STRIPE_RESOURCE_PATHS for word in path.split("_")),
}  # fmt: skip
# Names of Adobe products and permissions, Identity Service's standard Email namespace (its
# code), CSV column names users type, IANA time zones.
ALLOWED_PHRASES = [
    "Adobe Developer Console", "Adobe Admin Console", "Data Prep", "View Sources",
    "Manage Sources", "Identity Service", "Email", "source, destination, identity, kind, type",
    *available_timezones(),
]  # fmt: skip
# Technical tokens: ids, paths and field names (digits or _ . / @ # = - inside), camelCase.
TECHNICAL = re.compile(r"\w+\(\S*\)|\w*[0-9_./@#=\\-]\S*\w|\w*[0-9_]\w*|[a-z]+[A-Z]\w*")
WORD = re.compile(r"[A-Za-z]{2,}")

VISIBLE_TEXT = """() => {
  const skip = [...document.querySelectorAll('[lang]:not(html), .mono, code, pre, .code, svg')];
  const hidden = skip.map((el) => el.innerText || el.textContent || '');
  return {text: document.body.innerText, hidden, title: document.title};
}"""


def english_words(page, data_texts: list[str]) -> list[str]:
    seen = page.evaluate(VISIBLE_TEXT)
    text = f"{seen['title']}\n{seen['text']}"
    # Longest first, so a name inside a longer message goes with the message.
    for chunk in sorted([*seen["hidden"], *data_texts, *ALLOWED_PHRASES], key=len, reverse=True):
        if chunk and chunk.strip():
            # Whole words only: a hidden "x" must not take the x out of "Experience". Korean
            # particles attach to a name ("Console의"), so only Latin letters and digits count.
            bounded = rf"(?<![A-Za-z0-9]){re.escape(chunk.strip())}(?![A-Za-z0-9])"
            text = re.sub(bounded, " ", text)
    words = (TECHNICAL.sub(" ", token) for token in text.split())
    return sorted(
        {w for token in words for w in WORD.findall(token) if w.lower() not in ALLOWED_WORDS}
    )


@pytest.fixture
def korean_world(settings):
    """Everything the main pages show: the monitoring demo, support operations, audit events,
    a wizard draft at the review step, and a connected sandbox."""
    settings.LANGUAGE_COOKIE_SECURE = False
    ensure_roles()
    alex = make_user("alex", ADMIN)
    sandbox = make_sandbox(display_name="Acme production")
    flows = build_demo(sandbox, owner=alex)
    draft = ready_draft(alex, sandbox)
    failed = _failed_creation(alex, sandbox)
    created = _finished_creation(alex, sandbox, flows["customers"])
    operation = _finished_disable(alex, flows["prices"])
    rotation = _awaiting_rotation(alex, flows["charges"].account)
    deletion = _awaiting_delete(alex, flows["prices"])
    _sandbox_check(alex, sandbox)
    return {
        "user": alex,
        "sandbox": sandbox,
        "flows": flows,
        "draft": draft,
        "failed_draft": failed,
        "created_draft": created,
        "op": operation,
        "rotation": rotation,
        "deletion": deletion,
    }


def _failed_creation(user, sandbox: Sandbox) -> Draft:
    """A wizard run that stopped at the dataset with AEP's internal error."""
    draft = ready_draft(user, sandbox, paths=("refunds",), account_name="Acme refunds")
    create_steps(draft)
    dataset = draft.steps.get(kind="dataset")
    draft.steps.filter(position__lt=dataset.position).update(status="done", aep_id="x-1")
    error = "AEP had an internal error. This is usually temporary: press Retry."
    draft.steps.filter(pk=dataset.pk).update(status="failed", error=error, request_id="req-9")
    Draft.objects.filter(pk=draft.pk).update(status=Draft.Status.FAILED, error=error, attempt=1)
    return draft


def _finished_creation(user, sandbox: Sandbox, flow: Dataflow) -> Draft:
    """A wizard run that created the customers flow of the demo."""
    draft = ready_draft(user, sandbox, paths=("customers",), account_name="Acme customers")
    create_steps(draft)
    draft.steps.update(status="done", aep_id="x-2")
    draft.steps.filter(kind="flow").update(aep_id=flow.flow_id)
    Draft.objects.filter(pk=draft.pk).update(status=Draft.Status.DONE, attempt=1)
    return draft


def _awaiting_rotation(user, account: Account) -> Operation:
    return Operation.objects.create(
        kind=Operation.Kind.ACCOUNT_ROTATE_KEY,
        status=Operation.Status.AWAITING_CONFIRMATION,
        sandbox=account.sandbox,
        account=account,
        actor=user,
        target_label=account.name,
        reason="Key pasted into a ticket",
        secret="rk_live_new_key_000000004242",
        preview={
            "check": {
                "key_ending": "4242",
                "key_kind": "restricted",
                "livemode": True,
                "resources": {
                    "charges": {"status": "readable", "message": ""},
                    "refunds": {"status": "forbidden", "message": ""},
                },
            },
            "losing": [{"pk": 0, "name": "Acme refunds", "resource_path": "refunds"}],
            "usable": True,
            "livemode_changes": False,
        },
    )


def _awaiting_delete(user, dataflow: Dataflow) -> Operation:
    return Operation.objects.create(
        kind=Operation.Kind.DATAFLOW_DELETE,
        status=Operation.Status.AWAITING_CONFIRMATION,
        sandbox=dataflow.sandbox,
        dataflow=dataflow,
        actor=user,
        target_label=dataflow.name,
        preview={
            "flow_ids": [dataflow.flow_id],
            "flows": [{"id": dataflow.flow_id, "name": dataflow.name, "state": "disabled"}],
            "source_connections": [{"id": "src-1", "name": "Prices source", "shared": False}],
            "target_connections": [{"id": "tgt-1", "name": "Prices target", "shared": True}],
            "mapping_sets": [{"id": "map-1", "shared": False}],
            "datasets": [{"id": "ds-1", "name": "Prices dataset", "shared": False}],
            "schemas": [{"id": "https://ns.adobe.com/acme/schemas/prices", "shared": False}],
        },
    )


def _finished_disable(user, dataflow: Dataflow) -> Operation:
    op = service.create(
        Operation.Kind.DATAFLOW_DISABLE,
        actor=user,
        dataflow=dataflow,
        reason="Customer asked for a pause",
        steps=steps.flow_action_steps(dataflow, "disable"),
    )
    op.steps = [{**s, "status": "done"} for s in op.steps]
    op.status = Operation.Status.SUCCEEDED
    op.finished = timezone.now()
    op.save()
    record(
        user,
        "dataflow.disable",
        target_type="dataflow",
        target_id=dataflow.flow_id,
        target_label=dataflow.name,
        sandbox=dataflow.sandbox,
        before={"enabled": True},
        after={"enabled": False},
        reason=op.reason,
    )
    record(
        None,
        "dataflow.freshness_sla",
        target_type="dataflow",
        target_id=dataflow.flow_id,
        target_label=dataflow.name,
        sandbox=dataflow.sandbox,
        result=AuditEvent.Result.FAILED,
        error="AEP had an internal error. This is usually temporary; try again.",
    )
    return op


def _sandbox_check(user, sandbox: Sandbox) -> None:
    job = Job.objects.create(kind="sandbox.test", target=f"sandbox:{sandbox.pk}", created_by=user)
    job.claim()
    job.fail("Cannot reach AEP. Check the platform and IMS URLs of the sandbox.")


def data_texts(world) -> list[str]:
    """What people typed or AEP and Stripe reported: shown as it is, in any language."""
    texts = [world["sandbox"].display_name, world["sandbox"].sandbox_name, "alex", "system"]
    texts += list(Account.objects.values_list("name", flat=True))
    texts += [f.name for f in Dataflow.objects.all()]
    texts += [d for d in Dataflow.objects.values_list("description", flat=True) if d]
    texts += [f"Stripe {p}" for p in ("charges", "customers")]  # the draft's flow names
    texts += [f"Stripe {p} data" for p in ("charges", "customers")]  # its new datasets
    for draft in Draft.objects.all():
        texts += [draft.title, draft.account_name]
        # The names the wizard gives the objects it creates in AEP (data, not page text).
        texts += [i["name"] for g in provisioning.review_groups(draft) for i in g["items"]]
    texts += ["Prices source", "Prices target", "Prices dataset"]  # AEP objects to delete
    texts += [o.reason for o in Operation.objects.all() if o.reason]
    for run in Run.objects.exclude(errors=[]):
        texts += [e.get("message", "") for e in run.errors]
    texts.append("the account's stored key")
    return [t for t in texts if t]


def pages(world) -> list[tuple[str, str]]:
    flows, draft = world["flows"], world["draft"]
    failed = Run.objects.filter(dataflow=flows["refunds"], status="failed").first()
    partial = Run.objects.filter(dataflow=flows["charges"], status="partialSuccess").first()
    wizard = f"/wizard/{draft.pk}"
    return [
        ("home", "/"),
        ("overview", "/overview/"),
        ("dataflow", f"/dataflows/{flows['charges'].pk}/"),
        ("dataflow-failing", f"/dataflows/{flows['refunds'].pk}/"),
        ("run-failed", f"/runs/{failed.pk}/"),
        ("run-partial", f"/runs/{partial.pk}/"),
        ("account", f"/accounts/{flows['charges'].account_id}/"),
        ("alerts", "/alerts/"),
        ("alert-rules", "/alerts/rules/"),
        ("alert-rule-new", f"/alerts/rules/new/?dataflow={flows['charges'].pk}"),
        ("wizard-drafts", "/wizard/"),
        ("wizard-new", "/wizard/new/"),
        ("wizard-1-account", f"{wizard}/account/"),
        ("wizard-2-resources", f"{wizard}/resources/"),
        ("wizard-3-explore", f"{wizard}/explore/"),
        ("wizard-4-dataset", f"{wizard}/dataset/"),
        ("wizard-5-mapping", f"{wizard}/mapping/charges/"),
        ("wizard-6-schedule", f"{wizard}/schedule/"),
        ("wizard-7-review", f"{wizard}/review/"),
        ("wizard-creation-failed", f"/wizard/{world['failed_draft'].pk}/provisioning/"),
        ("wizard-done", f"/wizard/{world['created_draft'].pk}/done/"),
        ("sandboxes", "/sandboxes/"),
        ("sandbox", f"/sandboxes/{world['sandbox'].pk}/"),
        ("sandbox-new", "/sandboxes/new/"),
        ("ops-accounts", "/ops/accounts/"),
        ("ops-account", f"/ops/accounts/{flows['charges'].account_id}/"),
        ("ops-dataflows", "/ops/dataflows/"),
        ("ops-dataflow", f"/ops/dataflows/{flows['prices'].pk}/"),
        ("ops-timeline", f"/ops/dataflows/{flows['refunds'].pk}/timeline/"),
        ("ops-disable", f"/ops/dataflows/{flows['charges'].pk}/disable/"),
        ("ops-enable", f"/ops/dataflows/{flows['prices'].pk}/enable/"),
        ("ops-dataflow-edit", f"/ops/dataflows/{flows['charges'].pk}/edit/"),
        ("ops-dataflow-mapping", f"/ops/dataflows/{flows['charges'].pk}/mapping/"),
        ("ops-dataflow-delete", f"/ops/dataflows/{flows['charges'].pk}/delete/"),
        ("ops-account-edit", f"/ops/accounts/{flows['charges'].account_id}/edit/"),
        ("ops-account-rotate", f"/ops/accounts/{flows['charges'].account_id}/rotate/"),
        ("ops-account-delete", f"/ops/accounts/{flows['charges'].account_id}/delete/"),
        ("ops-operation", f"/ops/operations/{world['op'].pk}/"),
        ("ops-audit", "/ops/audit/"),
        ("ops-rotate-preview", f"/ops/operations/{world['rotation'].pk}/"),
        ("ops-delete-preview", f"/ops/operations/{world['deletion'].pk}/"),
        ("preferences", "/preferences/"),
        ("not-found", "/no-such-page/"),
    ]


def test_korean_ui_shows_no_english(page, korean_world, screenshots):
    texts = data_texts(korean_world)
    page.goto("/login/")
    # The browser asks for English; the check does see English there.
    assert {"Log", "Username", "Password"} <= set(english_words(page, texts))
    page.click("header button[lang=ko]")
    page.wait_for_selector("html[lang=ko]")
    assert page.locator("h1").inner_text() == "로그인"
    screenshots(page, "korean-login")
    found = {"login": english_words(page, texts)}

    page.fill("#id_username", "alex")
    page.fill("#id_password", "password")
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    # Pages never call AEP or Stripe; the jobs some of them start wait for a worker.
    with patch("celery.contrib.django.task.DjangoTask.delay_on_commit"):
        for name, url in pages(korean_world):
            page.goto(url)
            assert page.locator("html").get_attribute("lang") == "ko", name
            screenshots(page, f"korean-{name}")
            found[name] = english_words(page, texts)
    leftovers = {name: words for name, words in found.items() if words}
    assert not leftovers, "English on Korean pages:\n" + "\n".join(
        f"  {name}: {', '.join(words)}" for name, words in leftovers.items()
    )
