"""One form per wizard step; every message is written for someone who never read the API docs."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import available_timezones

from django import forms
from django.db.models import Count, Q
from django.forms import formsets
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from aep.flowservice import STRIPE_RESOURCE_PATHS
from core.stripe import READABLE, key_shape
from monitoring.models import Account, Dataflow, Sandbox
from onboarding import identities, mapping
from onboarding import schedule as schedules
from onboarding.models import Draft

if TYPE_CHECKING:
    from django.contrib.auth.models import User

RESOURCE_HELP = {
    "charges": _("Payments: amount, currency, status, card brand, billing details."),
    "subscriptions": _("Recurring plans customers are on, with status and period dates."),
    "refunds": _("Money returned to customers, with amount and reason."),
    "balance_transactions": _("Every movement of your Stripe balance, with fees and net."),
    "customers": _("People and companies who pay you: name, email, address."),
    "prices": _("What you charge for products: amount, currency, billing interval."),
}
_PERMISSION = re.compile(r"'(rak_[a-z_]+)'")


def plain_reason(stripe_message: str) -> str | Promise:
    """Stripe's long permission message as "no Read access (permission rak_…)"."""
    found = _PERMISSION.search(stripe_message)
    if found:
        return _("the key has no Read access (Stripe permission %(perm)s).") % {
            "perm": found.group(1)
        }
    return stripe_message or _("Stripe did not answer when we checked.")


TIME_ZONES = sorted(available_timezones() - {"localtime", "Factory"})


def accounts_for(sandbox_ids=None):
    """Accounts with their dataflow counts, for the "existing account" list."""
    accounts = Account.objects.filter(deleted_at=None, connection_id__gt="").select_related(
        "sandbox"
    )
    if sandbox_ids is not None:
        accounts = accounts.filter(sandbox__in=sandbox_ids)
    return accounts.annotate(
        flow_count=Count("dataflows", filter=Q(dataflows__deleted_at=None))
    ).order_by("sandbox__display_name", "name")


class SandboxSelect(forms.Select):
    """Marks the options of sandboxes on the local AEP emulator (`data-local-emulator`): while
    one is chosen, the page shows the Stripe stand-in's demo keys (CSS, no script)."""

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        sandbox = getattr(value, "instance", None)
        if sandbox is not None and sandbox.is_local_emulator:
            option["attrs"]["data-local-emulator"] = True
        return option


