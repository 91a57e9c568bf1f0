"""Alert rules: decide which conditions hold, open and resolve alerts, and notify people.

A rule's condition is read from the flow's denormalised health, so evaluating costs two queries
whatever the run history; a volume-drop rule adds one, over at most seven daily rollup rows.
An alert stays open while its condition holds; the partial unique constraint on (rule, dataflow)
makes "one open alert per condition" hold even when two workers evaluate the same flow at once.
Each opening and resolution is delivered once per recipient by email and once per webhook:
the caller hands in `deliver`, which queues one delivery (monitoring.tasks.deliver_later).
Webhooks get signed JSON, or a Slack or Microsoft Teams message when the rule says so; they are
retried with back-off, and go only to public addresses (monitoring.webhook_targets).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.crypto import Secret
from core.explain import ExplainedError
from core.i18n import localize_stored
from core.logging import mask_secrets
from core.models import Preference
from monitoring import conf, webhook_targets
from monitoring.models import (
    Alert,
    AlertDelivery,
    AlertRule,
    Dataflow,
    IngestBucket,
    SchemaDrift,
    Subscription,
)

logger = logging.getLogger(__name__)

Kind = AlertRule.Kind
Format = AlertRule.WebhookFormat
SIGNATURE_HEADER = "X-Stripe-Sources-Signature"
EVENT_HEADER = "X-Stripe-Sources-Event"
DELIVERY_HEADER = "X-Stripe-Sources-Delivery"
SIGNATURE_TOLERANCE_SECONDS = 300

# Queues the delivery of one AlertDelivery, by primary key.
Deliver = Callable[[int], None]


@dataclass(frozen=True)
class Condition:
    active: bool
    summary: str = ""
    details: dict[str, Any] | None = None


def check(rule: AlertRule, dataflow: Dataflow) -> Condition:
    """Whether the rule's condition holds for the flow now, and how to say so."""
    if not dataflow.is_active:
        return Condition(False)
    threshold = rule.effective_threshold
    failures = dataflow.consecutive_failures
    if rule.kind == Kind.RUN_FAILED:
        return Condition(failures >= 1, _("The latest run failed."), {"failures": failures})
    if rule.kind == Kind.CONSECUTIVE_FAILURES:
        return Condition(
            failures >= int(threshold or 1),
            _("%(n)d runs in a row failed.") % {"n": failures},
            {"failures": failures},
        )
    if rule.kind == Kind.LATE:
        return _late_condition(dataflow)
    if rule.kind == Kind.ZERO_RECORDS:
        return Condition(
            dataflow.runs_24h > 0 and dataflow.records_24h == 0,
            _("%(n)d runs in the last 24 hours loaded no records.") % {"n": dataflow.runs_24h},
            {"runs_24h": dataflow.runs_24h},
        )
    if rule.kind == Kind.FAILED_RATIO:
        ratio = dataflow.failed_ratio
        return Condition(
            ratio > (threshold or 0),
            _("%(pct).1f%% of the records read in the last 24 hours failed.")
            % {"pct": ratio * 100},
            {"failed_ratio": ratio},
        )
    if rule.kind == Kind.VOLUME_DROP:
        return _volume_condition(dataflow, threshold or 0, timezone.now())
    if rule.kind == Kind.SCHEMA_DRIFT:
        return _drift_condition(dataflow)
    return Condition(False)


def _drift_condition(dataflow: Dataflow) -> Condition:
    # Only breaking drift that nobody dismissed: a new Stripe field breaks nothing.
    result = SchemaDrift.objects.filter(dataflow=dataflow, has_breaking=True).first()
    fields = result.open_breaking_fields if result else []
    summary = _("The mapping reads fields Stripe no longer sends: %(fields)s.") % {
        "fields": ", ".join(fields)
    }
    return Condition(bool(fields), summary, {"fields": fields})


