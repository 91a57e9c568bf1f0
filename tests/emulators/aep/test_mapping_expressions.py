from __future__ import annotations

import re

import pytest

from emulators.aep.mapping.evaluator import evaluate
from emulators.aep.mapping.expression import (
    ExpressionError,
    UnsupportedFunctionError,
    parse,
    tokenize,
)
from emulators.aep.mapping.functions import resolve_function
from emulators.aep.mapping.values import EvalError

RECORD = {
    "data": {
        "amount": 1099,
        "amount_refunded": None,
        "currency": "usd",
        "paid": True,
        "items": [{"id": "si_1"}, {"id": "si_2"}],
        "metadata": {"order id": "A-7", "if": "kw"},
    },
    "First Name": "Jenny",
    "First.Name": "dotted",
    "count": "5",
}


def run(text: str, record: dict | None = None):
    return evaluate(parse(text, resolve_function), RECORD if record is None else record)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("2 * 3 % 4", 2),
        ("-2 * 3", -6),
        ("- (2 + 3)", -5),
        ("+4", 4),
        ("2 + 3 > 4", True),
        ("1 + 2 == 3 && 2 > 1", True),
        ("true || false && false", True),
        ("(true || false) && false", False),
        ("!false || false", True),
        ("!(1 < 2)", False),
        ("1 < 2 == true", True),
        ("3 >= 3 && 3 <= 3 && 3 != 4", True),
        ("1 lt 2 and not false", True),
        ("2 gt 1 or false", True),
        ("2 eq 2 and 2 ne 3 and 2 le 2 and 2 ge 2", True),
        ("7 mod 3", 1),
        ("7 div 2", 3.5),
        ("-7 % 3", -1),
        ("7.5 % 2", 1.5),
    ],
)
def test_operator_precedence_and_associativity(text, expected):
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"double"', "double"),
        ("'single'", "single"),
        (r'"esc\"aped\n"', 'esc"aped\n'),
        ("12", 12),
        ("1.25", 1.25),
        ("1e3", 1000.0),
        ("2.5E-1", 0.25),
        ("null", None),
        ("true", True),
        ("false", False),
        ("[1, 'a', null]", [1, "a", None]),
        ("[]", []),
    ],
)
def test_literals(text, expected):
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("data.amount", 1099),
        ("data.currency", "usd"),
        ("data.missing", None),
        ("data.amount.deeper", None),
        ("data.items[1].id", "si_2"),
        ("data.items[9].id", None),
        ("${First Name}", "Jenny"),
        ("${First.Name}", "dotted"),
        ("data.metadata.${order id}", "A-7"),
        ("data.metadata.${if}", "kw"),
        ("split('a,b', ',')[1]", "b"),
        ("data['currency']", "usd"),
    ],
)
def test_field_references(text, expected):
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("data.amount / 100", 10.99),
        ("1000 / 100", 10),
        ("data.amount_refunded / 100", None),
        ("data.amount_refunded + 1", None),
        ("'a' + 1", "a1"),
        ("1 + 'a'", "1a"),
        ("'paid: ' + data.paid", "paid: true"),
        ("count * 2", 10),
        ("1 == 1.0", True),
        ("true == 1", False),
        ("null == null", True),
        ("data.missing == null", True),
        ("data.amount_refunded > 0", False),
        ("'b' > 'a'", True),
    ],
)
def test_arithmetic_and_comparison_semantics(text, expected):
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 / 0", "Division by zero"),
        ("5 % 0", "Division by zero"),
        ("'abc' * 2", "cannot convert 'abc' to a number"),
        ("true + 1", "cannot be applied to boolean and integer"),
        ("data.items * 2", "cannot be applied to array"),
        ("1 < 'a'", "Cannot compare integer with string"),
        ("-data.paid", "cannot be applied to boolean"),
    ],
)
def test_runtime_errors_are_eval_errors(text, message):
    with pytest.raises(EvalError, match=message):
        run(text)


def test_logical_operators_short_circuit():
    assert run("false && (1 / 0 > 0)") is False
    assert run("true || (1 / 0 > 0)") is True


def test_iif_only_evaluates_the_chosen_branch():
    assert run("iif(data.amount > 1000, 'big', 1 / 0)") == "big"


def test_method_call_syntax():
    assert run('"string1".equals("STRING1")') is False
    assert run('"string1".equalsIgnoreCase("STRING1")') is True
    assert run('data.currency.equalsIgnoreCase("USD")') is True
    assert run("upper(data.currency).equals('USD')") is True


def test_function_names_are_case_insensitive():
    assert run("UPPER(data.currency)") == "USD"
    assert run("UCase(data.currency)") == "USD"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Expression is empty"),
        ("1 +", "Unexpected end of expression"),
        ("(1 + 2", "Unexpected end of expression"),
        ("1 2", "Unexpected '2' at position 2"),
        ("a ==", "Unexpected end of expression"),
        ("upper(a,)", "Unexpected ')' at position 8"),
        ("'unclosed", "Unclosed string"),
        ("${unclosed", "Unclosed '${' field reference"),
        ("1abc", "Invalid number '1a'"),
        ("a # b", "Unexpected character '#' at position 2"),
        ("a = b", "Unexpected character '=' at position 2"),
        ("if", "'if' is a reserved word"),
        ("a.", "Unexpected end of expression"),
    ],
)
def test_syntax_errors(text, message):
    with pytest.raises(ExpressionError, match=re.escape(message)):
        parse(text, resolve_function)


def test_unknown_function_is_named():
    with pytest.raises(UnsupportedFunctionError, match="Function 'foo' is not supported"):
        parse("concat(foo(data.amount), 'x')", resolve_function)


def test_unknown_method_is_named():
    with pytest.raises(UnsupportedFunctionError, match="Function 'shout' is not supported"):
        parse("data.currency.shout()", resolve_function)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("upper()", "Function 'upper' expects 1 argument, got 0"),
        ("substr('abc', 1)", "Function 'substr' expects 3 arguments, got 2"),
        ("now(1)", "Function 'now' expects 0 arguments, got 1"),
        ("concat()", "Function 'concat' expects at least 1 argument, got 0"),
        ("date()", "Function 'date' expects 1 to 3 arguments, got 0"),
    ],
)
def test_wrong_argument_count(text, message):
    with pytest.raises(ExpressionError, match=message):
        parse(text, resolve_function)


def test_tokenizer_records_positions():
    tokens = tokenize("concat(a, 'b')")
    assert [(t.kind, t.position) for t in tokens] == [
        ("NAME", 0),
        ("LPAREN", 6),
        ("NAME", 7),
        ("COMMA", 8),
        ("STRING", 10),
        ("RPAREN", 13),
        ("END", 14),
    ]


def test_overflow_is_a_record_error():
    with pytest.raises(EvalError, match="Operator '\\*' overflowed"):
        run("1e308 * 10")
    with pytest.raises(EvalError, match="'1e999' is out of range"):
        run("'1e999' * 1")


def test_expressions_are_limited_in_length_and_depth():
    with pytest.raises(ExpressionError, match="longer than 4096 characters"):
        parse("1 + " * 1100 + "1", resolve_function)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("(" * 1500 + "1" + ")" * 1500, resolve_function)
    assert run("(" * 50 + "1" + ")" * 50) == 1
