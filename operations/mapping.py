"""The mapping editor's text form: one `source -> destination` rule per line.

A source that is a plain field path is an ATTRIBUTE; anything else (`data.amount / 100`,
`upper(data.currency)`) is an EXPRESSION. ` (identity)` after the destination marks an identity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from aep import payloads
from aep.types import FieldMapping

ARROW = "->"
IDENTITY_MARK = "(identity)"
_PATH = re.compile(r"^[A-Za-z_$][\w$]*(\[(\d+|\*)\])?(\.[A-Za-z_$][\w$]*(\[(\d+|\*)\])?)*$")


@dataclass(frozen=True)
class Rule:
    source: str
    destination: str
    identity: bool = False

    @property
    def source_type(self) -> str:
        return "ATTRIBUTE" if _PATH.match(self.source) else "EXPRESSION"

    def line(self) -> str:
        mark = f" {IDENTITY_MARK}" if self.identity else ""
        return f"{self.source} {ARROW} {self.destination}{mark}"

    def to_api(self) -> dict[str, Any]:
        return payloads.mapping_rule(
            self.source, self.destination, source_type=self.source_type, identity=self.identity
        )


class MappingSyntaxError(ValueError):
    pass


def parse_rules(text: str) -> list[Rule]:
    """Rules from the editor's text; MappingSyntaxError names the first bad line."""
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        rules.append(_parse_line(line, number))
    if not rules:
        raise MappingSyntaxError(_("Enter at least one mapping."))
    destinations = [rule.destination for rule in rules]
    duplicate = next((d for d in destinations if destinations.count(d) > 1), None)
    if duplicate:
        raise MappingSyntaxError(_("%(destination)s is mapped twice.") % {"destination": duplicate})
    return rules


def _parse_line(line: str, number: int) -> Rule:
    if ARROW not in line:
        raise MappingSyntaxError(_("Line %(n)d: write “source -> destination”.") % {"n": number})
    source, destination = (part.strip() for part in line.rsplit(ARROW, 1))
    identity = destination.endswith(IDENTITY_MARK)
    destination = destination.removesuffix(IDENTITY_MARK).strip()
    if not source or not destination:
        raise MappingSyntaxError(
            _("Line %(n)d: both a source and a destination are needed.") % {"n": number}
        )
    if not _PATH.match(destination):
        raise MappingSyntaxError(
            _("Line %(n)d: “%(destination)s” is not an XDM field path.")
            % {"n": number, "destination": destination}
        )
    return Rule(source, destination, identity)


def rules_from_mappings(mappings: Iterable[FieldMapping]) -> list[Rule]:
    return [Rule(m.source, m.destination, m.identity) for m in mappings]


def rules_text(rules: Iterable[Rule]) -> str:
    return "\n".join(rule.line() for rule in rules)


def mapping_set_body(schema_id: str, rules: Iterable[Rule]) -> dict[str, Any]:
    """The modern Data Prep shape (it carries expressions, which the legacy shape cannot)."""
    return payloads.mapping_set(schema_id, [rule.to_api() for rule in rules])