def usual_day(dataflow: Dataflow, now: datetime) -> tuple[float, int]:
    """Records a day loads on average, and the number of days that average rests on.

    The days are the daily rollups of the VOLUME_HISTORY_DAYS calendar days (UTC) before the
    one the last 24 hours start in, so they never overlap the window they are compared with.
    Only days with runs count: a flow created three days ago has a three-day history, not a
    week with four empty days in it.
    """
    end = now - timedelta(days=1)
    end = end.replace(hour=0, minute=0, second=0, microsecond=0)
    history = IngestBucket.objects.filter(
        dataflow=dataflow,
        granularity=IngestBucket.Granularity.DAY,
        start__gte=end - timedelta(days=AlertRule.VOLUME_HISTORY_DAYS),
        start__lt=end,
        runs__gt=0,
    ).aggregate(records=Sum("output_records"), days=Count("id"))
    days = history["days"] or 0
    return ((history["records"] or 0) / days if days else 0.0), days


def _volume_condition(dataflow: Dataflow, threshold: float, now: datetime) -> Condition:
    # Only a drop alerts: a day far busier than usual is good news, or a backfill.
    usual, days = usual_day(dataflow, now)
    records = dataflow.records_24h
    if days < AlertRule.VOLUME_MIN_DAYS or usual <= 0:
        return Condition(False, details={"usual": usual, "days": days})
    share = records / usual
    summary = _("%(n)s records in the last 24 hours, %(pct)d%% of the usual %(usual)s a day.") % {
        "n": f"{records:,}",
        "pct": int(share * 100),
        "usual": f"{round(usual):,}",
    }
    details = {"records_24h": records, "usual": round(usual, 1), "days": days, "share": share}
    return Condition(share < threshold, summary, details)


def _late_condition(dataflow: Dataflow) -> Condition:
    late = dataflow.health == Dataflow.Health.LATE
    if dataflow.late_reason == "stale":
        summary = _(
            "The newest data in AEP is older than the freshness SLA of %(sla)s minutes."
        ) % {"sla": dataflow.sla_minutes}
    else:
        summary = _("A scheduled run has not happened.")
    return Condition(late, summary, {"reason": dataflow.late_reason})


def rules_for(dataflow: Dataflow) -> list[AlertRule]:
    return list(AlertRule.objects.filter(Q(dataflow=None) | Q(dataflow=dataflow), enabled=True))


def evaluate(dataflow: Dataflow, deliver: Deliver) -> tuple[list[Alert], list[Alert]]:
    """Open alerts whose condition began, resolve those whose condition ended; `deliver` queues
    the notifications.

    Returns (opened, resolved).
    """
    rules = rules_for(dataflow)
    still_open = Alert.objects.filter(dataflow=dataflow, resolved_at=None)
    open_alerts = {a.rule_id: a for a in still_open}
    opened, resolved = [], []
    for rule in rules:
        condition = check(rule, dataflow)
        alert = open_alerts.pop(rule.pk, None)
        if condition.active and alert is None:
            new = _open(rule, dataflow, condition, deliver)
            if new is not None:
                opened.append(new)
        elif alert is not None and not condition.active:
            resolved.append(_resolve(alert, _resolution(dataflow), deliver))
    # Alerts of rules that were disabled or deleted meanwhile.
    for alert in open_alerts.values():
        resolved.append(_resolve(alert, _("The rule was switched off."), deliver))
    return opened, resolved


def evaluate_many(dataflow_ids: Iterable[int], deliver: Deliver) -> None:
    for dataflow in Dataflow.objects.filter(pk__in=list(dataflow_ids)):
        evaluate(dataflow, deliver)


def _resolution(dataflow: Dataflow) -> str:
    if dataflow.deleted_at is not None:
        return _("The dataflow was deleted.")
    if not dataflow.enabled:
        return _("The dataflow was disabled.")
    return _("The condition no longer holds.")


