"""Each supported function, checked against the examples in Adobe's function reference where
one exists."""

from __future__ import annotations

import re
import time
import uuid

import pytest

from emulators.aep.mapping import SUPPORTED_FUNCTIONS
from emulators.aep.mapping.evaluator import evaluate
from emulators.aep.mapping.expression import parse
from emulators.aep.mapping.functions import resolve_function
from emulators.aep.mapping.values import EvalError, to_output

RECORD = {"data": {"created": 1571829875, "name": None, "email": " Jenny@Example.com "}}


def run(text: str):
    return to_output(evaluate(parse(text, resolve_function), RECORD))


def test_the_required_functions_are_all_supported():
    required = [
        "concat",
        "upper",
        "ucase",
        "lower",
        "lcase",
        "trim",
        "ltrim",
        "rtrim",
        "substr",
        "replacestr",
        "split",
        "join",
        "lpad",
        "rpad",
        "left",
        "right",
        "length",
        "size_of",
        "iif",
        "coalesce",
        "isempty",
        "now",
        "timestamp",
        "dformat",
        "date",
        "to_integer",
        "to_bigint",
        "to_decimal",
        "to_float",
        "to_string",
        "to_boolean",
        "round",
        "floor",
        "ceil",
        "abs",
        "sha256",
        "md5",
    ]
    missing = [name for name in required if name not in SUPPORTED_FUNCTIONS]
    assert missing == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('concat("Hi, ", "there", "!")', "Hi, there!"),
        ('concat("a", null, 1, true)', "a1true"),
        ("concat(null, data.name)", None),
        ('explode("Hi, there!", " ")', ["Hi,", "there!"]),
        ('explode("a,b,c")', ["a", "b", "c"]),
        ('explode("a1b22c", "\\\\d+")', ["a", "b", "c"]),
        ('instr("adobe.com", "com")', 6),
        ('instr("adobe.com", "xyz")', -1),
        ('instr("a-b-c", "-", 0, 2)', 3),
        (
            'replacestr("This is a string re test", "re", "replace")',
            "This is a string replace test",
        ),
        ('replacestr("aaa", "a", "b")', "bbb"),
        ('replacestr(null, "a", "b")', None),
        ('substr("This is a substring test", 7, 8)', " a subst"),
        ('substr("abc", 1, 99)', "bc"),
        ('substr("abc", 5, 2)', ""),
        ('lower("HeLLo")', "hello"),
        ('lcase("HeLLo")', "hello"),
        ('upper("HeLLo")', "HELLO"),
        ('ucase("HeLLo")', "HELLO"),
        ("upper(data.name)", None),
        ("upper(12)", "12"),
        ('split("Hello world", " ")', ["Hello", "world"]),
        ('split("a,b;c", ",;")', ["a", "b", "c"]),
        ('join(" ", to_array(true, "Hello", "world"))', "Hello world"),
        ('join("-", "a", null, "b")', "a-b"),
        ('lpad("bat", 8, "yz")', "yzyzybat"),
        ('rpad("bat", 8, "yz")', "batyzyzy"),
        ('lpad("bat", 2, "yz")', "bat"),
        ('lpad("7", 3, "")', "  7"),
        ('rpad(null, 3, "x")', None),
        ('left("abcde", 2)', "ab"),
        ('right("abcde", 2)', "de"),
        ('right("ab", 5)', "ab"),
        ('left("ab", 0)', ""),
        ('ltrim(" hello ")', "hello "),
        ('rtrim(" hello ")', " hello"),
        ('trim(" hello ")', "hello"),
        ("lower(trim(data.email))", "jenny@example.com"),
        ('equals("string1", "STRING1")', False),
        ('equalsIgnoreCase("string1", "STRING1")', True),
        ("equals(null, null)", True),
    ],
)
def test_string_functions(text, expected):
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'extract_regex("E259,E259B_009,1_1", "([^,]+),[^,]*,([^,]+)")',
            ["E259,E259B_009,1_1", "E259", "1_1"],
        ),
        ('extract_regex("abc", "\\\\d+")', None),
        ('matches_regex("E259,E259B_009,1_1", "([^,]+),[^,]*,([^,]+)")', True),
        ('matches_regex("abc1", "[a-z]+")', False),
    ],
)
def test_regex_functions(text, expected):
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('sha1("my text", "UTF-8")', "c3599c11e47719df18a2448690840c5dfcce3c80"),
        (
            'sha256("my text", "UTF-8")',
            "7330d2b39ca35eaf4cb95fc846c21ee6a39af698154a83a586ee270a0d372104",
        ),
        ('sha256("my text")', "7330d2b39ca35eaf4cb95fc846c21ee6a39af698154a83a586ee270a0d372104"),
        (
            'sha512("my text", "UTF-8")',
            "a3d7e45a0d9be5fd4e4b9a3b8c9c2163c21ef708bf11b4232bb21d2a8704ada2"
            "cdcd7b367dd0788a89a5c908cfe377aceb1072a7b386b7d4fd2ff68a8fd24d16",
        ),
        ('md5("my text", "UTF-8")', "d3b96ce8c9fb4e9bd0198d03ba6852c7"),
        ('crc32("my text")', "802ef98d"),
        ("md5(data.name)", None),
    ],
)
def test_hashing_functions(text, expected):
    assert run(text) == expected


