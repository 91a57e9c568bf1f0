"""Readiness check of a sandbox: every kind of call the product makes, made once, and whether
each answer is what the product expects.

Read-only by default: the IMS token, the Schema Registry stats, the specs, each list the product
reads (with the filters, `orderby` and `limit` it sends, following continuation tokens), one
explore of each Stripe resource when an account exists, the runs query of the poller and the
error diagnostics of a recent failed run. With `write`, it also creates and deletes a
throw-away class, field group, schema, identity descriptor and dataset named
`stripe-sources-readiness-<timestamp>`.

The report is a list of checks: the call, its HTTP status, Adobe's request id, the time it took,
the outcome, what the answer showed and, for a failure, what to do. It holds no secret: no
token, client secret or Stripe key, even where AEP quotes one back.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from itertools import islice
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import requests
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from aep import AEPClient, MemoryTokenCache, payloads
from aep.dataaccess import batch_id_of
from aep.errors import (
    AEPConnectionError,
    AEPError,
    AuthenticationError,
    BadRequestError,
    IMSAuthError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from aep.flowservice import STRIPE_RESOURCE_PATHS
from aep.payloads import DATA_LAKE_CONNECTION_SPEC_ID, STRIPE_CONNECTION_SPEC_ID
from aep.redaction import is_secret_key
from core.explain import explain_permission_denied
from monitoring import conf
from monitoring.clients import config_for
from monitoring.discovery import STRIPE_FLOWS_FILTER
from monitoring.models import Account, Dataflow, Run, Sandbox

KIND = "sandbox.readiness"
NAME_PREFIX = "stripe-sources-readiness-"
REPORT_VERSION = 1
PASSED, WARNING, FAILED, SKIPPED = "passed", "warning", "failed", "skipped"
# How far back the runs query looks, as the poller's first sync of a flow would.
RUNS_SINCE = timedelta(days=7)
# More than this between AEP's clock and ours breaks token lifetimes and run windows.
CLOCK_TOLERANCE = timedelta(minutes=5)
FLOW_STATES = {"enabled", "disabled", "draft"}
# Run statuses the poller understands, compared case- and underscore-insensitively.
RUN_STATUSES = {
    "success",
    "failed",
    "partialsuccess",
    "cancelled",
    "inprogress",
    "queued",
    "scheduled",
}
SECRET_TEXT = re.compile(
    r"\b(?:sk|rk)_(?:live|test)_\w+|\bwhsec_\w+|\b[Bb]earer\s+[\w.~+/=-]+|eyJ[\w-]+\.[\w.-]+"
)
MASK = "••••"

logger = logging.getLogger(__name__)


@dataclass
class Check:
    """One row of the report."""

    call: str
    request: str = ""
    status: int | None = None
    request_id: str = ""
    ms: int = 0
    requests: int = 0
    outcome: str = PASSED
    detail: str = ""
    fix: str = ""


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its answer, as the report may show it (no headers, no body)."""

    method: str
    url: str
    status: int
    request_id: str
    ms: int
    date: str