def _open(
    rule: AlertRule, dataflow: Dataflow, condition: Condition, deliver: Deliver
) -> Alert | None:
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                rule=rule,
                dataflow=dataflow,
                kind=rule.kind,
                summary=condition.summary,
                details=condition.details or {},
            )
    except IntegrityError:
        return None  # another worker opened it first
    _notify(alert, AlertDelivery.Event.OPENED, deliver)
    return alert


def _resolve(alert: Alert, resolution: str, deliver: Deliver) -> Alert:
    updated = Alert.objects.filter(pk=alert.pk, resolved_at=None).update(
        resolved_at=timezone.now(), resolution=resolution
    )
    alert.refresh_from_db()
    if updated:
        _notify(alert, AlertDelivery.Event.RESOLVED, deliver)
    return alert


# -- deliveries ----------------------------------------------------------------------------


def recipients(rule: AlertRule, dataflow: Dataflow) -> list[str]:
    emails = list(rule.email_list)
    if rule.notify_subscribers:
        emails += list(
            Subscription.objects.filter(dataflow=dataflow)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    return sorted(set(emails))


def _notify(alert: Alert, event: str, deliver: Deliver) -> None:
    rule = alert.rule
    deliveries = [
        AlertDelivery(alert=alert, event=event, channel=AlertDelivery.Channel.EMAIL, target=email)
        for email in recipients(rule, alert.dataflow)
    ]
    if rule.webhook_url:
        deliveries.append(
            AlertDelivery(
                alert=alert,
                event=event,
                channel=AlertDelivery.Channel.WEBHOOK,
                # The label, not the URL: the delivery reads the URL from its rule when it posts.
                target=rule.webhook_label,
                webhook_format=rule.webhook_format,
            )
        )
    for delivery in AlertDelivery.objects.bulk_create(deliveries):
        deliver(delivery.pk)


def payload(delivery: AlertDelivery) -> dict[str, Any]:
    alert = delivery.alert
    dataflow = alert.dataflow
    return {
        "type": f"alert.{delivery.event}",
        "delivery_id": delivery.pk,
        "alert": {
            "id": alert.pk,
            "kind": alert.kind,
            "rule": alert.rule.describe(),
            "summary": alert.summary,
            "opened_at": alert.opened_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
            "resolution": alert.resolution,
            "details": alert.details,
        },
        "dataflow": {
            "id": dataflow.pk,
            "flow_id": dataflow.flow_id,
            "name": dataflow.name,
            "resource_path": dataflow.resource_path,
            "health": dataflow.health,
            "url": _absolute(reverse("monitoring:dataflow-detail", args=[dataflow.pk])),
        },
    }


def _absolute(path: str) -> str:
    return getattr(settings, "SITE_URL", "").rstrip("/") + path


def chat_message(delivery: AlertDelivery) -> dict[str, str]:
    """The words of a Slack or Teams post, in the site's language: a chat channel is read by
    many people, so no one person's choice applies."""
    alert = delivery.alert
    with translation.override(settings.LANGUAGE_CODE):
        if delivery.event == AlertDelivery.Event.OPENED:
            title = _("Alert for %(flow)s") % {"flow": alert.dataflow.name}
            text = localize_stored(alert.summary)
        else:
            title = _("Alert resolved for %(flow)s") % {"flow": alert.dataflow.name}
            text = localize_stored(alert.resolution) or _("The condition no longer holds.")
        return {
            "title": title,
            "text": text,
            "rule": _("Rule: %(rule)s") % {"rule": alert.rule.describe()},
            "link": _("Open the dataflow"),
            "url": _absolute(reverse("monitoring:dataflow-detail", args=[alert.dataflow.pk])),
        }


def _is_absolute(url: str) -> bool:
    return url.startswith(("https://", "http://"))


def _slack_escape(text: str) -> str:
    # Slack reads &, < and > as markup (<!channel> would ping everyone): a flow's name and an
    # alert's words are text, never markup.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(delivery: AlertDelivery) -> dict[str, Any]:
    """An incoming-webhook message: `text` for notifications, blocks for the channel."""
    words = {key: _slack_escape(value) for key, value in chat_message(delivery).items()}
    # Without SITE_URL the address is a bare path, which Slack cannot turn into a link.
    link = f"<{words['url']}|{words['link']}>" if _is_absolute(words["url"]) else words["url"]
    return {
        "text": f"{words['title']}: {words['text']} {link}",
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{words['title']}*\n{words['text']}"},
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"{words['rule']} · {link}"}],
            },
        ],
    }