class AccountForm(forms.Form):
    sandbox = forms.ModelChoiceField(
        label=_("AEP sandbox"),
        queryset=Sandbox.objects.all(),
        widget=SandboxSelect,
        empty_label=_("Choose a sandbox"),
        help_text=_("Where the dataflows and datasets will be created."),
        error_messages={"required": _("Choose the AEP sandbox to load Stripe data into.")},
    )
    account_mode = forms.ChoiceField(
        label=_("Stripe account"),
        choices=Draft.AccountMode.choices,
        widget=forms.RadioSelect,
        initial=Draft.AccountMode.NEW,
    )
    account = forms.ModelChoiceField(
        label=_("Connected account"),
        queryset=Account.objects.none(),
        required=False,
        widget=forms.RadioSelect,
    )
    account_name = forms.CharField(
        label=_("Account name"),
        max_length=100,
        required=False,
        help_text=_("How you will recognise this Stripe account, e.g. “Acme EU store”."),
    )
    account_description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Optional."),
    )
    access_token = forms.CharField(
        label=_("Stripe API key"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "In the Stripe Dashboard: Developers → API keys. Use the secret key (sk_…) or, "
            "better, a restricted key (rk_…) with Read access to the data you want. AEP calls "
            "this the “access token”."
        ),
    )

    def __init__(self, *args, draft: Draft | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.draft = draft
        account = self.fields["account"]
        assert isinstance(account, forms.ModelChoiceField)
        account.queryset = accounts_for()
        self._preselect_a_lone_sandbox()
        if draft is not None and draft.token_last4:
            self.fields["access_token"].help_text = _(
                "A key ending in …%(last4)s is saved. Leave empty to keep it."
            ) % {"last4": draft.token_last4}
        if draft is not None and draft.connection_id:
            # The base connection already holds the key: the account can no longer change.
            for name in ("sandbox", "account_mode", "account", "access_token"):
                self.fields[name].disabled = True

    def _preselect_a_lone_sandbox(self) -> None:
        """With one sandbox there is nothing to choose: start on it (a new draft only)."""
        if self.is_bound or self.initial.get("sandbox"):
            return
        sandboxes = list(Sandbox.objects.all()[:2])
        if len(sandboxes) == 1:
            self.initial["sandbox"] = sandboxes[0].pk

    def offers_demo_keys(self) -> bool:
        """Whether the Stripe stand-in's demo keys apply: a key can still be entered, and a
        sandbox on the local AEP emulator can be chosen."""
        field = self.fields["sandbox"]
        assert isinstance(field, forms.ModelChoiceField)
        if self.fields["access_token"].disabled or field.queryset is None:
            return False
        return any(sandbox.is_local_emulator for sandbox in field.queryset)

    def clean_access_token(self) -> str:
        token = self.cleaned_data.get("access_token", "")
        if token.startswith("pk_"):
            raise forms.ValidationError(
                _(
                    "This is a publishable key (pk_…): it cannot read data. Copy the secret key "
                    "(sk_…) or a restricted key (rk_…) instead."
                )
            )
        if token and key_shape(token) is None:
            raise forms.ValidationError(
                _(
                    "Stripe API keys start with sk_test_, sk_live_, rk_test_ or rk_live_. Check "
                    "that you copied the whole key."
                )
            )
        return token

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.draft is not None and self.draft.connection_id:
            return data
        mode = data.get("account_mode")
        sandbox = data.get("sandbox")
        if mode == Draft.AccountMode.EXISTING:
            account = data.get("account")
            if account is None:
                self.add_error("account", _("Choose one of the connected accounts."))
            elif sandbox is not None and account.sandbox_id != sandbox.pk:
                self.add_error(
                    "account",
                    _("This account belongs to another sandbox (%(sandbox)s).")
                    % {"sandbox": account.sandbox},
                )
        elif mode == Draft.AccountMode.NEW:
            if not data.get("account_name"):
                self.add_error("account_name", _("Give the account a name."))
            has_saved_key = self.draft is not None and bool(self.draft.access_token)
            if (
                not data.get("access_token")
                and not has_saved_key
                and "access_token" not in (self.errors)
            ):
                self.add_error("access_token", _("Paste the Stripe API key."))
        return data


class ResourcesForm(forms.Form):
    """Resource checkboxes plus one dataflow name per resource (fields `name_<path>`)."""

    resource_paths = forms.MultipleChoiceField(
        label=_("What to load"),
        choices=[(p, p) for p in STRIPE_RESOURCE_PATHS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one kind of Stripe data to load.")},
    )

    def __init__(self, *args, draft: Draft, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.draft = draft
        for path in STRIPE_RESOURCE_PATHS:
            # Six inputs labelled alike cannot be told apart by a screen reader landing on one:
            # each label names its resource (the page hides it visually on wide screens).
            self.fields[f"name_{path}"] = forms.CharField(
                label=_("Dataflow name for %(path)s") % {"path": path},
                max_length=200,
                required=False,
            )

    def unreadable(self) -> dict[str, str | Promise]:
        """Paths the key cannot read, with the reason in a few words."""
        probe = self.draft.probe or {}
        return {
            path: plain_reason(result.get("message") or "")
            for path, result in probe.items()
            if result.get("status") != READABLE
        }

    def clean_resource_paths(self) -> list[str]:
        chosen = self.cleaned_data["resource_paths"]
        blocked = [p for p in chosen if p in self.unreadable()]
        if blocked:
            raise forms.ValidationError(
                _("The Stripe key cannot read %(paths)s; choose only readable data.")
                % {"paths": ", ".join(blocked)}
            )
        # Keep Stripe's order, whatever order the browser sent.
        return [p for p in STRIPE_RESOURCE_PATHS if p in chosen]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        seen: dict[str, str] = {}
        taken = set(
            Dataflow.objects.filter(sandbox=self.draft.sandbox, deleted_at=None).values_list(
                "name", flat=True
            )
        )
        for path in data.get("resource_paths") or ():
            field = f"name_{path}"
            name = (data.get(field) or "").strip()
            if not name:
                self.add_error(field, _("Give this dataflow a name."))
            elif name in taken:
                self.add_error(
                    field,
                    _("A dataflow called “%(name)s” already exists in this sandbox.")
                    % {"name": name},
                )
            elif name in seen:
                self.add_error(field, _("Two dataflows cannot have the same name."))
            seen[name] = path
            data[field] = name
        return data

    def flow_names(self) -> dict[str, str]:
        return {p: self.cleaned_data[f"name_{p}"] for p in self.cleaned_data["resource_paths"]}


class DatasetChoiceForm(forms.Form):
    """Per resource: `mode_<path>` new/existing, `name_<path>`, `dataset_<path>`."""

    def __init__(self, *args, draft: Draft, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.draft = draft
        choices = [(d["id"], d["name"]) for d in draft.dataset_choices]
        for path in draft.resource_paths:
            self.fields[f"mode_{path}"] = forms.ChoiceField(
                choices=[
                    ("new", _("Create a new dataset and schema")),
                    ("existing", _("Use an existing dataset")),
                ],
                widget=forms.RadioSelect,
                initial="new",
            )
            self.fields[f"name_{path}"] = forms.CharField(
                label=_("New dataset name"), max_length=200, required=False
            )
            self.fields[f"dataset_{path}"] = forms.ChoiceField(
                label=_("Existing dataset"), choices=[("", "—"), *choices], required=False
            )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        existing_names = {d["name"] for d in self.draft.dataset_choices}
        new_names: set[str] = set()
        for path in self.draft.resource_paths:
            if data.get(f"mode_{path}") == "existing":
                if not data.get(f"dataset_{path}"):
                    self.add_error(f"dataset_{path}", _("Choose a dataset from the list."))
                continue
            name = (data.get(f"name_{path}") or "").strip()
            field = f"name_{path}"
            if not name:
                self.add_error(field, _("Give the new dataset a name."))
            elif name in existing_names:
                self.add_error(
                    field,
                    _("A dataset with this name already exists; pick it as existing or rename."),
                )
            elif name in new_names:
                self.add_error(field, _("Each new dataset needs its own name."))
            new_names.add(name)
            data[field] = name
        return data

    def datasets(self) -> dict[str, dict]:
        by_id = {d["id"]: d for d in self.draft.dataset_choices}
        result = {}
        for path in self.draft.resource_paths:
            if self.cleaned_data[f"mode_{path}"] == "existing":
                chosen = by_id[self.cleaned_data[f"dataset_{path}"]]
                result[path] = {
                    "mode": "existing",
                    "dataset_id": chosen["id"],
                    "name": chosen["name"],
                    "schema_id": chosen["schema_id"],
                    "schema_title": chosen["schema_title"],
                }
            else:
                result[path] = {"mode": "new", "name": self.cleaned_data[f"name_{path}"]}
        return result


class MappingRowForm(forms.Form):
    source = forms.CharField(
        label=_("Source"), required=False, max_length=mapping.EXPRESSION_MAX_CHARS
    )
    destination = forms.CharField(label=_("Destination"), required=False, max_length=500)
    identity = forms.BooleanField(label=_("Identity"), required=False)
    kind = forms.ChoiceField(
        choices=[(mapping.ATTRIBUTE, _("Field")), (mapping.EXPRESSION, _("Calculation"))],
        initial=mapping.ATTRIBUTE,
        required=False,
    )
    type = forms.ChoiceField(
        label=_("Type"),
        choices=[("", "—"), *mapping.DESTINATION_TYPE_LABELS.items()],
        required=False,
    )

    def __init__(self, *args, tenant_namespace: str, known_sources: set[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant_namespace = tenant_namespace
        self.known_sources = known_sources

    def row(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("source") and not data.get("destination"):
            return None  # the blank row at the end, or a row emptied on purpose
        return {
            "source": data["source"].strip(),
            "destination": data["destination"].strip(),
            "identity": bool(data.get("identity")),
            "kind": data.get("kind") or mapping.ATTRIBUTE,
            "type": data.get("type") or "" if data.get("kind") == mapping.EXPRESSION else "",
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.cleaned_data.get("DELETE"):
            return data
        row = self.row()
        if row is not None:
            for field, message in mapping.row_errors(
                row, self.tenant_namespace, self.known_sources
            ).items():
                self.add_error(field, message)
        return data


class BaseMappingFormSet(forms.BaseFormSet):
    def __init__(self, *args, tenant_namespace: str, known_sources: set[str], **kwargs):
        self.tenant_namespace = tenant_namespace
        self.known_sources = known_sources
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {"tenant_namespace": self.tenant_namespace, "known_sources": self.known_sources}

    def rows(self) -> list[dict]:
        rows = []
        for form in self.forms:
            if self.can_delete and form.cleaned_data.get(formsets.DELETION_FIELD_NAME):
                continue
            row = form.row()
            if row is not None:
                rows.append(row)
        return rows

    def clean(self) -> None:
        if any(self.errors):
            return
        rows = self.rows()
        if not rows:
            raise forms.ValidationError(_("Map at least one field."))
        duplicates = mapping.duplicate_destinations(rows)
        if duplicates:
            raise forms.ValidationError(
                _("Each destination can be filled by one row only: %(paths)s.")
                % {"paths": ", ".join(sorted(duplicates))}
            )


# formset_factory returns a subclass of `formset`, which its stubs type as a plain BaseFormSet.
MappingFormSet = cast(
    type[BaseMappingFormSet],
    forms.formset_factory(
        MappingRowForm,
        formset=BaseMappingFormSet,
        extra=1,
        can_delete=True,
        max_num=mapping.MAX_ROWS,
        validate_max=True,
        absolute_max=mapping.MAX_ROWS + 1,
    ),
)


NAMESPACE_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{1,39}$")


class IdentityForm(forms.Form):
    """The namespace of each identity row of one resource, which identity is primary, and a
    custom namespace when the person asks for one (onboarding.identities)."""

    primary = forms.ChoiceField(label=_("Primary identity"), widget=forms.RadioSelect)
    new_name = forms.CharField(label=_("Name of the new namespace"), required=False, max_length=60)
    new_code = forms.CharField(
        label=_("Code of the new namespace"),
        required=False,
        max_length=40,
        help_text=_("Letters, digits and _, e.g. StripeCustomer. Identity descriptors name it."),
    )
    new_type = forms.ChoiceField(
        label=_("What it identifies"),
        choices=[
            ("CROSS_DEVICE", _("A person across devices (e.g. a customer id)")),
            ("EMAIL", _("An email address")),
            ("PHONE", _("A phone number")),
            ("NON_PEOPLE", _("Not a person (e.g. an order id)")),
        ],
        required=False,
        initial="CROSS_DEVICE",
    )

    def __init__(self, *args, draft: Draft, path: str, **kwargs) -> None:
        self.draft = draft
        self.identities = identities.identities(draft, path)
        asked = draft.custom_namespace or {}
        kwargs.setdefault(
            "initial",
            {
                "primary": next((i.destination for i in self.identities if i.primary), ""),
                "new_name": asked.get("name", ""),
                "new_code": asked.get("code", ""),
                "new_type": asked.get("id_type", "CROSS_DEVICE"),
                **{f"namespace_{n}": i.namespace for n, i in enumerate(self.identities)},
            },
        )
        super().__init__(*args, **kwargs)
        options: list[tuple[str, Any]] = [
            (ns["code"], f"{ns['name']} ({ns['code']})")
            for ns in draft.sandbox.identity_namespaces or []
        ]
        code = identities.requested_code(draft)
        if code and not identities.has_namespace(draft, code):
            options.append((code, _("%(code)s (new, created with the dataflows)") % {"code": code}))
        options.append((identities.NEW_NAMESPACE, _("A new namespace…")))
        for n, identity in enumerate(self.identities):
            self.fields[f"namespace_{n}"] = forms.ChoiceField(
                label=identity.destination,
                choices=[("", "—"), *options],
                required=False,
                widget=forms.Select(attrs={"aria-label": identity.destination}),
            )
        primary = self.fields["primary"]
        assert isinstance(primary, forms.ChoiceField)
        primary.choices = [(i.destination, i.destination) for i in self.identities]

    def namespace_fields(self) -> list[tuple[identities.Identity, forms.BoundField]]:
        return [(i, self[f"namespace_{n}"]) for n, i in enumerate(self.identities)]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        wants_new = any(
            data.get(f"namespace_{n}") == identities.NEW_NAMESPACE
            for n in range(len(self.identities))
        )
        if not wants_new:
            return data
        code = (data.get("new_code") or "").strip()
        if not NAMESPACE_CODE.match(code):
            self.add_error(
                "new_code",
                _("Enter a code of 2 to 40 letters, digits or _, starting with a letter."),
            )
        elif code.lower() in {c.lower() for c in identities.known_codes(self.draft)}:
            self.add_error(
                "new_code",
                _("The sandbox already has the namespace %(code)s: choose it in the list.")
                % {"code": code},
            )
        if not (data.get("new_name") or "").strip():
            self.add_error("new_name", _("Name the new namespace, e.g. Stripe customer."))
        return data

    def save(self, path: str) -> None:
        data = self.cleaned_data
        code = (data.get("new_code") or "").strip()
        picked = [data.get(f"namespace_{n}") or "" for n in range(len(self.identities))]
        chosen = {
            identity.destination: code if value == identities.NEW_NAMESPACE else value
            for identity, value in zip(self.identities, picked, strict=True)
        }
        if identities.NEW_NAMESPACE in picked:
            self.draft.custom_namespace = {
                "name": data["new_name"].strip(),
                "code": code,
                "id_type": data.get("new_type") or "CROSS_DEVICE",
            }
        self.draft.identities = {
            **(self.draft.identities or {}),
            path: {"namespaces": chosen, "primary": data.get("primary") or ""},
        }


class RecipeForm(forms.Form):
    recipe = forms.ChoiceField(
        label=_("Calculation"),
        choices=[(r.key, r.label) for r in mapping.RECIPES.values()],
    )
    field = forms.ChoiceField(label=_("Stripe field"), choices=())

    def __init__(self, *args, fields: list[dict], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.field_types = {f["source"]: f["type"] for f in fields if f["leaf"]}
        field = self.fields["field"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(s, s) for s in self.field_types]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        recipe = mapping.RECIPES.get(data.get("recipe") or "")
        source = data.get("field")
        if recipe and source and self.field_types.get(source) not in recipe.applies_to:
            self.add_error(
                "field",
                _("“%(recipe)s” needs a %(kind)s field; %(field)s is %(actual)s.")
                % {
                    "recipe": recipe.label,
                    "kind": " / ".join(recipe.applies_to),
                    "field": source,
                    "actual": self.field_types.get(source) or _("empty in the sample"),
                },
            )
        return data


class ImportFlowForm(forms.Form):
    dataflow = forms.ModelChoiceField(
        label=_("Copy the mapping of"),
        queryset=Dataflow.objects.none(),
        empty_label=_("Choose a dataflow"),
    )

    def __init__(self, *args, draft: Draft, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["dataflow"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Dataflow.objects.filter(sandbox=draft.sandbox, deleted_at=None).exclude(
            mapping_set_id=""
        )


class ImportCSVForm(forms.Form):
    csv_file = forms.FileField(
        label=_("Mapping CSV"),
        help_text=_("Columns: source, destination, identity, kind, type (as exported)."),
    )
    MAX_BYTES = 512 * 1024

    def __init__(self, *args, refused: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.refused = refused  # the upload was dropped for its size as it arrived

    def clean(self):
        cleaned = super().clean()
        if self.refused:
            self.errors.pop("csv_file", None)
            self.add_error("csv_file", self.too_large())
        return cleaned

    @staticmethod
    def too_large() -> str:
        return str(_("The file is too large; a mapping CSV is under 512 KB."))

    def clean_csv_file(self):
        upload = self.cleaned_data["csv_file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(self.too_large())
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("Save the file as UTF-8 CSV and try again.")) from None
        try:
            return mapping.rows_from_csv(text)
        except mapping.CSVImportError as exc:
            raise forms.ValidationError(str(exc)) from None


class ScheduleForm(forms.Form):
    frequency = forms.ChoiceField(
        label=_("How often"),
        choices=[
            ("once", _("Once")),
            ("minute", _("Every few minutes")),
            ("hour", _("Hourly")),
            ("day", _("Daily")),
            ("week", _("Weekly")),
        ],
    )
    # A text field on purpose: "abc" gets our message, not the browser's.
    interval = forms.CharField(
        label=_("Interval"),
        required=False,
        help_text=_("Run every N minutes/hours/days/weeks. Minutes: 15 or more."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 4}),
    )
    start_time = forms.CharField(
        label=_("First run"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_(
            "In the time zone below. If this time has passed when the dataflows are created, "
            "the first run starts right away."
        ),
        error_messages={"required": _("Enter when the first run should start.")},
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=[(z, z) for z in TIME_ZONES], initial="UTC"
    )
    backfill = forms.BooleanField(
        label=_("Load existing Stripe data too (backfill)"),
        required=False,
        help_text=_(
            "On: the first run loads every object created before the first run, then each run "
            "adds new ones. Off: only objects created after the first run are loaded."
        ),
    )
    error_diagnostics = forms.BooleanField(
        label=_("Error diagnostics"),
        required=False,
        help_text=_(
            "AEP keeps a detailed reason for every record it rejects, so you can see later "
            "which field was wrong."
        ),
    )
    partial_ingestion = forms.BooleanField(
        label=_("Partial ingestion"),
        required=False,
        help_text=_(
            "Load the good records of a run even when some are rejected, as long as the "
            "rejected share stays under the threshold. Off: one bad record fails the run."
        ),
    )
    # Text on purpose, like interval: "abc" gets our message next to the field.
    partial_ingestion_percent = forms.CharField(
        label=_("Error threshold (%)"),
        required=False,
        help_text=_("A run fails when more than this percent of its records are rejected."),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 5}),
    )
    alert_on_failure = forms.BooleanField(
        label=_("Email me when a run of these dataflows fails"),
        required=False,
        help_text=_(
            "Subscribes you to the new dataflows' alerts; you can unsubscribe on each "
            "dataflow's page."
        ),
    )

    def __init__(self, *args, draft: Draft | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.draft = draft
        for path in self.profile_paths():
            self.fields[f"profile_{path}"] = forms.BooleanField(
                label=_("Enable the new %(path)s dataset for Profile") % {"path": path},
                required=False,
            )

    def profile_paths(self) -> list[str]:
        """Paths whose dataset the wizard creates: only those can be enabled for Profile."""
        if self.draft is None:
            return []
        datasets = self.draft.datasets or {}
        return [
            p
            for p in self.draft.resource_paths
            if (datasets.get(p) or {}).get("mode", "new") != "existing"
        ]

    def profile_fields(self) -> list[forms.BoundField]:
        return [self[f"profile_{path}"] for path in self.profile_paths()]

    def clean_partial_ingestion_percent(self) -> float | None:
        # The page hides the threshold while partial ingestion is off: what it holds then is
        # not a choice, and must not block the step.
        if not self.cleaned_data.get("partial_ingestion"):
            return None
        text = (self.cleaned_data.get("partial_ingestion_percent") or "").strip()
        if not text:
            return None
        try:
            percent = float(text.replace(",", "."))
        except ValueError:
            raise forms.ValidationError(_("Enter a number, e.g. 5 or 2.5.")) from None
        if not 0 < percent <= 100:
            raise forms.ValidationError(_("Enter a percent above 0 and at most 100."))
        return percent

    def profile_choice(self) -> list[str]:
        return [p for p in self.profile_paths() if self.cleaned_data.get(f"profile_{p}")]

    def clean_interval(self) -> int | None:
        text = (self.cleaned_data.get("interval") or "").strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            raise forms.ValidationError(_("Enter a whole number, e.g. 1 or 15.")) from None

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        frequency = data.get("frequency")
        if frequency:
            message = schedules.interval_error(frequency, data.get("interval"))
            if message:
                self.add_error("interval", message)
        text = data.get("start_time")
        if text:
            parsed = schedules.parse_local(text, data.get("time_zone") or "UTC")
            if parsed is None:
                self.add_error(
                    "start_time",
                    _("Enter a date and time like 2025-12-03 09:00."),
                )
            else:
                data["start"] = parsed
        if (
            data.get("partial_ingestion")
            and data.get("partial_ingestion_percent") is None
            and "partial_ingestion_percent" not in self.errors
        ):
            self.add_error(
                "partial_ingestion_percent",
                _("Enter the threshold, e.g. 5, or switch partial ingestion off."),
            )
        self._check_profile_identities(data)
        return data

    def _check_profile_identities(self, data: dict[str, Any]) -> None:
        # Profile rejects records without an identity, so the mapping must mark one.
        if self.draft is None:
            return  # no paths to enable for Profile
        for path in self.profile_paths():
            if not data.get(f"profile_{path}"):
                continue
            rows = (self.draft.mappings or {}).get(path) or []
            has_identity = any(row.get("identity") for row in rows)
            # Without an identity row, the resource's email field becomes one (Email namespace).
            if not has_identity and identities.email_row(self.draft, path) is None:
                self.add_error(
                    f"profile_{path}",
                    _(
                        "Profile needs an identity in every record: on the Mapping step, tick "
                        "Identity on a row of %(path)s (e.g. the customer email or id)."
                    )
                    % {"path": path},
                )

    def start(self) -> datetime:
        return self.cleaned_data["start"]


class ShareForm(forms.Form):
    user: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        label=_("Colleague"), queryset=None, empty_label=_("Choose")
    )

    def __init__(self, *args, draft: Draft, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from django.contrib.auth.models import User

        from core.roles import perm

        _app, codename = perm("run_wizard").split(".")
        users = User.objects.filter(is_active=True).filter(
            Q(groups__permissions__codename=codename)
            | Q(user_permissions__codename=codename)
            | Q(is_superuser=True)
        )
        if draft.created_by_id is not None:
            users = users.exclude(pk=draft.created_by_id)
        field = self.fields["user"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = users.distinct().order_by("username")
