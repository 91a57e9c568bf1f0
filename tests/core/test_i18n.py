"""The Korean translation: every template string is marked, every message has a Korean
translation that is compiled, pages and emails come out in the reader's language, and stored
sentences are shown in it too.

The completeness check runs makemessages on a copy of the sources, so it sees strings added
anywhere since the catalog was last updated, without touching the committed catalog.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.template.base import Lexer, TokenType
from django.test import SimpleTestCase, override_settings
from django.utils import translation

from core.i18n import localize_stored
from core.models import Preference
from core.templatetags.localized import status_label, target_type_label, type_label
from monitoring import alerts, charts
from monitoring.models import Alert, AlertDelivery, AlertRule
from tests.base import PASSWORD, BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow

ROOT = Path(settings.BASE_DIR)
CATALOG = ROOT / "locale" / "ko" / "LC_MESSAGES"
APPS = ("core", "monitoring", "onboarding", "operations")
# What makemessages reads besides the apps (settings name the languages).
SOURCES = (*APPS, "config", "templates")
MAKEMESSAGES_IGNORES = ("tests", "migrations")

# -- every template string is marked ---------------------------------------------------------

# Attributes a person reads or hears (screen readers); the others hold machine values.
VISIBLE_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt"}
# Product names, the same in every language.
ALLOWED_TEXT = {"S→A", "Stripe", "Stripe Sources", "AEP", "Adobe Experience Platform"}
MARK = "\x00"
# {{ x|default:"none" }} shows the literal: it needs _("none"). Identifiers ("_tenant") are fine.
FILTER_LITERAL = re.compile(r"\|(?:default|default_if_none|yesno):([\"'])(.*?)\1")


@dataclass(frozen=True)
class Unmarked:
    path: Path
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.text!r}"


def template_files() -> list[Path]:
    folders = [ROOT / "templates", *(ROOT / app / "templates" for app in APPS)]
    return sorted(path for folder in folders if folder.is_dir() for path in folder.rglob("*.html"))


def unmarked_strings(path: Path, source: str | None = None) -> list[Unmarked]:
    source = path.read_text("utf-8") if source is None else source
    parser = _TextFinder(path)
    parser.feed(_neutralize_tags(source))
    parser.close()
    return sorted([*parser.found, *_filter_literals(path, source)], key=lambda u: u.line)


def _filter_literals(path: Path, source: str) -> list[Unmarked]:
    found = []
    for token in Lexer(source).tokenize():
        if token.token_type not in (TokenType.VAR, TokenType.BLOCK):
            continue
        for _quote, literal in FILTER_LITERAL.findall(token.contents):
            if re.fullmatch(r"[A-Za-z]+|.*[A-Za-z].* .*", literal):
                found.append(Unmarked(path, token.lineno, f"filter argument: {literal}"))
    return found


def _neutralize_tags(source: str) -> str:
    """The template with tags, variables, comments and translated blocks made placeholders.

    Line breaks are kept, so the HTML parser's line numbers are the template's. A variable
    stays visible as MARK ("v{{ n }}" reads as a version); tags become a space, which keeps
    `<details{% if x %} open{% endif %}>` a valid start tag.
    """
    out: list[str] = []
    skip_until: str | None = None
    for token in Lexer(source).tokenize():
        newlines = "\n" * token.contents.count("\n")
        name = token.contents.split()[0] if token.token_type == TokenType.BLOCK else ""
        if skip_until:
            out.append(newlines)
            if name == skip_until:
                skip_until = None
        elif token.token_type == TokenType.TEXT:
            out.append(token.contents)
        elif name in ("blocktranslate", "blocktrans", "comment"):
            skip_until = "endcomment" if name == "comment" else "end" + name
            out.append(" " + newlines)
        else:
            out.append((MARK if token.token_type == TokenType.VAR else " ") + newlines)
    return "".join(out)


def _visible(text: str) -> str | None:
    """The text a reader would see, or None when it holds no words of ours."""
    text = re.sub(r"\bv" + MARK, " ", text)
    text = re.sub(r"\s+", " ", text.replace(MARK, " ")).strip()
    if not any(ch.isalpha() for ch in text) or text in ALLOWED_TEXT:
        return None
    return text


class _TextFinder(HTMLParser):
    def __init__(self, path: Path) -> None:
        super().__init__(convert_charrefs=True)
        self.path = path
        self.found: list[Unmarked] = []
        self._raw_text_tag: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._raw_text_tag = tag
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value and (text := _visible(value)):
                self.found.append(Unmarked(self.path, self.getpos()[0], f"{name}: {text}"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._raw_text_tag = None

    def handle_endtag(self, tag: str) -> None:
        if tag == self._raw_text_tag:
            self._raw_text_tag = None

    def handle_data(self, data: str) -> None:
        if self._raw_text_tag or not (text := _visible(data)):
            return
        leading = data[: len(data) - len(data.lstrip())]
        self.found.append(Unmarked(self.path, self.getpos()[0] + leading.count("\n"), text))


def test_every_template_string_is_marked_for_translation():
    unmarked = [found for path in template_files() for found in unmarked_strings(path)]
    assert not unmarked, "Text outside {% translate %} / {% blocktranslate %}:\n" + "\n".join(
        map(str, unmarked)
    )


def test_the_template_check_finds_unmarked_text_and_attributes():
    source = """{% load i18n %}<h1>{% translate "Runs" %}</h1>
