"""Evaluate a parsed calculated field against one source record.

Arithmetic follows the language's everyday use on Stripe data: a null operand gives null (so an
optional field stays unset instead of failing the record), ``+`` concatenates when either side is
a string, numeric strings take part in arithmetic, and dividing two integers gives an integer only
when the division is exact (``data.amount / 100`` turns 1099 into 10.99).
"""

from __future__ import annotations

import math
from typing import Any

from emulators.aep.mapping.expression import (
    ArrayLiteral,
    Binary,
    Call,
    FieldRef,
    Literal,
    Member,
    Node,
    Subscript,
    Unary,
)
from emulators.aep.mapping.functions import FUNCTIONS
from emulators.aep.mapping.values import (
    EvalError,
    is_number,
    to_number,
    to_text,
    truthy,
    type_name,
)


def evaluate(node: Node, record: dict) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, FieldRef):
        return record.get(node.name) if isinstance(record, dict) else None
    if isinstance(node, Member):
        target = evaluate(node.target, record)
        return target.get(node.name) if isinstance(target, dict) else None
    if isinstance(node, Subscript):
        return _subscript(evaluate(node.target, record), evaluate(node.index, record))
    if isinstance(node, ArrayLiteral):
        return [evaluate(item, record) for item in node.items]
    if isinstance(node, Unary):
        return _unary(node.op, evaluate(node.operand, record))
    if isinstance(node, Binary):
        return _binary(node, record)
    if isinstance(node, Call):
        return _call(node, record)
    raise TypeError(f"unknown node {node!r}")


def _subscript(target: Any, index: Any) -> Any:
    if isinstance(target, list) and is_number(index):
        position = int(index)
        return target[position] if 0 <= position < len(target) else None
    if isinstance(target, dict) and isinstance(index, str):
        return target.get(index)
    return None


def _call(node: Call, record: dict) -> Any:
    spec = FUNCTIONS[node.name]
    if spec.lazy:
        return spec.impl(*[_thunk(arg, record) for arg in node.args])
    return spec.impl(*[evaluate(arg, record) for arg in node.args])


def _thunk(node: Node, record: dict):
    return lambda: evaluate(node, record)


def _unary(op: str, value: Any) -> Any:
    if op == "!":
        return not truthy(value)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise EvalError(f"Operator '{op}' cannot be applied to {type_name(value)}")
    number = to_number(value, f"Operator '{op}'")
    return -number if op == "-" else number


def _binary(node: Binary, record: dict) -> Any:
    op = node.op
    left = evaluate(node.left, record)
    if op == "&&":
        return truthy(left) and truthy(evaluate(node.right, record))
    if op == "||":
        return truthy(left) or truthy(evaluate(node.right, record))
    right = evaluate(node.right, record)
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if op in ("<", ">", "<=", ">="):
        return _compare(op, left, right)
    return _arithmetic(op, left, right)


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return left == right


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False
    comparable = (is_number(left) and is_number(right)) or type(left) is type(right)
    if not comparable or isinstance(left, bool | dict | list):
        raise EvalError(f"Cannot compare {type_name(left)} with {type_name(right)}")
    if op == "<":
        return left < right
    if op == ">":
        return left > right
    if op == "<=":
        return left <= right
    return left >= right


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    if op == "+" and (isinstance(left, str) or isinstance(right, str)):
        return (to_text(left, "Operator '+'") or "") + (to_text(right, "Operator '+'") or "")
    for value in (left, right):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise EvalError(
                f"Operator '{op}' cannot be applied to {type_name(left)} and {type_name(right)}"
            )
    a = to_number(left, f"Operator '{op}'")
    b = to_number(right, f"Operator '{op}'")
    result = _calculate(op, a, b)
    if isinstance(result, float) and not math.isfinite(result):
        raise EvalError(f"Operator '{op}' overflowed")
    return result


def _calculate(op: str, a: int | float, b: int | float) -> int | float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise EvalError("Division by zero")
    if op == "/":
        if isinstance(a, int) and isinstance(b, int) and a % b == 0:
            return a // b
        return a / b
    # Java's remainder keeps the sign of the dividend.
    if isinstance(a, int) and isinstance(b, int):
        remainder = abs(a) % abs(b)
        return remainder if a >= 0 else -remainder
    return math.fmod(a, b)