def test_hash_charset_changes_the_bytes_hashed():
    assert run('md5("é", "ISO-8859-1")') == "3406877694691ddd1dfb0aca54681407"
    assert run('md5("é", "ISO-8859-1")') != run('md5("é", "UTF-8")')
    # Java's UTF-16 encoder writes a big-endian byte order mark: FE FF 00 61 for "a".
    assert run('md5("a", "UTF-16")') == "4b936244fb81c0500598b1938266f69a"


def test_hash_rejects_an_unknown_charset():
    with pytest.raises(EvalError, match="unsupported charset 'EBCDIC'"):
        run('md5("a", "EBCDIC")')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dformat(1571829875000, \"yyyy-MM-dd'T'HH:mm:ss.SSSX\")", "2019-10-23T11:24:35.000Z"),
        ("dformat(data.created * 1000, 'yyyy-MM-dd')", "2019-10-23"),
        ("dformat(1571829875123, 'dd/MM/yy hh:mm:ss.SS a')", "23/10/19 11:24:35.12 AM"),
        ("dformat(1571850000000, 'h a, EEE d MMM yyyy')", "5 PM, Wed 23 Oct 2019"),
        ("dformat(0, 'EEEE MMMM D XXX Z')", "Thursday January 1 Z +0000"),
        ("dformat(0, \"''yyyy'' 'o''clock'\")", "'1970' o'clock"),
        ("dformat(data.name, 'yyyy')", None),
        ("dformat('1571829875000', 'yyyy')", "2019"),
        ('format(date("2019-10-23T11:24:00+00:00"), "yyyy-MM-dd HH:mm:ss")', "2019-10-23 11:24:00"),
        ('format("2019-10-23T11:24:00Z", "dd.MM.yyyy")', "23.10.2019"),
        ('date("2019-10-23 11:24", "yyyy-MM-dd HH:mm")', "2019-10-23T11:24:00Z"),
        ('date("2019-10-23 11:24")', "2019-10-23T11:24:00Z"),
        ('date("23 Oct 2019", "dd MMM yyyy")', "2019-10-23T00:00:00Z"),
        ('date("23 October 2019", "dd MMMM yyyy")', "2019-10-23T00:00:00Z"),
        (
            'date("2019-10-23T11:24:00+0200", "yyyy-MM-dd\'T\'HH:mm:ssZ")',
            "2019-10-23T11:24:00+02:00",
        ),
        (
            'date("2019-10-23T11:24:00.5-05:30", "yyyy-MM-dd\'T\'HH:mm:ss.SXXX")',
            "2019-10-23T11:24:00.500-05:30",
        ),
        ('date("10/23/19 01:05 PM", "MM/dd/yy hh:mm a")', "2019-10-23T13:05:00Z"),
        ('date("nonsense", "yyyy-MM-dd", "2000-01-01T00:00:00Z")', "2000-01-01T00:00:00Z"),
        ('date(data.name, "yyyy-MM-dd", "2000-01-01T00:00:00Z")', "2000-01-01T00:00:00Z"),
        ("date(data.name)", None),
    ],
)
def test_date_functions(text, expected):
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('date("2019/10/23", "yyyy-MM-dd")', "does not match the format 'yyyy-MM-dd'"),
        ('date("2019-02-30", "yyyy-MM-dd")', "is not a valid date"),
        ('date("yesterday")', "is not an ISO 8601 date"),
        ("dformat(0, 'yyyy-QQ')", "Unsupported pattern letter 'Q'"),
        ('dformat(0, "\'open")', "Unclosed quote"),
        ("dformat('soon', 'yyyy')", "cannot convert 'soon' to a number"),
        ("format(12, 'yyyy')", "format expects a date, got integer"),
    ],
)
def test_date_errors_are_record_errors(text, message):
    with pytest.raises(EvalError, match=re.escape(message)):
        run(text)


