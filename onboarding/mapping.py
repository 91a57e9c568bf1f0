"""The wizard's mapping rows: defaults, calculated-field recipes, checks, CSV, the field group.

A row is a core.mapping.Rule as a dict (`Rule.as_row`: `{"source", "destination", "identity",
"kind", "type"}`), the shape the draft stores and the editor's formset posts; `rules` turns rows
into the rules core.mapping.mapping_set_body sends to Data Prep.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aep import payloads
from core import profiling
from core.mapping import (
    ATTRIBUTE,
    EXPRESSION,
    KINDS,
    Rule,
    container,
    field_references,
    rules_from_mappings,
)

EXPRESSION_MAX_CHARS = 4096  # the Data Prep editor's limit (research §1.2)
MAX_ROWS = 150  # keeps the editor form under Django's 1000-field limit
CSV_COLUMNS = ("source", "destination", "identity", "kind", "type")

# Types a calculated field's destination can have, and their XDM definitions.
DESTINATION_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "number": {"type": "number"},
    "integer": dict(profiling.XDM_LONG),
    "boolean": {"type": "boolean"},
    "date-time": {"type": "string", "format": "date-time"},
}
DESTINATION_TYPE_LABELS = {
    "string": gettext_lazy("Text"),
    "number": gettext_lazy("Decimal number"),
    "integer": gettext_lazy("Whole number"),
    "boolean": gettext_lazy("True / false"),
    "date-time": gettext_lazy("Date and time"),
}
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class Recipe:
    key: str
    label: str | Promise
    help: str | Promise
    template: str  # "{source}" is replaced by the chosen source attribute
    suffix: str
    type: str
    applies_to: tuple[str, ...]  # explored types the recipe makes sense for


RECIPES = {
    recipe.key: recipe
    for recipe in (
        Recipe(
            "decimal_amount",
            gettext_lazy("Amount in minor units → decimal amount"),
            gettext_lazy(
                "Stripe stores 10.99 USD as 1099 (cents). This divides by 100. Not for "
                "zero-decimal currencies such as JPY."
            ),
            "{source} / 100",
            "_decimal",
            "number",
            ("integer",),
        ),
        Recipe(
            "iso_time",
            gettext_lazy("Epoch seconds → ISO date and time"),
            gettext_lazy("Stripe times are seconds since 1970; this writes 2024-03-17T22:02:19Z."),
            "dformat({source} * 1000, \"yyyy-MM-dd'T'HH:mm:ssXXX\")",
            "_at",
            "date-time",
            ("integer",),
        ),
        Recipe(
            "upper_currency",
            gettext_lazy("Currency code in upper case"),
            gettext_lazy("Stripe sends usd; most reports expect USD."),
            "upper({source})",
            "_upper",
            "string",
            ("string",),
        ),
    )
}


def default_rows(tenant_namespace: str, resource_path: str, fields: list[dict]) -> list[dict]:
    """One row per explored leaf field, the way the Stripe tutorial maps charges."""
    prefix = container(tenant_namespace, resource_path)
    return [
        attribute_row(field["source"], f"{prefix}.{field['path']}")
        for field in profiling.leaf_fields(fields)
    ]


def attribute_row(source: str, destination: str, identity: bool = False) -> dict[str, Any]:
    return Rule(source, destination, identity).as_row()


def recipe_row(recipe: Recipe, source: str, destination: str) -> dict[str, Any]:
    source = recipe.template.format(source=source)
    return Rule(source, destination, kind=EXPRESSION, type=recipe.type).as_row()


def rules(rows: Iterable[Mapping[str, Any]]) -> list[Rule]:
    return [Rule.from_row(row) for row in rows]


def recipe_destination(recipe: Recipe, source: str, tenant_namespace: str, resource: str) -> str:
    leaf_path = source.removeprefix(f"{profiling.ROOT}.")
    return f"{container(tenant_namespace, resource)}.{leaf_path}{recipe.suffix}"


# -- checks ------------------------------------------------------------------------------------


def row_errors(
    row: Mapping[str, Any], tenant_namespace: str, known_sources: set[str]
) -> dict[str, str]:
    """Problems with one row, keyed by the field they belong next to."""
    errors: dict[str, str] = {}
    source = (row.get("source") or "").strip()
    destination = (row.get("destination") or "").strip()
    kind = row.get("kind") or ATTRIBUTE
    if not source:
        errors["source"] = _("Enter a source attribute or a calculation.")
    elif kind == ATTRIBUTE and source not in known_sources:
        errors["source"] = _(
            "“%(source)s” is not a field of this Stripe object. Pick one from the explored "
            "fields (they start with data.)."
        ) % {"source": source}
    elif kind == EXPRESSION:
        message = expression_error(source, known_sources)
        if message:
            errors["source"] = message
    if not destination:
        errors["destination"] = _("Enter where the value goes in XDM.")
    elif not _PATH.match(destination):
        errors["destination"] = _(
            "Use dotted field names made of letters, digits and underscores, e.g. %(example)s."
        ) % {"example": f"{tenant_namespace}.charges_data.amount"}
    elif tenant_namespace and not destination.startswith(f"{tenant_namespace}."):
        errors["destination"] = _(
            "Custom fields must live under your organization's namespace: start the path with "
            "%(namespace)s."
        ) % {"namespace": f"{tenant_namespace}."}
    if kind == EXPRESSION and row.get("type") not in DESTINATION_TYPES:
        errors["type"] = _("Choose the type of the calculated value.")
    return errors


def expression_error(expression: str, known_sources: set[str]) -> str:
    if len(expression) > EXPRESSION_MAX_CHARS:
        return _("A calculation can be at most %(limit)s characters long.") % {
            "limit": EXPRESSION_MAX_CHARS
        }
    unknown = sorted(field_references(expression) - known_sources - _object_paths(known_sources))
    if unknown:
        return _("The calculation uses fields this Stripe object does not have: %(fields)s.") % {
            "fields": ", ".join(unknown)
        }
    return ""


def _object_paths(sources: Iterable[str]) -> set[str]:
    """Every ancestor of a known leaf (data.billing_details for data.billing_details.name)."""
    parents: set[str] = set()
    for source in sources:
        parts = source.split(".")
        parents.update(".".join(parts[:i]) for i in range(2, len(parts)))
    return parents


def duplicate_destinations(rows: Iterable[Mapping[str, Any]]) -> set[str]:
    seen: set[str] = set()
    duplicates: set[str] = set()
    for row in rows:
        destination = row.get("destination") or ""
        if destination in seen:
            duplicates.add(destination)
        seen.add(destination)
    return duplicates


def mapping_errors(rows: list[dict], tenant_namespace: str, known_sources: set[str]) -> list[str]:
    """Whole-mapping problems, as sentences (used by Review before anything is created)."""
    problems: list[str] = []
    if not rows:
        problems.append(_("The mapping has no rows."))
    for position, row in enumerate(rows, start=1):
        for message in row_errors(row, tenant_namespace, known_sources).values():
            problems.append(_("Row %(row)s: %(message)s") % {"row": position, "message": message})
    for destination in sorted(duplicate_destinations(rows)):
        problems.append(
            _("%(destination)s is the destination of more than one row.")
            % {"destination": destination}
        )
    return problems


# -- the field group AEP receives ----------------------------------------------------------------


def field_group_body(
    *,
    title: str,
    description: str,
    tenant_namespace: str,
    resource_path: str,
    explored_schema: Mapping[str, Any],
    rows: list[dict],
    class_id: str,
) -> dict[str, Any]:
    """`POST /tenant/fieldgroups`: every explored field under `_{tenant}.{resource}_data`, plus
    the destinations of calculated fields with their own types."""
    explored = profiling.explored_properties(explored_schema)
    container_name = f"{resource_path}_data"
    tenant_tree: dict[str, Any] = {
        container_name: {
            "type": "object",
            "properties": {name: profiling.xdm_field(f) for name, f in explored.items()},
        }
    }
    for row in rows:
        destination = row.get("destination") or ""
        if not destination.startswith(f"{tenant_namespace}."):
            continue
        parts = destination.split(".")[1:]
        _place(tenant_tree, parts, _destination_type(row, explored))
    return payloads.field_group(
        title=title,
        description=description,
        class_id=class_id,
        definition=resource_path,
        tenant_namespace=tenant_namespace,
        fields=tenant_tree,
    )


def _destination_type(row: Mapping[str, Any], explored: Mapping[str, Any]) -> dict[str, Any]:
    if row.get("kind") == EXPRESSION:
        return dict(DESTINATION_TYPES.get(row.get("type") or "", {"type": "string"}))
    fragment: Any = {"properties": explored, "type": "object"}
    for part in (row.get("source") or "").split(".")[1:]:
        fragment = (fragment.get("properties") or {}).get(part) or {}
    return profiling.xdm_field(fragment)


def _place(tree: dict[str, Any], parts: list[str], definition: dict[str, Any]) -> None:
    """Put `definition` at `parts` inside `tree`, creating objects on the way; an existing
    field of the same name is left as it is (it came from the explored schema)."""
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {"type": "object", "properties": {}})
        if "properties" not in child:
            return  # a scalar already sits here; Validate will report the conflict
        node = child["properties"]
    node.setdefault(parts[-1], definition)


# -- CSV ---------------------------------------------------------------------------------------


def rows_to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "identity": "true" if row.get("identity") else "false"})
    return out.getvalue()


class CSVImportError(ValueError):
    pass


def rows_from_csv(text: str) -> list[dict]:
    """Rows from a CSV with at least `source` and `destination` columns (as exported)."""
    reader = csv.DictReader(io.StringIO(text))
    columns = {c.strip().lower() for c in reader.fieldnames or ()}
    if not {"source", "destination"} <= columns:
        raise CSVImportError(
            _("The first line must name the columns, at least: source,destination.")
        )
    rows = []
    for line in reader:
        line = {(k or "").strip().lower(): (v or "").strip() for k, v in line.items()}
        if not line.get("source") and not line.get("destination"):
            continue
        kind = (line.get("kind") or ATTRIBUTE).upper()
        if kind not in KINDS:
            raise CSVImportError(
                _("Line %(line)s: kind must be ATTRIBUTE or EXPRESSION.")
                % {"line": reader.line_num}
            )
        rule = Rule(
            line.get("source", ""),
            line.get("destination", ""),
            identity=line.get("identity", "").lower() in ("true", "1", "yes"),
            kind=kind,
            type=line.get("type", "") if kind == EXPRESSION else "",
        )
        rows.append(rule.as_row())
        if len(rows) > MAX_ROWS:
            raise CSVImportError(_("A mapping can have at most %(n)s rows.") % {"n": MAX_ROWS})
    if not rows:
        raise CSVImportError(_("The file has no mapping rows."))
    return rows


def rows_from_mapping_set(mappings: Iterable[Any]) -> list[dict]:
    """Rows from another dataflow's mapping set (aep.types.FieldMapping objects)."""
    return [rule.as_row() for rule in rules_from_mappings(mappings)]
