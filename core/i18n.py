"""Messages stored as text, shown in the reader's language.

Background work writes sentences into the database (a job's error, an alert's summary, the label
of an operation step) in whatever language was active then. Each was produced by gettext from a
message of ours, so it can be recognised again: `localize_stored` matches the text against every
message of the compiled catalogs, in every language (placeholders become wildcards), and renders
the same message, with the same values, in the active language. Text that matches no message
(a name, Adobe's own words) is returned unchanged.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.utils import translation

# %(name)s, %(n)d, %(pct).1f, and positional %s / %d (printf-style, as gettext messages use).
PLACEHOLDER = re.compile(r"%(?:\((?P<name>\w+)\))?[-#0 +]*\d*(?:\.\d+)?(?P<conv>[sdifr])")
# A pattern with less fixed text than this ("%(name)s (%(path)s)") would match almost anything.
MIN_LITERAL_CHARS = 3
NESTING = 2
# Placeholders that hold a count: they match a number only, never a stretch of words.
NUMERIC_NAMES = {"n", "count", "counter", "total", "done", "done_count", "hidden", "minutes"}
NUMBER = r"-?[\d.,]+"
# Placeholders that hold an id or a path: one token, so "Run %(id)s" is not "Run failed …".
TOKEN_NAMES = {"id", "run", "path", "paths", "resource", "p", "version", "tenant", "last4"}
# Pages join several stored sentences with this; each is recognised on its own.
SEPARATOR = " · "
LIST_SEPARATOR = "; "
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=\S)")


@dataclass(frozen=True)
class Message:
    msgid: str
    plural: str | None
    context: str | None


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    message: Message
    names: tuple[str, ...]  # group name of each placeholder, in order
    counts: tuple[str, ...]  # groups holding an integer, for choosing a plural form
    weight: int
    anchor: str  # its longest fixed text: a cheap test before the regular expression


def localize_stored(text: str, _depth: int = 0) -> str:
    """`text` in the active language when it is made of our messages; else `text` itself.

    A stored text may be one message, or several joined by the page (" · "), written one
    after the other (sentences), or listed with "; ". Each part is recognised on its own.
    """
    if not text or not isinstance(text, str):
        return text
    found = _one_message(text, _depth)
    if found is not None or _depth >= NESTING:
        return text if found is None else found
    if SEPARATOR in text:
        return SEPARATOR.join(localize_stored(part, _depth + 1) for part in text.split(SEPARATOR))
    sentences = SENTENCE_BREAK.split(text)
    if len(sentences) > 1:
        return " ".join(_sentences(sentences, _depth + 1))
    return _listed(text, _depth + 1)


def _one_message(text: str, depth: int) -> str | None:
    exact, patterns = _index()
    message = exact.get(text)
    if message is not None:
        return _render(message, {}, ())
    for pattern in patterns:
        if pattern.anchor not in text:
            continue
        found = pattern.regex.fullmatch(text)
        if found:
            values = {
                name: (localize_stored(value, depth + 1) if depth < NESTING else value)
                for name, value in found.groupdict().items()
            }
            count = next((int(values[g]) for g in pattern.counts if values[g].isdigit()), 1)
            return _render(pattern.message, values, pattern.names, count)
    return None


def _sentences(sentences: list[str], depth: int) -> list[str]:
    """The longest runs of sentences that are one message each (a message may hold several)."""
    out, start = [], 0
    while start < len(sentences):
        for end in range(len(sentences), start, -1):
            found = _one_message(" ".join(sentences[start:end]), depth)
            if found is not None:
                out.append(found)
                start = end
                break
        else:
            out.append(_listed(sentences[start], depth))
            start += 1
    return out


def _listed(text: str, depth: int) -> str:
    """ "a; b; c." (or "a.") with each item one of our messages."""
    body, period = (text[:-1], ".") if text.endswith(".") else (text, "")
    items = [_one_message(item, depth) or item for item in body.split(LIST_SEPARATOR)]
    return LIST_SEPARATOR.join(items) + period


def _render(message: Message, values: dict[str, str], names: tuple[str, ...], n: int = 1) -> str:
    if message.plural is not None:
        if message.context:
            target = translation.npgettext(message.context, message.msgid, message.plural, n)
        else:
            target = translation.ngettext(message.msgid, message.plural, n)
    elif message.context:
        target = translation.pgettext(message.context, message.msgid)
    else:
        target = translation.gettext(message.msgid)
    if not names:
        return target
    positional = iter(name for name in names if name.startswith("_"))

    def fill(match: re.Match[str]) -> str:
        name = match.group("name") or next(positional, "")
        return values.get(name, match.group(0))

    return _fill_placeholders(target, fill)


def _fill_placeholders(template: str, fill) -> str:
    out, last = [], 0
    for match in re.finditer(r"%%|" + PLACEHOLDER.pattern, template):
        out.append(template[last : match.start()])
        out.append("%" if match.group(0) == "%%" else fill(match))
        last = match.end()
    out.append(template[last:])
    return "".join(out)


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, Message], list[_Pattern]]:
    exact: dict[str, Message] = {}
    patterns: list[_Pattern] = []
    for message, texts in _catalog_messages().items():
        for text in texts:
            if not text:
                continue
            compiled = _compile(text, message)
            if compiled is None:
                exact.setdefault(text, message)
            elif compiled.weight >= MIN_LITERAL_CHARS:
                patterns.append(compiled)
    # The most specific message wins when several could have produced the text.
    patterns.sort(key=lambda p: -p.weight)
    return exact, patterns


def _compile(text: str, message: Message) -> _Pattern | None:
    parts, names, counts, literal = [], [], [], []
    last, position = 0, 0
    for match in re.finditer(r"%%|" + PLACEHOLDER.pattern, text):
        chunk = text[last : match.start()]
        parts.append(re.escape(chunk))
        literal.append(chunk)
        last = match.end()
        if match.group(0) == "%%":
            parts.append("%")
            literal.append("%")
            continue
        name = match.group("name") or f"_{position}"
        position += 1
        if name in names:  # the same value twice: it must be the same text
            parts.append(f"(?P={name})")
            continue
        names.append(name)
        if match.group("conv") == "d":
            counts.append(name)
        if match.group("conv") in "dif" or name in NUMERIC_NAMES:
            parts.append(f"(?P<{name}>{NUMBER})")
        elif name in TOKEN_NAMES:
            parts.append(rf"(?P<{name}>\S+?)")
        else:
            parts.append(f"(?P<{name}>.+?)")
    if not names:
        return None
    parts.append(re.escape(text[last:]))
    literal.append(text[last:])
    weight = sum(not ch.isspace() for ch in "".join(literal))
    regex = re.compile("".join(parts), re.DOTALL)
    anchor = max((chunk.strip() for chunk in literal), key=len)
    return _Pattern(regex, message, tuple(names), tuple(counts), weight, anchor)


def _catalog_messages() -> dict[Message, set[str]]:
    """Every message of our catalogs, with its source text and each of its translations."""
    messages: dict[Message, set[str]] = {}
    for path in _mo_files():
        for message, forms in _read_mo(path):
            texts = messages.setdefault(message, {message.msgid})
            if message.plural is not None:
                texts.add(message.plural)
            texts.update(forms)
    return messages


def _mo_files() -> list[Path]:
    codes = [code for code, _name in settings.LANGUAGES]
    return [
        Path(folder) / code / "LC_MESSAGES" / "django.mo"
        for folder in settings.LOCALE_PATHS
        for code in codes
        if (Path(folder) / code / "LC_MESSAGES" / "django.mo").exists()
    ]


def _read_mo(path: Path) -> list[tuple[Message, list[str]]]:
    """The entries of a compiled catalog, keeping the English plural that `gettext` drops."""
    data = path.read_bytes()
    order = "<" if struct.unpack("<I", data[:4])[0] == 0x950412DE else ">"
    count, originals, translations = struct.unpack(order + "3I", data[8:20])
    entries = []
    for i in range(count):
        olen, ooff = struct.unpack(order + "2I", data[originals + 8 * i : originals + 8 * i + 8])
        tlen, toff = struct.unpack(
            order + "2I", data[translations + 8 * i : translations + 8 * i + 8]
        )
        original = data[ooff : ooff + olen].decode("utf-8")
        if not original:
            continue  # the header
        context, _, original = original.rpartition("\x04")
        msgid, has_plural, plural = original.partition("\x00")
        forms = data[toff : toff + tlen].decode("utf-8").split("\x00")
        message = Message(msgid, plural if has_plural else None, context or None)
        entries.append((message, forms))
    return entries