def teams_payload(delivery: AlertDelivery) -> dict[str, Any]:
    """A message holding one Adaptive Card, as Teams incoming webhooks and Workflows take."""
    words = chat_message(delivery)
    opened = delivery.event == AlertDelivery.Event.OPENED
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": words["title"],
                "weight": "Bolder",
                "size": "Medium",
                "color": "Attention" if opened else "Good",
                "wrap": True,
            },
            {"type": "TextBlock", "text": words["text"], "wrap": True},
            {"type": "TextBlock", "text": words["rule"], "isSubtle": True, "wrap": True},
        ],
    }
    if _is_absolute(words["url"]):
        card["actions"] = [{"type": "Action.OpenUrl", "title": words["link"], "url": words["url"]}]
    else:  # Teams refuses a card whose button opens a bare path (SITE_URL is not set)
        card["body"].append({"type": "TextBlock", "text": words["url"], "isSubtle": True})
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Stripe signs its webhooks."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, now: float | None = None) -> bool:
    """What a receiver does: recompute the signature and refuse old timestamps (replays)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def deliver(delivery_pk: int) -> float | None:
    """Send one delivery; returns seconds to wait before retrying, or None when done."""
    delivery = (
        AlertDelivery.objects.select_related("alert__rule", "alert__dataflow")
        .filter(pk=delivery_pk, status=AlertDelivery.Status.PENDING)
        .first()
    )
    if delivery is None:
        return None
    try:
        if delivery.channel == AlertDelivery.Channel.WEBHOOK:
            _send_webhook(delivery)
        else:
            _send_email(delivery)
    except Exception as exc:
        return _failed_attempt(delivery, exc)
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        status=AlertDelivery.Status.SENT,
        attempts=delivery.attempts + 1,
        sent_at=timezone.now(),
        last_error="",
    )
    return None


def _failed_attempt(delivery: AlertDelivery, exc: Exception) -> float | None:
    attempts = delivery.attempts + 1
    # A refused target (an internal address, a bad scheme) would be refused again: stop now.
    permanent = getattr(exc, "permanent", False)
    final = permanent or attempts >= conf.value("MONITORING_WEBHOOK_ATTEMPTS")
    error = failure_text(delivery, exc)
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts,
        last_error=error[:500],
        status=AlertDelivery.Status.FAILED if final else AlertDelivery.Status.PENDING,
    )
    logger.warning("alert delivery %s attempt %d failed: %s", delivery.pk, attempts, error)
    if final:
        return None
    return conf.value("MONITORING_WEBHOOK_RETRY_SECONDS") * 3 ** (attempts - 1)


def failure_text(delivery: AlertDelivery, exc: Exception) -> str:
    """What is stored, shown at /alerts/ and logged of a failed attempt.

    A webhook's error text is reduced to our own sentences, or the exception's type and the
    host: an HTTP library's message quotes the URL, and the URL is a credential.
    """
    if isinstance(exc, WebhookRejected | webhook_targets.WebhookTargetRefused | ExplainedError):
        return str(exc)
    if delivery.channel == AlertDelivery.Channel.WEBHOOK:
        host = webhook_targets.host_of(delivery.target)
        return f"{type(exc).__name__} ({host})" if host else type(exc).__name__
    return mask_secrets(f"{type(exc).__name__}: {exc}")


class WebhookRejected(Exception):
    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def webhook_address(delivery: AlertDelivery) -> str:
    """The URL to post to: the rule's, as long as it is still the one the delivery was made for."""
    rule = delivery.alert.rule
    if rule.deleted_at is not None:
        raise WebhookRejected(_("The rule was deleted before this could be sent."), True)
    url = rule.webhook_url.reveal() if isinstance(rule.webhook_url, Secret) else rule.webhook_url
    if webhook_targets.label(url) != delivery.target:
        raise WebhookRejected(
            _("The rule's webhook address changed before this could be sent."), True
        )
    return url