<p title="Open it">{% blocktranslate %}Hello {{ name }}{% endblocktranslate %} and more</p>
{# a comment #}{% comment %}Not shown{% endcomment %}<script>const a = "b";</script>
<input placeholder="{% translate 'Search' %}"><span>{{ run.id }} · 3 →</span>
<details{% if open %} open{% endif %}><summary>Details</summary></details>
<span class="brand">Stripe</span> (v{{ version }}) {{ who|default:"system" }}
{{ ns|default:"_tenant" }} {{ who|default:_("system") }}"""
    found = [(u.line, u.text) for u in unmarked_strings(Path("sample.html"), source)]
    assert found == [
        (2, "title: Open it"),
        (2, "and more"),
        (5, "Details"),
        (6, "filter argument: system"),
    ]


# -- every message has a compiled Korean translation -----------------------------------------


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file: msgid (with context), translations, flags; header left out."""
    entries, entry, field = [], None, None
    for line in [*path.read_text("utf-8").splitlines(), ""]:
        if not line.strip():
            if entry and (entry.get("msgid") or entry.get("msgctxt")):
                entries.append(entry)
            entry, field = None, None
            continue
        entry = entry or {"flags": "", "msgstr": [], "obsolete": False}
        if line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#,"):
            entry["flags"] += line
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            value = _unquote(line)
            if field == "msgstr":
                entry["msgstr"][-1] += value
            else:
                entry[field] += value
        else:
            keyword, _space, rest = line.partition(" ")
            field = "msgstr" if keyword.startswith("msgstr") else keyword
            if field == "msgstr":
                entry["msgstr"].append(_unquote(rest))
            else:
                entry[field] = _unquote(rest)
    return [e for e in entries if not e["obsolete"]]


def _unquote(quoted: str) -> str:
    return quoted.strip()[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")


def untranslated(entries: list[dict]) -> list[str]:
    return [
        e.get("msgctxt", "") + " " + e["msgid"] if e.get("msgctxt") else e["msgid"]
        for e in entries
        if "fuzzy" in e["flags"] or not all(s.strip() for s in e["msgstr"])
    ]


@pytest.fixture(scope="module")
def fresh_catalog(tmp_path_factory) -> Path:
    """makemessages for ko over a copy of today's sources and the committed catalog."""
    copy = tmp_path_factory.mktemp("i18n") / "project"
    for name in SOURCES:
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "locale", copy / "locale")
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    command = [sys.executable, "manage.py", "makemessages", "-l", "ko", "--no-obsolete"]
    command += [f"--ignore={pattern}" for pattern in MAKEMESSAGES_IGNORES]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    done = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return copy / "locale" / "ko" / "LC_MESSAGES" / "django.po"


def test_every_message_has_a_korean_translation(fresh_catalog):
    entries = parse_po(fresh_catalog)
    assert len(entries) > 1000
    missing = untranslated(entries)
    assert not missing, (
        f"{len(missing)} message(s) without a Korean translation (run makemessages -l ko, "
        "translate them in locale/ko/LC_MESSAGES/django.po, then compilemessages):\n"
        + "\n".join(f"  {m!r}" for m in missing)
    )


def test_the_committed_catalog_has_no_fuzzy_or_empty_entries():
    assert not untranslated(parse_po(CATALOG / "django.po"))


def test_the_compiled_catalog_matches_the_po_file(tmp_path):
    compiled = tmp_path / "django.mo"
    subprocess.run(
        ["msgfmt", "--check", "-o", str(compiled), str(CATALOG / "django.po")], check=True
    )
    with open(compiled, "rb") as fresh, open(CATALOG / "django.mo", "rb") as committed:
        fresh_catalog = gettext.GNUTranslations(fresh)._catalog
        committed_catalog = gettext.GNUTranslations(committed)._catalog
    stale = {k for k in fresh_catalog.keys() | committed_catalog.keys()}
    stale = {k for k in stale if fresh_catalog.get(k) != committed_catalog.get(k)}
    assert not stale, "django.mo is out of date: run compilemessages -l ko. Differs on:\n" + (
        "\n".join(sorted(map(repr, stale))[:20])
    )


def test_the_catalog_says_korean_has_one_plural_form():
    with open(CATALOG / "django.mo", "rb") as committed:
        info = gettext.GNUTranslations(committed).info()
    assert info["language"] == "ko"
    assert info["plural-forms"].replace(" ", "") == "nplurals=1;plural=0;"


# -- pages in the reader's language -----------------------------------------------------------


class PagesInKoreanTestCase(BaseTestCase):
    def test_the_browser_language_picks_korean_for_the_login_page(self):
        response = self.client.get("/login/", HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9,en;q=0.5")
        self.assertContains(response, '<html lang="ko">')
        self.assertContains(response, "<h1>로그인</h1>", html=True)
        self.assertContains(response, "사용자 이름")
        self.assertNotContains(response, "Username")

    def test_other_browsers_get_english(self):
        response = self.client.get("/login/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
        self.assertContains(response, '<html lang="en">')
        self.assertContains(response, "Username")

    def test_the_picker_stores_the_choice_over_the_browser_language(self):
        response = self.client.post("/i18n/setlang/", {"language": "ko", "next": "/login/"})
        assert response.status_code == 302 and response["Location"] == "/login/"
        cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
        assert cookie.value == "ko" and int(cookie["max-age"]) >= 30 * 24 * 3600
        response = self.client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en")
        self.assertContains(response, "사용자 이름")

    def test_every_page_offers_the_picker(self):
        response = self.client.get("/login/")
        self.assertContains(response, 'action="/i18n/setlang/"')
        self.assertContains(response, 'value="ko" lang="ko"')
        self.assertContains(response, "한국어")

    def test_a_logged_in_page_in_korean_with_the_role_translated(self):
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
        self.login(self.mina)
        response = self.client.get("/")
        self.assertContains(response, "새 데이터플로 시작")
        self.assertContains(response, "마케팅 운영")
        self.assertContains(response, "로그아웃")
        self.assertNotContains(response, "Log out")

    def test_dates_and_numbers_follow_the_language(self):
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
        self.login(self.alex)
        start = datetime(2030, 12, 3, 9, 0, tzinfo=UTC)
        flow = make_dataflow(make_sandbox(), records_24h=12_345, start_time=start)
        response = self.client.get(f"/dataflows/{flow.pk}/")
        self.assertContains(response, "1.2만")  # Korean counts in ten-thousands
        self.assertContains(response, "15분마다")
        self.assertContains(response, "2030년 12월 3일 9:00 오전")

    def test_login_works_in_korean_too(self):
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
        response = self.client.post(
            "/login/", {"username": "mina", "password": PASSWORD}, follow=True
        )
        self.assertContains(response, "로그아웃")


# -- stored sentences, labels and emails --------------------------------------------------------


class StoredTextTestCase(SimpleTestCase):
    def test_a_stored_english_sentence_is_shown_in_korean(self):
        with translation.override("ko"):
            assert localize_stored("The latest run failed.") == "최근 실행이 실패했습니다."
            assert localize_stored("4 runs in a row failed.") == "실행이 4회 연속으로 실패했습니다."
            assert (
                localize_stored("12.5% of the records read in the last 24 hours failed.")
                == "지난 24시간 동안 읽은 레코드의 12.5%가 실패했습니다."
            )

    def test_nested_messages_and_names_inside_them(self):
        with translation.override("ko"):
            assert (
                localize_stored("Alert: The latest run failed.")
                == "알림: 최근 실행이 실패했습니다."
            )
            assert (
                localize_stored("Delete dataflow “Acme charges”")
                == "데이터플로 “Acme charges” 삭제"
            )

    def test_sentences_and_lists_are_recognised_one_by_one(self):
        stored = (
            "mina changed this dataflow in AEP after you opened it. Interval: “15” → “30”. "
            "Your change was not applied and nothing was overwritten. The page now shows the "
            "current values: review them and make your change again."
        )
        with translation.override("ko"):
            shown = localize_stored(stored)
        assert shown.startswith(
            "페이지를 연 뒤 mina 님이 AEP에서 이 데이터플로을(를) 변경했습니다."
        )
        assert "간격: “15” → “30”." in shown
        assert shown.endswith("다시 변경하세요.")

    def test_text_that_is_not_ours_is_left_alone(self):
        with translation.override("ko"):
            assert localize_stored("Acme charges") == "Acme charges"
            assert localize_stored("Invalid API Key provided") == "Invalid API Key provided"
            # Adobe's words that happen to end like one of ours ("%(n)s rows", "Run %(id)s").
            assert localize_stored("Successfully ingested 57 rows.") == (
                "Successfully ingested 57 rows."
            )
            assert localize_stored("Run failed after 3 tries") == "Run failed after 3 tries"
            assert localize_stored("") == ""

    def test_a_sentence_stored_in_korean_reads_in_english(self):
        with translation.override("en"):
            assert localize_stored("최근 실행이 실패했습니다.") == "The latest run failed."

    def test_status_object_and_type_labels(self):
        with translation.override("ko"):
            assert status_label("partialSuccess") == "부분 성공"
            assert status_label("somethingNew") == "somethingNew"
            assert target_type_label("mapping_set") == "매핑 세트"
            assert type_label("string") == "문자열"
        with translation.override("en"):
            assert status_label("inProgress") == "in progress"

    def test_compact_numbers_and_durations(self):
        with translation.override("ko"):
            assert charts.compact(1234) == "1.2천"
            assert charts.compact(5_600_000) == "560만"
            assert charts.compact(300_000_000) == "3억"
            assert charts.seconds_label(90) == "1.5분"
        with translation.override("en"):
            assert charts.compact(5_600_000) == "5.6M"
            assert charts.seconds_label(90) == "1.5 min"


class AlertEmailLanguageTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.flow = make_dataflow(make_sandbox(), name="Charges")
        rule = AlertRule.objects.create(kind=AlertRule.Kind.RUN_FAILED, emails="ops@example.org")
        alert = Alert.objects.create(
            rule=rule, dataflow=self.flow, kind=rule.kind, summary="The latest run failed."
        )
        self.delivery = AlertDelivery.objects.create(
            alert=alert,
            event=AlertDelivery.Event.OPENED,
            channel=AlertDelivery.Channel.EMAIL,
            target="ops@example.org",
        )

    @override_settings(LANGUAGE_CODE="ko")
    def test_emails_are_in_the_default_language_whatever_was_active(self):
        with translation.override("en"):
            alerts.deliver(self.delivery.pk)
        message = mail.outbox[0]
        assert message.subject == "[Stripe Sources] 알림: Charges"
        assert message.body.startswith("최근 실행이 실패했습니다.")
        assert "규칙: 실행 실패" in message.body

    def test_english_by_default(self):
        alerts.deliver(self.delivery.pk)
        assert mail.outbox[0].subject == "[Stripe Sources] Alert: Charges"
        assert mail.outbox[0].body.startswith("The latest run failed.")

    def test_a_person_who_chose_korean_gets_korean_whatever_the_default(self):
        self.mina.email = "OPS@example.org"  # addresses match whatever their case
        self.mina.save()
        Preference.objects.create(user=self.mina, language="ko")
        alerts.deliver(self.delivery.pk)
        assert mail.outbox[0].subject == "[Stripe Sources] 알림: Charges"

    @override_settings(LANGUAGE_CODE="ko")
    def test_a_person_who_chose_english_gets_english_whatever_the_default(self):
        self.sam.email = "ops@example.org"
        self.sam.save()
        Preference.objects.create(user=self.sam, language="en")
        alerts.deliver(self.delivery.pk)
        assert mail.outbox[0].subject == "[Stripe Sources] Alert: Charges"


def test_the_language_cookie_outlives_the_session():
    assert timedelta(days=30).total_seconds() <= settings.LANGUAGE_COOKIE_AGE
    assert dict(settings.LANGUAGES) == {"en": "English", "ko": "Korean"}
    assert "django.middleware.locale.LocaleMiddleware" in settings.MIDDLEWARE