class Recorder:
    """Notes every answer the client's session receives (paging and the token call included)."""

    def __init__(self, session: requests.Session) -> None:
        self.exchanges: list[Exchange] = []
        self.tokens: set[str] = set()  # every bearer token sent, to mask wherever it appears
        session.hooks.setdefault("response", []).append(self._note)

    def _note(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        scheme, _, token = str(request.headers.get("Authorization", "")).partition(" ")
        if scheme.lower() == "bearer" and token:
            self.tokens.add(token)
        self.exchanges.append(
            Exchange(
                method=request.method or "",
                url=_shown_url(request.url or ""),
                status=response.status_code,
                request_id=response.headers.get("x-request-id", ""),
                ms=int(response.elapsed.total_seconds() * 1000),
                date=response.headers.get("Date", ""),
            )
        )


def _shown_url(url: str) -> str:
    """Path and query of a request, any secret-looking parameter masked."""
    parts = urlsplit(url)
    query = [(k, MASK if is_secret_key(k) else v) for k, v in parse_qsl(parts.query, True)]
    # Decoded, so the report reads as Adobe's docs write the filters (`property=id==…`).
    return unquote(parts.path) + (f"?{unquote(urlencode(query))}" if query else "")


@dataclass(frozen=True)
class Finding:
    outcome: str
    detail: str
    fix: str = ""


class NotAsExpected(Exception):
    """The answer came, but not in the shape or with the values the product relies on."""


@dataclass
class Readiness:
    sandbox: Sandbox
    client: AEPClient
    write: bool = False
    checks: list[Check] = field(default_factory=list)
    tenant_id: str = ""
    last_error: AEPError | None = None

    def __post_init__(self) -> None:
        self.recorder = Recorder(self.client.session)
        # Masked wherever they might appear: the client secret and every token fetched.
        self._secrets = [s for s in (self.client.config.client_secret,) if s]

    # -- running one check ---------------------------------------------------------------------

    def check(self, call: str, action: Callable[[], Finding], permission: tuple[str, ...]) -> Check:
        start = len(self.recorder.exchanges)
        started = time.monotonic()
        try:
            finding = action()
        except AEPError as exc:
            self.last_error = exc
            message = exc.message or type(exc).__name__
            finding = Finding(FAILED, message, fix_for(exc, permission, self.sandbox))
        except NotAsExpected as exc:
            finding = Finding(FAILED, str(exc), unexpected_answer())
        except Exception as exc:  # an answer too odd to read fails its own row, not the report
            logger.warning("readiness check %r failed: %s", call, type(exc).__name__)
            finding = Finding(FAILED, type(exc).__name__, unexpected_answer())
        exchanges = self.recorder.exchanges[start:]
        row = Check(
            call=call,
            request=self.scrub(f"{exchanges[0].method} {exchanges[0].url}") if exchanges else "",
            status=exchanges[-1].status if exchanges else None,
            request_id=exchanges[-1].request_id if exchanges else "",
            ms=int((time.monotonic() - started) * 1000),
            requests=len(exchanges),
            outcome=finding.outcome,
            detail=self.scrub(finding.detail),
            fix=self.scrub(finding.fix),
        )
        self.checks.append(row)
        return row

    def skip(self, call: str, reason: str) -> None:
        self.checks.append(Check(call=call, outcome=SKIPPED, detail=reason))

    def scrub(self, text: str) -> str:
        """`text` without any secret: the credential's, a token's or a Stripe key."""
        for secret in [*self._secrets, *self.recorder.tokens]:
            text = text.replace(secret, MASK)
        return SECRET_TEXT.sub(MASK, text)[:600]

    # -- the whole check -----------------------------------------------------------------------

    def run(self) -> None:
        token = self.check(_("IMS access token"), self._token, ())
        if token.outcome == FAILED:
            return
        stats = self.check(_("Schema Registry tenant ID"), self._stats, ("Manage Schemas",))
        self._clock()
        if stats.outcome == FAILED and self.last_error and _wrong_sandbox(self.last_error):
            return  # every other call would fail the same way
        self._reads()
        if self.write:
            self._writes()

    def _reads(self) -> None:
        sources = ("View Sources",)
        flowservice = self.client.flowservice
        self.check(_("Stripe connection spec"), self._connection_spec, sources)
        self.check(_("Stripe flow spec"), self._flow_spec, sources)
        self.check(
            _("Stripe dataflows (discovery)"),
            lambda: self._flows(flowservice.list_flows(properties=[STRIPE_FLOWS_FILTER])),
            sources,
        )
        self.check(_("Paging with continuation tokens"), self._continuation, sources)
        self.check(
            _("Stripe accounts (base connections)"),
            lambda: self._items(
                flowservice.list_connections(
                    properties=[f"connectionSpec.id=={STRIPE_CONNECTION_SPEC_ID}"]
                )
            ),
            sources,
        )
        self.check(
            _("Stripe source connections"),
            lambda: self._items(
                flowservice.list_source_connections(
                    properties=[f"connectionSpec.id=={STRIPE_CONNECTION_SPEC_ID}"]
                )
            ),
            sources,
        )
        self.check(
            _("Data Lake target connections"),
            lambda: self._items(
                flowservice.list_target_connections(
                    properties=[f"connectionSpec.id=={DATA_LAKE_CONNECTION_SPEC_ID}"]
                )
            ),
            sources,
        )
        schemas = ("Manage Schemas",)
        self.check(_("Classes"), lambda: self._items(self.client.schemas.list_classes()), schemas)
        self.check(
            _("Field groups"), lambda: self._items(self.client.schemas.list_field_groups()), schemas
        )
        self.check(_("Schemas"), lambda: self._items(self.client.schemas.list_schemas()), schemas)
        self.check(
            _("Datasets"),
            lambda: self._items(
                self.client.catalog.list_datasets(properties=["name", "schemaRef"])
            ),
            ("View Datasets", "Manage Datasets"),
        )
        self.check(
            _("Mapping sets"),
            lambda: self._items(self.client.dataprep.list_mapping_sets(name=NAME_PREFIX)),
            ("Manage Sources",),
        )
        self._explores()
        self._runs()
        self._diagnostics()

    # -- read checks ---------------------------------------------------------------------------

    def _token(self) -> Finding:
        token = self.client.tokens.token()
        if not token:
            raise NotAsExpected(_("IMS answered without an access token."))
        self._secrets.append(token)
        return Finding(PASSED, _("IMS issued an access token."))

    def _stats(self) -> Finding:
        tenant_id = self.client.schemas.get_stats().tenant_id
        if not tenant_id:
            raise NotAsExpected(_("The Schema Registry stats name no tenant ID."))
        self.tenant_id = tenant_id
        return Finding(PASSED, _("Tenant ID “%s”.") % tenant_id)

    def _clock(self) -> None:
        answered = [e for e in self.recorder.exchanges if e.date and "/data/" in e.url]
        if not answered:
            return
        try:
            theirs = parsedate_to_datetime(answered[-1].date)
        except (TypeError, ValueError):
            return
        skew = timezone.now() - theirs
        seconds = int(abs(skew.total_seconds()))
        row = Check(call=_("Clock"), requests=0)
        if abs(skew) > CLOCK_TOLERANCE:
            row.outcome = FAILED
            row.detail = _("This server's clock is %(seconds)s seconds off AEP's.") % {
                "seconds": seconds
            }
            row.fix = _(
                "Set this server's clock right (NTP). Tokens expire early or late and the poller "
                "asks for the wrong run windows while the clocks disagree."
            )
        else:
            row.detail = _("Within %(seconds)s seconds of AEP's clock.") % {"seconds": seconds}
        self.checks.append(row)

    def _connection_spec(self) -> Finding:
        spec = self.client.flowservice.get_connection_spec(STRIPE_CONNECTION_SPEC_ID)
        if spec.id != STRIPE_CONNECTION_SPEC_ID:
            raise NotAsExpected(_("AEP answered another connection spec (%s).") % spec.id)
        return Finding(PASSED, _("“%s” is available in this sandbox.") % (spec.name or spec.id))

    def _flow_spec(self) -> Finding:
        spec = self.client.flowservice.get_flow_spec(payloads.STRIPE_FLOW_SPEC_ID)
        if spec.id != payloads.STRIPE_FLOW_SPEC_ID:
            raise NotAsExpected(_("AEP answered another flow spec (%s).") % spec.id)
        return Finding(PASSED, _("“%s” is available in this sandbox.") % (spec.name or spec.id))

    def _items(self, listing: Iterable[Any]) -> Finding:
        items = list(listing)
        missing = [item for item in items if not getattr(item, "id", None)]
        if missing:
            raise NotAsExpected(_("%d listed objects have no id.") % len(missing))
        return Finding(PASSED, _("%d listed.") % len(items))

    def _flows(self, listing: Iterable[Any]) -> Finding:
        flows = list(listing)
        odd = sorted({str(f.state) for f in flows if (f.state or "").lower() not in FLOW_STATES})
        if odd:
            return Finding(
                WARNING,
                _("%(n)d listed; unknown states: %(states)s.")
                % {"n": len(flows), "states": ", ".join(odd)},
                _("Send this report to support: the dashboard does not know these flow states."),
            )
        return Finding(PASSED, _("%d listed.") % len(flows))

    def _continuation(self) -> Finding:
        """Two pages of one flow each: the second page must come from the first's token."""
        before = len(self.recorder.exchanges)
        listing = self.client.flowservice.list_flows(properties=[STRIPE_FLOWS_FILTER], limit=1)
        pages = list(islice(listing, 2))
        requests_made = len(self.recorder.exchanges) - before
        if len(pages) == 2 and requests_made < 2:
            raise NotAsExpected(_("AEP ignored limit=1 and answered several flows on one page."))
        if len(pages) < 2:
            return Finding(
                SKIPPED, _("Fewer than two Stripe dataflows: there is no second page to read.")
            )
        if pages[0].id == pages[1].id:
            raise NotAsExpected(_("The second page repeated the first page's flow."))
        return Finding(PASSED, _("The second page continued where the first ended."))

    def _explores(self) -> None:
        account = (
            Account.objects.filter(sandbox=self.sandbox, deleted_at=None)
            .exclude(connection_id="")
            .order_by("-pk")
            .first()
        )
        if account is None:
            self.skip(_("Explore Stripe resources"), _("No Stripe account in this sandbox yet."))
            return
        for path in STRIPE_RESOURCE_PATHS:
            self.check(
                _("Explore %(resource)s (account “%(account)s”)")
                % {"resource": path, "account": account.name},
                functools.partial(self._explore, account.connection_id, path),
                ("View Sources",),
            )

    def _explore(self, connection_id: str, path: str) -> Finding:
        explored = self.client.flowservice.explore_connection(connection_id, path)
        if not explored.schema:
            raise NotAsExpected(_("Explore answered no schema for %s.") % path)
        return Finding(PASSED, _("The schema of %s was read.") % path)

    def _runs(self) -> None:
        dataflow = (
            Dataflow.objects.filter(sandbox=self.sandbox, deleted_at=None)
            .select_related("account")
            .exclude(flow_id="")
            .order_by("-pk")
            .first()
        )
        if dataflow is None:
            self.skip(_("Runs of a dataflow"), _("No dataflow in this sandbox yet."))
            return
        self.check(
            _("Runs of “%s” (as the poller asks)") % dataflow.name,
            lambda: self._run_listing(dataflow),
            ("View Sources",),
        )
        if dataflow.source_connection_id:
            self.check(
                _("Flows of a source connection (array filter)"),
                lambda: self._flows_of_source(dataflow),
                ("View Sources",),
            )
        if dataflow.account is not None and dataflow.account.connection_id:
            self.check(
                _("Source connections of an account"),
                lambda: self._sources_of_account(dataflow),
                ("View Sources",),
            )

    def _flows_of_source(self, dataflow: Dataflow) -> Finding:
        """`sourceConnectionIds[]==…`, as provisioning and delete previews filter flows."""
        flows = self.client.flowservice.list_flows(
            properties=[f"sourceConnectionIds[]=={dataflow.source_connection_id}"]
        )
        ids = {flow.id for flow in flows}
        if dataflow.flow_id not in ids:
            raise NotAsExpected(_("The filter did not return the flow that uses the connection."))
        return Finding(PASSED, _("%d listed.") % len(ids))

    def _sources_of_account(self, dataflow: Dataflow) -> Finding:
        """`baseConnectionId==…`, as provisioning and account deletes filter source connections."""
        assert dataflow.account is not None
        sources = self.client.flowservice.list_source_connections(
            properties=[f"baseConnectionId=={dataflow.account.connection_id}"]
        )
        ids = {source.id for source in sources}
        if dataflow.source_connection_id and dataflow.source_connection_id not in ids:
            raise NotAsExpected(_("The filter did not return the account's source connection."))
        return Finding(PASSED, _("%d listed.") % len(ids))

    def _run_listing(self, dataflow: Dataflow) -> Finding:
        since = timezone.now() - RUNS_SINCE
        runs = list(
            self.client.flowservice.list_runs(
                dataflow.flow_id,
                properties=[f"createdAt>={int(since.timestamp() * 1000)}"],
                orderby="createdAt",
                limit=conf.value("MONITORING_RUNS_PAGE_SIZE"),
            )
        )
        created = [r.created_at for r in runs if r.created_at is not None]
        if len(created) < len(runs):
            raise NotAsExpected(_("Some runs have no createdAt."))
        if created != sorted(created):
            raise NotAsExpected(_("The runs are not in createdAt order, as orderby asked."))
        if any(c < since - timedelta(seconds=1) for c in created):
            raise NotAsExpected(_("Runs created before the createdAt>= filter came back."))
        if len({r.id for r in runs}) < len(runs):
            raise NotAsExpected(_("A run came back twice across pages."))
        odd = sorted({str(r.status) for r in runs if _status_key(r.status) not in RUN_STATUSES})
        detail = _("%d runs in the last 7 days.") % len(runs)
        if odd:
            return Finding(
                WARNING,
                detail + " " + _("Unknown statuses: %s.") % ", ".join(odd),
                _("Send this report to support: the poller keeps polling runs in these statuses."),
            )
        return Finding(PASSED, detail)

    def _diagnostics(self) -> None:
        run = (
            Run.objects.filter(dataflow__sandbox=self.sandbox)
            .filter(Q(failed_records__gt=0) | Q(status__in=["failed", "partialSuccess"]))
            .order_by("-created_at")
            .first()
        )
        batch = batch_id_of(run.activities or []) if run is not None else None
        if run is None or batch is None:
            self.skip(_("Error diagnostics"), _("No recent run with rejected records."))
            return
        self.check(
            _("Error diagnostics of run %s") % run.run_id,
            lambda: self._failed_records(batch),
            ("View Datasets",),
        )

    def _failed_records(self, batch: str) -> Finding:
        sample = self.client.dataaccess.failed_records(batch, limit=5)
        if not sample.available:
            return Finding(PASSED, _("AEP keeps no error diagnostics for this run's batch."))
        return Finding(PASSED, _("%d rejected records read.") % len(sample.records))

    # -- write checks --------------------------------------------------------------------------

    def _writes(self) -> None:
        if not self.tenant_id:
            self.skip(_("Create and delete"), _("The tenant ID is unknown."))
            return
        name = NAME_PREFIX + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        made = Throwaway(name, self.tenant_id)
        try:
            self._create_all(made)
        finally:
            self._delete_all(made)

    def _create_all(self, made: Throwaway) -> None:
        schemas, catalog = self.client.schemas, self.client.catalog
        manage_schemas, manage_datasets = ("Manage Schemas",), ("Manage Datasets",)

        def create_class() -> Finding:
            return made.note("class", schemas.create_class(made.class_body()).id)

        def create_field_group() -> Finding:
            return made.note("field_group", schemas.create_field_group(made.field_group_body()).id)

        def create_schema() -> Finding:
            return made.note("schema", schemas.create_schema(made.schema_body()).id)

        def create_descriptor() -> Finding:
            return made.note("descriptor", schemas.create_descriptor(made.descriptor_body()).id)

        def create_dataset() -> Finding:
            return made.note("dataset", catalog.create_dataset(made.dataset_body()))

        steps: list[tuple[str, Callable[[], Finding], tuple[str, ...]]] = [
            (_("Create a class"), create_class, manage_schemas),
            (_("Create a field group"), create_field_group, manage_schemas),
            (_("Create a schema"), create_schema, manage_schemas),
            (_("Create an identity descriptor"), create_descriptor, manage_schemas),
            (_("Create a dataset"), create_dataset, manage_datasets),
        ]
        for call, action, permission in steps:
            if self.check(call, action, permission).outcome == FAILED:
                return

    def _delete_all(self, made: Throwaway) -> None:
        """Delete what was created, newest first (a dataset before its schema, and so on)."""
        schemas = self.client.schemas
        manage_schemas = ("Manage Schemas",)
        deletions: list[tuple[str, str, Callable[[str], None], tuple[str, ...]]] = [
            ("dataset", _("Delete the dataset"), self.client.catalog.delete_dataset,
             ("Manage Datasets",)),
            ("descriptor", _("Delete the descriptor"), schemas.delete_descriptor, manage_schemas),
            ("schema", _("Delete the schema"), schemas.delete_schema, manage_schemas),
            ("field_group", _("Delete the field group"), schemas.delete_field_group,
             manage_schemas),
            ("class", _("Delete the class"), schemas.delete_class, manage_schemas),
        ]  # fmt: skip
        for kind, call, delete, permission in deletions:
            entity_id = made.ids.get(kind)
            if entity_id:
                self.check(call, _deletion(delete, entity_id), permission)

    # -- the report ----------------------------------------------------------------------------

    def report(self, started: datetime) -> dict[str, Any]:
        counts = {kind: 0 for kind in (PASSED, WARNING, FAILED, SKIPPED)}
        for row in self.checks:
            counts[row.outcome] += 1
        ready = counts[FAILED] == 0
        return {
            "version": REPORT_VERSION,
            "sandbox": {
                "display_name": self.sandbox.display_name,
                "sandbox_name": self.sandbox.sandbox_name,
                "org_id": self.sandbox.org_id,
                "platform_url": self.sandbox.platform_url,
                "ims_url": self.sandbox.ims_url,
            },
            "write": self.write,
            "started": started.isoformat(),
            "finished": timezone.now().isoformat(),
            "ready": ready,
            "counts": counts,
            "summary": summary(ready, counts),
            "checks": [asdict(row) for row in self.checks],
        }


@dataclass
class Throwaway:
    """The objects a write check creates, all named `stripe-sources-readiness-<timestamp>`."""

    name: str
    tenant_id: str
    ids: dict[str, str] = field(default_factory=dict)

    def note(self, kind: str, entity_id: str) -> Finding:
        if not entity_id:
            raise NotAsExpected(_("AEP answered the create without an id."))
        self.ids[kind] = entity_id
        return Finding(
            PASSED, _("Created “%(name)s” (%(id)s).") % {"name": self.name, "id": entity_id}
        )

    @property
    def field_path(self) -> str:
        return f"/_{self.tenant_id}/readiness/id"

    def class_body(self) -> dict[str, Any]:
        return payloads.xdm_class(title=self.name, description=_description())

    def field_group_body(self) -> dict[str, Any]:
        return payloads.field_group(
            title=self.name,
            description=_description(),
            class_id=self.ids["class"],
            definition="readiness",
            tenant_namespace=f"_{self.tenant_id}",
            fields={
                "readiness": {
                    "type": "object",
                    "properties": {"id": {"type": "string", "title": "Readiness id"}},
                }
            },
        )

    def schema_body(self) -> dict[str, Any]:
        return payloads.schema(
            title=self.name,
            description=_description(),
            class_id=self.ids["class"],
            field_group_ids=[self.ids["field_group"]],
        )

    def descriptor_body(self) -> dict[str, Any]:
        return {
            "@type": "xdm:descriptorIdentity",
            "xdm:sourceSchema": self.ids["schema"],
            "xdm:sourceVersion": 1,
            "xdm:sourceProperty": self.field_path,
            "xdm:namespace": "Email",
            "xdm:property": "xdm:code",
            "xdm:isPrimary": False,
        }

    def dataset_body(self) -> dict[str, Any]:
        return payloads.dataset(name=self.name, schema_id=self.ids["schema"])


def _description() -> str:
    return "Created and deleted by the Stripe Sources readiness check."


def _deletion(delete: Callable[[str], None], entity_id: str) -> Callable[[], Finding]:
    def action() -> Finding:
        try:
            delete(entity_id)
        except NotFoundError:
            return Finding(PASSED, _("Already gone."))
        return Finding(PASSED, _("Deleted."))

    return action


def _status_key(status: str | None) -> str:
    return (status or "").replace("_", "").lower()


def summary(ready: bool, counts: dict[str, int]) -> str:
    if ready:
        return _(
            "Ready: %(passed)d checks passed (%(warnings)d warnings, %(skipped)d skipped)."
        ) % {"passed": counts[PASSED], "warnings": counts[WARNING], "skipped": counts[SKIPPED]}
    return _("Not ready: %(failed)d of %(total)d checks failed. Each says what to do.") % {
        "failed": counts[FAILED],
        "total": sum(counts.values()),
    }


def unexpected_answer() -> str:
    return _(
        "AEP answered, but not as the product expects. Send this report to support: the "
        "product may need an update for this sandbox."
    )


def fix_for(exc: AEPError, permission: tuple[str, ...], sandbox: Sandbox) -> str:
    """What to do about a failed call, in plain words."""
    code = exc.code or ""
    if _wrong_sandbox(exc):
        return _(
            "AEP has no sandbox named “%(name)s” in organization %(org)s. Use the sandbox's "
            "technical name (lower case, as in the sandbox URL, e.g. prod), not its title, and "
            "check that the credential's product profile includes that sandbox."
        ) % {"name": sandbox.sandbox_name, "org": sandbox.org_id}
    if isinstance(exc, IMSAuthError):
        return _(
            "Adobe IMS refused the credential. Copy the client ID and client secret again from "
            "the project's OAuth Server-to-Server credential in Adobe Developer Console, and the "
            "scopes listed there."
        )
    if isinstance(exc, AEPConnectionError):
        return _("Cannot reach AEP. Check the platform and IMS URLs and this server's network.")
    if isinstance(exc, AuthenticationError):
        if "2000" in code:
            return _(
                "The token was issued for another organization. Check the IMS organization ID "
                "(it ends with @AdobeOrg)."
            )
        return _(
            "AEP did not accept a token IMS had just issued. Check that this server's clock is "
            "right (clock skew) and that the project includes the Experience Platform API."
        )
    if isinstance(exc, PermissionDeniedError):
        if code.startswith("4030"):
            return _(
                "The gateway refused the credential (%(code)s). Add the Experience Platform API "
                "to the project in Adobe Developer Console, with a product profile."
            ) % {"code": code}
        return explain_permission_denied(exc, permission)
    if isinstance(exc, RateLimitError):
        return _("AEP asked us to slow down (429). Run the check again in a minute.")
    if isinstance(exc, ServerError):
        return _(
            "AEP had an internal error. Run the check again later; if it keeps failing, give "
            "Adobe support the request ID."
        )
    if isinstance(exc, NotFoundError):
        return _(
            "AEP does not know this object or endpoint in this sandbox. If it is the Stripe "
            "source, ask Adobe to enable the Stripe source for the organization."
        )
    if isinstance(exc, BadRequestError):
        return _("AEP refused the request as the product sends it. Send this report to support.")
    return _("AEP returned an error. Send this report to support.")


def _wrong_sandbox(exc: AEPError) -> bool:
    code = exc.code or ""
    return ("2100" in code or "2105" in code) or (
        exc.status_code in (400, 404) and "sandbox" in (exc.message or "").lower()
    )


def client_for_check(sandbox: Sandbox) -> AEPClient:
    """A client of its own: a fresh token cache, so the check fetches (and so tests) a token."""
    return AEPClient(config_for(sandbox), token_cache=MemoryTokenCache())


def check_sandbox(
    sandbox: Sandbox,
    *,
    write: bool = False,
    client_factory: Callable[[Sandbox], AEPClient] = client_for_check,
) -> dict[str, Any]:
    """Run every check; the report (JSON-ready, secret-free)."""
    started = timezone.now()
    with client_factory(sandbox) as client:
        readiness = Readiness(sandbox, client, write=write)
        readiness.run()
        return readiness.report(started)


def run_job(job: Any, write: bool) -> dict[str, Any]:
    """A job's work: the sandbox of `sandbox:<pk>`, checked."""
    sandbox = Sandbox.objects.get(pk=job.target.removeprefix("sandbox:"))
    return check_sandbox(sandbox, write=write)
