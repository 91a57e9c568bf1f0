"""The mapping editor's text form of core.mapping rules: one `source -> destination` per line.

The text carries no kind: a source that is a plain field path is an ATTRIBUTE; anything else
(`data.amount / 100`, `upper(data.currency)`) is an EXPRESSION, whether the line was typed or
read from AEP (so an exported plan holds what saving the editor would send). ` (identity)`
after the destination marks an identity.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from aep.types import FieldMapping
from core.mapping import Rule, is_field_path, kind_of

ARROW = "->"
IDENTITY_MARK = "(identity)"


def text_rule(source: str, destination: str, identity: bool = False) -> Rule:
    """A rule as the text form has it: its kind follows the source's shape."""
    return Rule(source, destination, identity, kind=kind_of(source))


def rule_line(rule: Rule) -> str:
    mark = f" {IDENTITY_MARK}" if rule.identity else ""
    return f"{rule.source} {ARROW} {rule.destination}{mark}"


class MappingSyntaxError(ValueError):
    pass


def parse_rules(text: str) -> list[Rule]:
    """Rules from the editor's text; MappingSyntaxError names the first bad line."""
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        rules.append(_parse_line(stripped, number))
    if not rules:
        raise MappingSyntaxError(_("Enter at least one mapping."))
    destinations = [rule.destination for rule in rules]
    duplicate = next((d for d in destinations if destinations.count(d) > 1), None)
    if duplicate:
        raise MappingSyntaxError(_("%(destination)s is mapped twice.") % {"destination": duplicate})
    return rules


def _parse_line(text: str, number: int) -> Rule:
    if ARROW not in text:
        raise MappingSyntaxError(_("Line %(n)d: write “source -> destination”.") % {"n": number})
    source, destination = (part.strip() for part in text.rsplit(ARROW, 1))
    identity = destination.endswith(IDENTITY_MARK)
    destination = destination.removesuffix(IDENTITY_MARK).strip()
    if not source or not destination:
        raise MappingSyntaxError(
            _("Line %(n)d: both a source and a destination are needed.") % {"n": number}
        )
    if not is_field_path(destination):
        raise MappingSyntaxError(
            _("Line %(n)d: “%(destination)s” is not an XDM field path.")
            % {"n": number, "destination": destination}
        )
    return text_rule(source, destination, identity)


def text_rules(mappings: Iterable[FieldMapping]) -> list[Rule]:
    """A mapping set's rules as the text form reads them (the kind follows each source)."""
    return [text_rule(m.source, m.destination, m.identity) for m in mappings]


def rules_text(rules: Iterable[Rule]) -> str:
    return "\n".join(rule_line(rule) for rule in rules)