def _send_webhook(delivery: AlertDelivery) -> None:
    url = webhook_address(delivery)
    # Vetted again although the form did: DNS answers change, and rules saved before the check
    # existed never met it. Before the secret is read, so no refusal path ever holds it.
    webhook_targets.vet_url(url)
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: f"alert.{delivery.event}",
        DELIVERY_HEADER: str(delivery.pk),
    }
    if delivery.webhook_format == Format.SLACK:
        body = json.dumps(slack_payload(delivery)).encode()
    elif delivery.webhook_format == Format.TEAMS:
        body = json.dumps(teams_payload(delivery)).encode()
    else:
        # Slack and Teams check no signature of ours, so only the generic format is signed.
        secret = delivery.alert.rule.webhook_secret.reveal()
        body = json.dumps(payload(delivery), separators=(",", ":"), sort_keys=True).encode()
        headers[SIGNATURE_HEADER] = sign(secret, body, int(time.time()))
    response = webhook_targets.post(
        url,
        data=body,
        headers=headers,
        deadline_seconds=conf.value("MONITORING_WEBHOOK_TIMEOUT_SECONDS"),
    )
    _check_response(response, webhook_targets.host_of(url))


def _check_response(response: requests.Response, host: str) -> None:
    status = response.status_code
    if 300 <= status < 400:
        # Not followed: the new address was never vetted, and could be an internal one.
        raise WebhookRejected(
            _(
                "HTTP %(status)d from %(host)s: the receiver answered with a redirect, which "
                "is not followed. Enter the address it redirects to."
            )
            % {"status": status, "host": host}
        )
    if not 200 <= status < 300:
        # The status and host only: the receiver's own words may quote the URL.
        raise WebhookRejected(f"HTTP {status} ({host})")


def _send_email(delivery: AlertDelivery) -> None:
    with translation.override(recipient_language(delivery.target)):
        subject, body = email_message(delivery)
    send_mail(subject, body, None, [delivery.target])


def recipient_language(email: str) -> str:
    """The language the person with this address chose, else the site's default.

    Addresses typed into a rule may belong to nobody here. When several accounts share an
    address, the oldest account's choice wins.
    """
    chosen = (
        Preference.objects.filter(user__email__iexact=email, user__is_active=True)
        .exclude(language="")
        .order_by("user_id")
        .values_list("language", flat=True)
        .first()
    )
    return chosen or settings.LANGUAGE_CODE


def email_message(delivery: AlertDelivery) -> tuple[str, str]:
    """Subject and body in the active language; stored sentences are translated back too."""
    alert = delivery.alert
    if delivery.event == AlertDelivery.Event.OPENED:
        subject = _("[Stripe Sources] Alert: %(flow)s") % {"flow": alert.dataflow.name}
    else:
        subject = _("[Stripe Sources] Resolved: %(flow)s") % {"flow": alert.dataflow.name}
    data = payload(delivery)
    lines = [
        localize_stored(alert.summary),
        "",
        _("Rule: %(rule)s") % {"rule": data["alert"]["rule"]},
        _("Dataflow: %(name)s (%(path)s)")
        % {"name": alert.dataflow.name, "path": alert.dataflow.resource_path},
    ]
    if alert.resolved_at:
        lines.append(_("Resolved: %(why)s") % {"why": localize_stored(alert.resolution)})
    lines += ["", data["dataflow"]["url"]]
    return subject, "\n".join(lines)