def test_now_and_timestamp_read_the_clock():
    before = int(time.time() * 1000)
    stamp = run("timestamp()")
    after = int(time.time() * 1000)
    assert before <= stamp <= after
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", run("now()"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("size_of([1, 2, 3, 4])", 4),
        ("size_of(data)", 3),
        ("size_of(data.name)", 0),
        ('length("abc")', 3),
        ("is_empty([1, 2, 3])", False),
        ('isempty("")', True),
        ("isempty(data.name)", True),
        ("isempty([])", True),
        ('coalesce(null, null, null, "first", null, "second")', "first"),
        ("coalesce(data.name, 'fallback')", "fallback"),
        ("coalesce([null, 2])", 2),
        ('first("1", "2", "3")', "1"),
        ('last("1", "2", "3")', "3"),
        ("last([])", None),
        ("add_to_array(['a', 'b'], 'c', 'd')", ["a", "b", "c", "d"]),
        ("join_arrays(['a', 'b'], ['c'], ['d', 'e'])", ["a", "b", "c", "d", "e"]),
        ("to_array(false, 1, null, 2, 3)", [1, 2, 3]),
        ("to_array(true, 1, null)", [1, None]),
        ('decode("ca", "ca", "California", "pa", "Pennsylvania", "N/A")', "California"),
        ('decode("pa", "ca", "California", "pa", "Pennsylvania", "N/A")', "Pennsylvania"),
        ('decode("ny", "ca", "California", "pa", "Pennsylvania", "N/A")', "N/A"),
        ('decode("ny", "ca", "California")', None),
        ('iif("s".equalsIgnoreCase("S"), "True", "False")', "True"),
        ("iif(data.name, 'named', 'anonymous')", "anonymous"),
        ("min(3, 1, 4)", 1),
        ("max(3, 1, 4)", 4),
        ("max(null, 2)", 2),
        ("nullify()", None),
    ],
)
def test_object_array_and_logical_functions(text, expected):
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('to_integer("12")', 12),
        ('to_integer(" -7 ")', -7),
        ("to_integer(12.9)", 12),
        ("to_integer(data.name)", None),
        ('to_bigint("1000000")', 1000000),
        ('to_bigint("1000000.34")', 1000000),
        ('to_decimal("20.5")', 20.5),
        ("to_decimal(3)", 3.0),
        ('to_float("12.3456")', 12.3456),
        ("to_string(12)", "12"),
        ("to_string(1.5)", "1.5"),
        ("to_string(true)", "true"),
        ("to_string(['a', 1])", '["a",1]'),
        ("to_string(data.name)", None),
        ('to_boolean("TRUE")', True),
        ('to_boolean("false")', False),
        ("to_boolean(0)", False),
        ("to_boolean(true)", True),
    ],
)
def test_type_conversions(text, expected):
    result = run(text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('to_integer("12.5")', "cannot convert '12.5' to an integer"),
        ('to_integer("abc")', "cannot convert 'abc' to an integer"),
        ("to_integer(true)", "cannot convert a boolean"),
        ('to_decimal("x1")', "cannot convert 'x1' to a number"),
        ('to_boolean("yes")', "cannot convert 'yes' to a boolean"),
        ("to_boolean(2)", "cannot convert '2' to a boolean"),
        ("upper(data)", "upper expects a string, got object"),
        ("substr('abc', 'x', 1)", "cannot convert 'x' to a number"),
        ("substr('abc', 1.5, 1)", "expects a whole number"),
        ("add_to_array('a', 'b')", "add_to_array expects an array, got string"),
        ("explode('a', '(')", "invalid regular expression"),
    ],
)
def test_conversion_failures_are_record_errors(text, message):
    with pytest.raises(EvalError, match=re.escape(message)):
        run(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("round(2.5)", 3),
        ("round(-2.5)", -2),
        ("round(2.4)", 2),
        ("round(1.2345, 2)", 1.23),
        ("round(1.235, 2)", 1.24),
        ("round(1234, -2)", 1200),
        ('round("2.6")', 3),
        ("round(data.name)", None),
        ("floor(1.7)", 1),
        ("floor(-1.2)", -2),
        ("ceil(1.2)", 2),
        ("abs(-3)", 3),
        ("abs(-2.5)", 2.5),
        ("round(1099 / 100)", 11),
    ],
)
def test_math_functions(text, expected):
    result = run(text)
    assert result == expected
    assert type(result) is type(expected)


def test_uuid_and_guid_return_fresh_ids():
    first, second = run("uuid()"), run("guid()")
    assert uuid.UUID(first) and uuid.UUID(second)
    assert first != second
