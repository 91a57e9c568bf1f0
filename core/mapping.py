"""Mapping rules: the one rule type of the wizard, the operations mapping editor and schema drift.

A rule maps a Stripe source to an XDM destination. `kind` is Data Prep's `sourceType`:
ATTRIBUTE for a source path (`data.amount`), EXPRESSION for a calculated field
(`data.amount / 100`); `type` is the XDM type a calculated field's destination gets when the
wizard creates the schema. The wizard keeps its rows as dicts on the draft (`Rule.as_row`), the
operations editor as text lines (operations/mapping.py); both become `Rule`s here, and
`mapping_set_body` is what Data Prep receives from either (through aep.payloads).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aep import payloads
from aep.types import FieldMapping

ATTRIBUTE = payloads.ATTRIBUTE
EXPRESSION = "EXPRESSION"
KINDS = (ATTRIBUTE, EXPRESSION)
# How Data Prep names a calculated field's sourceType, when it answers with the stored form.
_EXPRESSION_SOURCE_TYPES = ("expression", "text/x.aep-xl")
# A plain field path, with array subscripts: `data.items[0].price`.
_FIELD_PATH = re.compile(r"^[A-Za-z_$][\w$]*(\[(\d+|\*)\])?(\.[A-Za-z_$][\w$]*(\[(\d+|\*)\])?)*$")
_FIELD_REFERENCE = re.compile(r"(?<![\w.\"'])data(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


@dataclass(frozen=True)
class Rule:
    source: str
    destination: str
    identity: bool = False
    kind: str = ATTRIBUTE  # ATTRIBUTE or EXPRESSION
    type: str = ""  # a calculated field's destination type (onboarding's DESTINATION_TYPES)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Rule:
        """A rule from the wizard's row dict (as stored on the draft)."""
        return cls(
            source=row["source"],
            destination=row["destination"],
            identity=bool(row.get("identity")),
            kind=row.get("kind") or ATTRIBUTE,
            type=row.get("type") or "",
        )

    def as_row(self) -> dict[str, Any]:
        """The wizard's row dict: `{"source", "destination", "identity", "kind", "type"}`."""
        return {
            "source": self.source,
            "destination": self.destination,
            "identity": self.identity,
            "kind": self.kind,
            "type": self.type,
        }

    def to_api(self) -> dict[str, Any]:
        return payloads.mapping_rule(
            self.source, self.destination, source_type=self.kind, identity=self.identity
        )


def is_field_path(text: str) -> bool:
    """Whether `text` is a plain field path (`data.items[0].price`, `_acme.charges_data.id`)."""
    return bool(_FIELD_PATH.match(text))


def kind_of(source: str) -> str:
    """The kind a source has by its shape: ATTRIBUTE for a plain field path, else EXPRESSION."""
    return ATTRIBUTE if is_field_path(source) else EXPRESSION


def rules_from_mappings(mappings: Iterable[FieldMapping]) -> list[Rule]:
    """The rules of a mapping set read from Data Prep, with the kind Data Prep stored."""
    rules = []
    for mapping in mappings:
        source_type = (mapping.source_type or "").lower()
        kind = EXPRESSION if source_type in _EXPRESSION_SOURCE_TYPES else ATTRIBUTE
        rules.append(
            Rule(
                mapping.source,
                mapping.destination,
                identity=bool(mapping.identity),
                kind=kind,
                type="string" if kind == EXPRESSION else "",
            )
        )
    return rules


def mapping_set_body(
    schema_id: str | None, rules: Iterable[Rule], *, name: str = ""
) -> dict[str, Any]:
    """Data Prep's documented mapping-set shape (notes §4.1), which carries `sourceType` (the
    legacy shape cannot carry expressions); without a schema (`None`), the body that validate
    and preview take before the schema exists."""
    return payloads.mapping_set(schema_id, [rule.to_api() for rule in rules], name=name)


def field_references(source: str) -> set[str]:
    """The Stripe fields (`data.…` paths) a mapping source reads: the attribute itself, or every
    field a calculation names outside its string literals."""
    return set(_FIELD_REFERENCE.findall(_without_strings(source)))


def _without_strings(expression: str) -> str:
    return re.sub(r"\"[^\"]*\"|'[^']*'", '""', expression)


def container(tenant_namespace: str, resource_path: str) -> str:
    """`_{tenantId}.{resource}_data`, the object the wizard's field group adds."""
    return f"{tenant_namespace}.{resource_path}_data"
